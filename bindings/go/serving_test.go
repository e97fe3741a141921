package twotower

import (
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"testing"
)

// Goroutines query whatever the slot holds while the main goroutine swaps in clones with
// alternating catalogues: every answer comes whole from the generation it acquired.
func TestModelSlotSwapsUnderLoad(t *testing.T) {
	m, _ := trained(t)
	_, cand := synthetic(t)
	small := mustTable(t, map[string]any{"item_id": []string{"i0", "i1", "i2"}, "title": []string{"item 0", "item 1", "item 2"}})
	catalogues := []*Table{cand, small} // generation g has catalogues[(g-1)%2]
	first, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	slot, err := NewModelSlot(first)
	if err != nil {
		t.Fatal(err)
	}
	defer slot.Close()
	if _, err := first.NumCandidates(); !isClosed(err) { // taken over by the slot
		t.Fatalf("a model given to NewModelSlot: %v", err)
	}
	q := userQueries(t, 0, 1)
	var swapped atomic.Bool
	inParallel(t, 8, func(int) error {
		for r := 0; r < 30 || !swapped.Load(); r++ {
			cur, gen, err := slot.Acquire()
			if err != nil {
				return err
			}
			res, err := cur.Query(q, &QueryOptions{K: 100})
			cur.Close()
			if err != nil {
				return err
			}
			if want := []int{synItems, 3}[(gen-1)%2]; len(res[0].IDs) != want {
				return fmt.Errorf("generation %d answered with %d candidates, want %d", gen, len(res[0].IDs), want)
			}
		}
		return nil
	}, func() error {
		defer swapped.Store(true)
		for i := 0; i < 10; i++ {
			cur, gen, err := slot.Acquire()
			if err != nil {
				return err
			}
			next, err := cur.Clone()
			cur.Close()
			if err != nil {
				return err
			}
			if err := next.RebuildIndex(catalogues[gen%2]); err != nil {
				return err
			}
			installed, err := slot.Replace(next)
			if err != nil {
				return err
			}
			if installed != gen+1 {
				return fmt.Errorf("replace installed generation %d after %d", installed, gen)
			}
		}
		return nil
	})
	last, gen, err := slot.Acquire()
	if err != nil || gen != 11 {
		t.Fatalf("after 10 swaps: generation %d, %v", gen, err)
	}
	defer last.Close()
	if n, err := last.NumCandidates(); err != nil || n != synItems { // odd generations index every item
		t.Fatalf("generation 11 has %d candidates, %v", n, err)
	}
}

func TestModelSlotEmptyAndClosed(t *testing.T) {
	m, _ := trained(t)
	slot, err := NewModelSlot(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = slot.Acquire()
	wantErr(t, err, StatusInvalidArgument, "holds no model")
	clone, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if gen, err := slot.Replace(clone); err != nil || gen != 1 {
		t.Fatalf("Replace: %d, %v", gen, err)
	}
	if _, err := clone.NumCandidates(); !isClosed(err) {
		t.Fatalf("a model given to Replace: %v", err)
	}
	cur, gen, err := slot.Acquire()
	if err != nil || gen != 1 {
		t.Fatalf("Acquire: %d, %v", gen, err)
	}
	if gen, err := slot.Replace(nil); err != nil || gen != 2 {
		t.Fatalf("Replace(nil): %d, %v", gen, err)
	}
	if n, err := cur.NumCandidates(); err != nil || n != synItems { // our reference outlives the replace
		t.Fatalf("acquired model after replace: %d, %v", n, err)
	}
	cur.Close()
	slot.Close()
	slot.Close()
	if _, _, err := slot.Acquire(); !isClosed(err) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if _, err := slot.Replace(m); !isClosed(err) {
		t.Fatalf("Replace after Close: %v", err)
	}
	if _, err := m.NumCandidates(); err != nil { // a failed Replace leaves the model alone
		t.Fatal(err)
	}
	if n, err := m.NumCandidates(); err != nil || n != synItems { // the shared model is untouched
		t.Fatalf("model after the slot closed: %d, %v", n, err)
	}
	closed, _ := m.Clone()
	closed.Close()
	if _, err := NewModelSlot(closed); !isClosed(err) {
		t.Fatalf("NewModelSlot(closed model): %v", err)
	}
}

func TestQueryByKeys(t *testing.T) {
	m, _ := trained(t)
	q := userQueries(t, 0, 1)
	all, err := m.Query(q, &QueryOptions{K: 100})
	if err != nil {
		t.Fatal(err)
	}
	best := all[0].IDs
	keys, err := m.CandidateKeys(best[:2])
	if err != nil {
		t.Fatal(err)
	}
	byID, err := m.Query(q, &QueryOptions{K: 5, Exclude: [][]int64{best[:2], nil}})
	if err != nil {
		t.Fatal(err)
	}
	byKey, err := m.Query(q, &QueryOptions{K: 5, ExcludeKeys: [][]string{keys, nil}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byID, byKey) {
		t.Fatalf("exclude by key %v, by id %v", byKey, byID)
	}
	allowed, err := m.Query(q, &QueryOptions{K: 5, AllowKeys: keys, Allow: []int64{best[7]}})
	if err != nil || !reflect.DeepEqual(allowed[0].IDs, []int64{best[0], best[1], best[7]}) {
		t.Fatalf("allow by key and id: %v, %v", allowed, err)
	}
	none, err := m.Query(q, &QueryOptions{AllowKeys: []string{}})
	if err != nil || len(none[0].IDs) != 0 {
		t.Fatalf("empty AllowKeys: %v, %v", none, err)
	}
	_, err = m.Query(q, &QueryOptions{ExcludeKeys: [][]string{{"gone"}, nil}})
	wantErr(t, err, StatusInvalidArgument, "exclude_keys[0][0] is 'gone', a key the index does not hold")
	skipped, err := m.Query(q, &QueryOptions{K: 100, ExcludeKeys: [][]string{{"gone", keys[0]}, nil}, IgnoreUnknownKeys: true})
	if err != nil || len(skipped[0].IDs) != synItems-1 || len(skipped[1].IDs) != synItems {
		t.Fatalf("IgnoreUnknownKeys: %v, %v", skipped, err)
	}
	_, err = m.Query(q, &QueryOptions{ExcludeKeys: [][]string{{"x"}}})
	wantErr(t, err, StatusInvalidArgument, "ExcludeKeys has 1 lists for 2 query rows")
	_, err = m.Query(q, &QueryOptions{AllowKeys: []string{"a\x00b"}})
	wantErr(t, err, StatusInvalidArgument, "NUL")
}

func TestTableReadBack(t *testing.T) {
	tab := mustTable(t, map[string]any{"name": []string{"a", "Star Wars (1977)"}, "n": []int64{-1, math.MaxInt64}, "x": []float32{0.5, -2}})
	cols, err := tab.Columns()
	if err != nil || len(cols) != 3 {
		t.Fatalf("Columns: %v, %v", cols, err)
	}
	types := map[string]DType{}
	for _, c := range cols {
		if c.Length != 2 {
			t.Fatalf("column %v", c)
		}
		types[c.Name] = c.Type
	}
	if !reflect.DeepEqual(types, map[string]DType{"name": DTypeString, "n": DTypeInt64, "x": DTypeFloat32}) {
		t.Fatalf("column types %v", types)
	}
	if s, err := tab.StringColumn("name"); err != nil || !reflect.DeepEqual(s, []string{"a", "Star Wars (1977)"}) {
		t.Fatalf("StringColumn: %v, %v", s, err)
	}
	if v, err := tab.Int64Column("n"); err != nil || !reflect.DeepEqual(v, []int64{-1, math.MaxInt64}) {
		t.Fatalf("Int64Column: %v, %v", v, err)
	}
	if v, err := tab.Float32Column("x"); err != nil || !reflect.DeepEqual(v, []float32{0.5, -2}) {
		t.Fatalf("Float32Column: %v, %v", v, err)
	}
	_, err = tab.Int64Column("name")
	wantErr(t, err, StatusInvalidArgument, "'name'")
	_, err = tab.StringColumn("nope")
	wantErr(t, err, StatusInvalidArgument, "unknown column 'nope'")
	empty := mustTable(t, map[string]any{"e": []float32{}})
	if v, err := empty.Float32Column("e"); err != nil || len(v) != 0 {
		t.Fatalf("empty column: %v, %v", v, err)
	}
}

func TestCandidateEmbeddings(t *testing.T) {
	m, _ := trained(t)
	_, cand := synthetic(t)
	index, err := m.CandidateEmbeddings(0, synItems)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := m.EmbedCandidates(cand)
	if err != nil {
		t.Fatal(err)
	}
	for i := range index {
		for j := range index[i] {
			if d := math.Abs(float64(index[i][j] - embedded[i][j])); d > 1e-5 {
				t.Fatalf("candidate %d dim %d: index %g, tower %g", i, j, index[i][j], embedded[i][j])
			}
		}
	}
	part, err := m.CandidateEmbeddings(28, 2)
	if err != nil || !reflect.DeepEqual(part, index[28:]) {
		t.Fatalf("rows 28..29: %v, %v", part, err)
	}
	_, err = m.CandidateEmbeddings(29, 2)
	wantErr(t, err, StatusInvalidArgument, "beyond the index's 30")
	_, err = m.CandidateEmbeddings(-1, 2)
	wantErr(t, err, StatusInvalidArgument, "must be >= 0")
}
