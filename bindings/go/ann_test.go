package twotower

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestANNBuildQuerySaveLoad(t *testing.T) {
	m := ownCopy(t)
	if p, _, err := m.ANNInfo(0.9); err != nil || p != 0 {
		t.Fatalf("a trained model of 30 items has no approximate index: %d, %v", p, err)
	}
	if err := m.BuildANN(&ANNOptions{Partitions: 5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	p, probe, err := m.ANNInfo(0.9)
	if err != nil || p != 5 || probe < 1 || probe > 5 {
		t.Fatalf("ANNInfo: %d partitions, probe %d, %v", p, probe, err)
	}
	q := userQueries(t, 0, 1, 2, 3)
	exact, err := m.Query(q, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Every partition and a shortlist of the whole catalogue: the exact answer.
	full, err := m.Query(q, &QueryOptions{K: 5, Probe: 5, Rescore: 30})
	if err != nil {
		t.Fatal(err)
	}
	for i := range exact {
		if !reflect.DeepEqual(exact[i].IDs, full[i].IDs) {
			t.Errorf("row %d: %v, exact %v", i, full[i].IDs, exact[i].IDs)
		}
	}
	// Filtered: the exact top 5 excluded, one partition probed: still 5 results.
	filtered, err := m.Query(userQueries(t, 0), &QueryOptions{K: 5, Probe: 1, Exclude: [][]int64{exact[0].IDs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered[0].IDs) != 5 {
		t.Fatalf("filtered search returned %d results", len(filtered[0].IDs))
	}
	for _, id := range filtered[0].IDs {
		for _, e := range exact[0].IDs {
			if id == e {
				t.Fatalf("excluded id %d returned", id)
			}
		}
	}
	// Save and load: the same approximate answers.
	path := filepath.Join(t.TempDir(), "ann.tt")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	a, _ := m.Query(q, &QueryOptions{K: 4, Recall: 0.9})
	b, err := back.Query(q, &QueryOptions{K: 4, Recall: 0.9})
	if err != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("loaded model answers %v, saved one %v (%v)", b, a, err)
	}
	if err := m.DropANN(); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := m.ANNInfo(0.9); p != 0 {
		t.Fatalf("DropANN left %d partitions", p)
	}
	if _, err := m.Query(q, &QueryOptions{Recall: 2}); err == nil {
		t.Fatal("recall 2 was accepted")
	}
	if err := m.BuildANN(&ANNOptions{Partitions: 31}); err == nil {
		t.Fatal("31 partitions for 30 candidates were accepted")
	}
}

func TestConvertANN(t *testing.T) {
	m, _ := trained(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "m.tt")
	if err := m.Save(src, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ann.tt")
	if err := Convert(src, out, &ConvertOptions{ANN: 1, ANNPartitions: 3}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if p, _, _ := back.ANNInfo(0.5); p != 3 {
		t.Fatalf("converted model has %d partitions, want 3", p)
	}
}
