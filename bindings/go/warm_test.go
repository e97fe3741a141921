package twotower

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Warm start (issue 15): 10 epochs, a save with the optimizer state, a load and 10 more epochs
// give bit for bit the model of 20 epochs in one run; Reset starts over.
func TestWarmStartContinuesBitForBit(t *testing.T) {
	inter, cand := synthetic(t)
	train := func(m *Model, epochs int, reset bool) {
		t.Helper()
		if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: epochs, Threads: 2, Reset: reset}); err != nil {
			t.Fatal(err)
		}
	}
	fresh := func() *Model {
		m, err := NewModel(synSpec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	embeddings := func(m *Model) [][]float32 {
		t.Helper()
		e, err := m.EmbedQueries(userQueries(t, 0, 1, 2, 3, 4, 5, 6, 7))
		if err != nil {
			t.Fatal(err)
		}
		c, err := m.EmbedCandidates(cand)
		if err != nil {
			t.Fatal(err)
		}
		return append(e, c...)
	}
	twenty, ten := fresh(), fresh()
	train(twenty, 20, false)
	train(ten, 10, false)
	path := filepath.Join(t.TempDir(), "ten.tt")
	if err := ten.Save(path, &SaveOptions{IncludeOptimizer: true}); err != nil {
		t.Fatal(err)
	}
	resumed, err := LoadWith(path, &LoadOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if n, err := resumed.Threads(); err != nil || n != 2 {
		t.Fatalf("Threads() = %d, %v; want 2", n, err)
	}
	if reflect.DeepEqual(embeddings(resumed), embeddings(twenty)) {
		t.Fatal("10 epochs already equal 20")
	}
	train(resumed, 10, false)
	if !reflect.DeepEqual(embeddings(resumed), embeddings(twenty)) {
		t.Error("10 + 10 epochs through a file differ from 20 epochs")
	}
	train(ten, 10, true) // Reset: 10 epochs from scratch
	again := fresh()
	train(again, 10, false)
	if !reflect.DeepEqual(embeddings(ten), embeddings(again)) {
		t.Error("Reset did not start over")
	}
}

func TestThreadsAndEvaluateWith(t *testing.T) {
	model, _ := trained(t)
	inter, cand := synthetic(t)
	data, err := model.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadFromBytesWith(data, &LoadOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if n, _ := m.Threads(); n != 1 {
		t.Errorf("Threads() = %d, want 1", n)
	}
	if err := m.SetThreads(0); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Threads(); n < 1 {
		t.Errorf("Threads() = %d after SetThreads(0)", n)
	}
	var e *Error
	if err := m.SetThreads(1000); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Errorf("SetThreads(1000) = %v", err)
	}
	metrics, err := m.EvaluateWith(inter, cand, &EvalOptions{K: []int{2, 30}, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(metrics.K, []int{2, 30}) {
		t.Fatalf("K = %v", metrics.K)
	}
	if a, ok := metrics.At(30); !ok || a != 1.0 {
		t.Errorf("top-30 of 30 candidates = %v, %v", a, ok)
	}
	plain, err := m.Evaluate(inter, cand, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain.K, []int{1, 5, 10}) {
		t.Errorf("default K = %v", plain.K)
	}
	seventeen := make([]int, 17)
	for i := range seventeen {
		seventeen[i] = i + 1
	}
	if _, err := m.EvaluateWith(inter, cand, &EvalOptions{K: seventeen}); !errors.As(err, &e) || !strings.Contains(e.Message, "k_count") {
		t.Errorf("17 k values: %v", err)
	}
	if _, err := LoadFromBytesWith(data, &LoadOptions{Threads: -1}); !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Errorf("Threads -1 = %v", err)
	}
}
