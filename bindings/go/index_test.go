package twotower

import (
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

func randomRows(rng *rand.Rand, n, d int) [][]float32 {
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, d)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64())
		}
	}
	return rows
}

// bruteForce is the top-k of rows by inner product with q (ties to the lower row), as keys.
func bruteForce(rows [][]float32, keys []int64, q []float32, k int) []int64 {
	order := make([]int, len(rows))
	score := make([]float64, len(rows))
	for i, r := range rows {
		order[i] = i
		for j := range r {
			score[i] += float64(r[j]) * float64(q[j])
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return score[order[a]] > score[order[b]] })
	out := make([]int64, 0, k)
	for _, i := range order[:k] {
		out = append(out, keys[i])
	}
	return out
}

func TestQueryVectorsMatchesQuery(t *testing.T) {
	m, _ := trained(t)
	q := userQueries(t, 0, 1, 2)
	emb, err := m.EmbedQueries(q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Query(q, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.QueryVectors(emb, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("QueryVectors %v, Query %v", got, want)
	}
	excl, err := m.QueryVectors(emb[:1], &QueryOptions{K: 4, Exclude: [][]int64{want[0].IDs[:1]}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(excl[0].IDs, want[0].IDs[1:5]) {
		t.Fatalf("with the best excluded: %v, want %v", excl[0].IDs, want[0].IDs[1:5])
	}
	if r, err := m.QueryVectors(nil, nil); err != nil || len(r) != 0 {
		t.Fatalf("no vectors: %v, %v", r, err)
	}
	_, err = m.QueryVectors([][]float32{emb[0][:3]}, nil)
	wantErr(t, err, StatusInvalidArgument, "vectors: dim is 3; the model has 16")
	bad := append([]float32(nil), emb[0]...)
	bad[2] = float32(math.NaN())
	_, err = m.QueryVectors([][]float32{bad}, nil)
	wantErr(t, err, StatusInvalidArgument, "row 0, column 2 is NaN")
	_, err = m.QueryVectors([][]float32{emb[0], emb[1][:4]}, nil)
	wantErr(t, err, StatusInvalidArgument, "vectors[1] has 4 values, vectors[0] has 16")
}

func TestIndexAgainstBruteForce(t *testing.T) {
	const n, d, k = 300, 12, 5
	rng := rand.New(rand.NewSource(3))
	rows := randomRows(rng, n, d)
	queries := randomRows(rng, 4, d)
	keys := make([]int64, n)
	for i := range keys {
		keys[i] = int64(5000000000 + 11*i)
	}
	x, err := NewIndex(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Add(rows[:100], keys[:100]); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(rows[100:], keys[100:]); err != nil {
		t.Fatal(err)
	}
	if size, err := x.Len(); err != nil || size != n {
		t.Fatalf("Len %d, %v", size, err)
	}
	if dim, err := x.Dim(); err != nil || dim != d {
		t.Fatalf("Dim %d, %v", dim, err)
	}
	res, err := x.Search(queries, &QueryOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		if want := bruteForce(rows, keys, q, k); !reflect.DeepEqual(res[i].IDs, want) {
			t.Fatalf("query %d: %v, brute force %v", i, res[i].IDs, want)
		}
	}
	// Filters hold keys.
	f, err := x.Search(queries[:1], &QueryOptions{K: 3, Exclude: [][]int64{res[0].IDs[:1]}, Allow: res[0].IDs[:3]})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f[0].IDs, res[0].IDs[1:3]) {
		t.Fatalf("filtered: %v, want %v", f[0].IDs, res[0].IDs[1:3])
	}
	if f, _ := x.Search(queries[:1], &QueryOptions{Allow: []int64{}}); len(f[0].IDs) != 0 {
		t.Fatalf("an empty allow-list returned %v", f[0].IDs)
	}

	// Save and load; int8 on load; the approximate index.
	path := filepath.Join(t.TempDir(), "idx.tt")
	if err := x.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	back, err := LoadIndex(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	again, err := back.Search(queries, &QueryOptions{K: k})
	if err != nil || !reflect.DeepEqual(again, res) {
		t.Fatalf("after save and load: %v, %v", again, err)
	}
	x8, err := LoadIndex(path, &IndexOptions{Precision: PrecisionInt8})
	if err != nil {
		t.Fatal(err)
	}
	defer x8.Close()
	if p, err := x8.Precision(); err != nil || p != PrecisionInt8 {
		t.Fatalf("Precision %v, %v", p, err)
	}
	r8, err := x8.Search(queries, &QueryOptions{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range queries {
		if r8[i].IDs[0] != res[i].IDs[0] {
			t.Errorf("int8 top-1 of query %d: %d, float32 %d", i, r8[i].IDs[0], res[i].IDs[0])
		}
	}
	if err := x.BuildANN(&ANNOptions{Partitions: 8}, queries); err != nil {
		t.Fatal(err)
	}
	if p, probe, err := x.ANNInfo(0.9); err != nil || p != 8 || probe < 1 || probe > 8 {
		t.Fatalf("ANNInfo %d %d %v", p, probe, err)
	}
	// The same keys; scores may differ in the last bits (another summation order).
	full, err := x.Search(queries, &QueryOptions{K: k, Probe: 8, Rescore: n})
	if err != nil {
		t.Fatal(err)
	}
	for i := range full {
		if !reflect.DeepEqual(full[i].IDs, res[i].IDs) {
			t.Fatalf("every partition probed, query %d: %v, exact %v", i, full[i].IDs, res[i].IDs)
		}
	}
	if err := x.DropANN(); err != nil {
		t.Fatal(err)
	}

	// Bad input.
	wantErr(t, x.Add(randomRows(rng, 1, d-1), nil), StatusInvalidArgument, "dim is 11; the index has 12")
	wantErr(t, x.Add(rows[:1], []int64{-1}), StatusInvalidArgument, "keys[0] is -1")
	wantErr(t, x.Add(rows[:2], []int64{1}), StatusInvalidArgument, "1 keys for 2 vectors")
	nan := append([]float32(nil), rows[0]...)
	nan[7] = float32(math.Inf(1))
	_, err = x.Search([][]float32{nan}, nil)
	wantErr(t, err, StatusInvalidArgument, "row 0, column 7 is infinite")
	_, err = NewIndex(0, nil)
	wantErr(t, err, StatusInvalidArgument, "dim is 0")
	_, err = NewIndex(4, &IndexOptions{Threads: 1000})
	wantErr(t, err, StatusInvalidArgument, "tt_index_options.threads")
	wantErr(t, x.BuildANN(&ANNOptions{CalibrationQueries: userQueries(t, 1)}, nil), StatusInvalidArgument, "calibration vectors")
	_, err = LoadIndex(filepath.Join(t.TempDir(), "missing.tt"), nil)
	wantErr(t, err, StatusIO, "missing.tt")
	x.Close()
	if _, err := x.Search(queries, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("search after Close: %v", err)
	}
}

// A model file's index loads as an index; the synthetic model's keys are text ("i3"), so the
// index keys its rows by number: the model's candidate ids.
func TestModelFileAsIndex(t *testing.T) {
	m, _ := trained(t)
	path := filepath.Join(t.TempDir(), "model.tt")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	x, err := LoadIndex(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if size, _ := x.Len(); size != synItems {
		t.Fatalf("Len %d", size)
	}
	emb, err := m.EmbedQueries(userQueries(t, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.QueryVectors(emb, &QueryOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Search(emb, &QueryOptions{K: 5})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("index %v (%v), model %v", got, err, want)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.tt")); err == nil {
		t.Fatal("loading a missing model succeeded")
	}
	ipath := filepath.Join(t.TempDir(), "index.tt")
	if err := x.Save(ipath, nil); err != nil {
		t.Fatal(err)
	}
	_, err = Load(ipath)
	wantErr(t, err, StatusInvalidArgument, "a vector index file")
}
