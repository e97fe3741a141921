package twotower

import (
	"strings"
	"testing"
)

// The recipe's options live in the spec; every evaluation carries the most-popular baseline,
// and Evaluate finds the training counts in the model.
func TestRecipeOptionsAndMostPopularBaseline(t *testing.T) {
	inter, cand := synthetic(t)
	spec := strings.Replace(synSpec, `"training": {"batch_size": 64, "epochs": 4, "eval_every": 2, "seed": 7},`,
		`"task": {"sampling_probability": "streaming", "uniform_negatives": 8},
  "training": {"batch_size": 64, "epochs": 6, "eval_every": 1, "seed": 7, "patience": 2, "early_stopping_k": 10},`, 1)
	spec = strings.Replace(spec, `"split_seed": 1}`, `"split_seed": 1, "validation_rows": 100}`, 1)
	if spec == synSpec {
		t.Fatal("the spec was not changed")
	}
	m, err := NewModel(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	metrics, err := m.Train(nil, inter, cand, &TrainOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(metrics.Baseline) != len(metrics.K) || len(metrics.K) != 3 {
		t.Fatalf("baseline %v for k %v", metrics.Baseline, metrics.K)
	}
	top10, _ := metrics.At(10)
	if metrics.Baseline[2] >= 0.6 || top10 <= metrics.Baseline[2] {
		t.Fatalf("top-10 %v, most popular %v", top10, metrics.Baseline[2])
	}
	for _, k := range metrics.NotBeatingBaseline() {
		a, _ := metrics.At(k)
		for i, kk := range metrics.K {
			if kk == k && a > metrics.Baseline[i] {
				t.Fatalf("top-%d flagged although %v > %v", k, a, metrics.Baseline[i])
			}
		}
	}
	again, err := m.Evaluate(inter, cand, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Baseline) != 3 {
		t.Fatalf("Evaluate gave no baseline: %v", again)
	}
}
