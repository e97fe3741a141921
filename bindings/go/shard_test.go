package twotower

import (
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// shardOf is shard i of count of the trained synthetic model, closed when the test ends.
func shardOf(t *testing.T, i, count int) *Model {
	t.Helper()
	s := ownCopy(t)
	if err := s.Shard(i, count); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShardMergeEqualsWholeModel(t *testing.T) {
	m, _ := trained(t)
	shards := map[int][]*Model{}
	for count := 1; count <= 3; count++ {
		for i := 0; i < count; i++ {
			shards[count] = append(shards[count], shardOf(t, i, count))
		}
	}
	exclude := [][]string{{"i2", "i20"}, {"i2", "i20"}, {"i2", "i20"}, {"i2", "i20"}}
	// Calls of up to 4 rows are bit for bit (larger batches: within float rounding).
	for first := 0; first < synUsers; first += 4 {
		q := userQueries(t, first, first+1, first+2, first+3)
		for _, opts := range []*QueryOptions{
			{K: 5},
			{K: synItems},
			{K: 4, ExcludeKeys: exclude, AllowKeys: []string{"i1", "i2", "i7", "i20", "i29"}},
		} {
			want, err := m.Query(q, opts)
			if err != nil {
				t.Fatal(err)
			}
			for count := 1; count <= 3; count++ {
				var answers [][]Result
				for _, s := range shards[count] {
					r, err := s.Query(q, opts)
					if err != nil {
						t.Fatal(err)
					}
					answers = append(answers, r)
				}
				got, err := MergeTopK(answers, opts.K)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("users %d.., k %d, %d shards: merged %v\nwhole %v", first, opts.K, count, got, want)
				}
			}
		}
	}
}

func TestShardIDsAreCatalogueRows(t *testing.T) {
	m, _ := trained(t)
	s := shardOf(t, 1, 3)
	info, err := s.ShardInfo()
	if err != nil || info != (ShardInfo{Index: 1, Count: 3, Offset: 10, Candidates: 10, CatalogueSize: synItems}) {
		t.Fatalf("ShardInfo %+v (%v)", info, err)
	}
	whole, err := m.ShardInfo()
	if err != nil || whole != (ShardInfo{Index: 0, Count: 1, Offset: 0, Candidates: synItems, CatalogueSize: synItems}) {
		t.Fatalf("whole model's ShardInfo %+v (%v)", whole, err)
	}
	key, err := s.CandidateKey(12)
	wantKey, _ := m.CandidateKey(12)
	if err != nil || key != wantKey {
		t.Fatalf("CandidateKey(12) = %q (%v), want %q", key, err, wantKey)
	}
	if _, err := s.CandidateKey(3); !errors.Is(err, StatusInvalidArgument) || !strings.Contains(err.Error(), "outside 10..19") {
		t.Fatalf("CandidateKey(3) on shard 1 of 3: %v", err)
	}
	// Allow lists of catalogue rows: only this shard's rows can come back.
	r, err := s.Query(userQueries(t, 0), &QueryOptions{K: 10, Allow: []int64{2, 11, 15, 25}})
	if err != nil || !reflect.DeepEqual(sortedIDs(r[0].IDs), []int64{11, 15}) {
		t.Fatalf("allow-list on a shard: %v (%v)", r, err)
	}
	if err := s.Shard(0, 2); !errors.Is(err, StatusInvalidArgument) || !strings.Contains(err.Error(), "already shard 1 of 3") {
		t.Fatalf("sharding a shard: %v", err)
	}

	dir := t.TempDir()
	in, out := filepath.Join(dir, "whole.tt"), filepath.Join(dir, "shard.tt")
	if err := m.Save(in, nil); err != nil {
		t.Fatal(err)
	}
	if err := Convert(in, out, &ConvertOptions{ShardIndex: 1, ShardCount: 3}); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	if li, err := loaded.ShardInfo(); err != nil || li != info {
		t.Fatalf("converted shard's ShardInfo %+v (%v), want %+v", li, err, info)
	}
}

func sortedIDs(ids []int64) []int64 {
	out := append([]int64(nil), ids...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestMergeTopKErrors(t *testing.T) {
	a := []Result{{IDs: []int64{4, 1}, Scores: []float32{2, 1}}}
	b := []Result{{IDs: []int64{1}, Scores: []float32{3}}}
	if _, err := MergeTopK([][]Result{a, b}, 2); !errors.Is(err, StatusInvalidArgument) ||
		!strings.Contains(err.Error(), "id 1 is in list 0 and list 1") {
		t.Fatalf("overlapping answers: %v", err)
	}
	if _, err := MergeTopK([][]Result{a, {}}, 2); err == nil || !strings.Contains(err.Error(), "answer 1 has 0 rows") {
		t.Fatalf("answers of different lengths: %v", err)
	}
	if _, err := MergeTopK([][]Result{a}, 0); err == nil {
		t.Fatal("k 0 accepted")
	}
	got, err := MergeTopK([][]Result{a, {{IDs: []int64{7}, Scores: []float32{2}}}}, 5)
	want := []Result{{IDs: []int64{4, 7, 1}, Scores: []float32{2, 2, 1}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("merge: %v (%v), want %v", got, err, want)
	}
}
