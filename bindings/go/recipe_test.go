package twotower

import (
	"fmt"
	"reflect"
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

// historySpec is synSpec with data.history (each user's earlier items, the 10 most recent)
// read by a multi_value_lookup query feature; userColumn is the history's user column.
func historySpec(t *testing.T, userColumn string) string {
	t.Helper()
	spec := strings.Replace(synSpec, `"kind": "normalization"}`, `"kind": "normalization"},
      {"name": "history", "column": "watched", "kind": "multi_value_lookup", "embedding_dim": 8}`, 1)
	spec = strings.Replace(spec, `"split_seed": 1}`, `"split_seed": 1,
    "history": {"column": "watched", "user_column": "`+userColumn+`", "time_column": "timestamp", "max_items": 10}}`, 1)
	if strings.Count(spec, "watched") != 2 {
		t.Fatal("the spec was not changed")
	}
	return spec
}

// withWatched adds each row's history as data.history builds it (the rows are in time order).
func withWatched(columns map[string]any, maxItems int) map[string]any {
	seen := map[string][]string{}
	var watched []string
	items := columns["item_id"].([]string)
	for i, user := range columns["user_id"].([]string) {
		h := seen[user]
		watched = append(watched, strings.Join(h[max(0, len(h)-maxItems):], "|"))
		seen[user] = append(h, items[i])
	}
	columns["watched"] = watched
	return columns
}

// trainHistory trains a model of historySpec(userColumn) on the synthetic data (closed when the
// test ends).
func trainHistory(t *testing.T, userColumn string) (m *Model, inter, cand *Table, metrics Metrics, err error) {
	t.Helper()
	inter, cand = synthetic(t)
	if m, err = NewModel(historySpec(t, userColumn)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	metrics, err = m.Train(nil, inter, cand, &TrainOptions{Threads: 1})
	return m, inter, cand, metrics, err
}

func TestRecipeOptionsWatchHistory(t *testing.T) {
	m, inter, cand, metrics, err := trainHistory(t, "user_id")
	if err != nil {
		t.Fatal(err)
	}
	if top10, _ := metrics.At(10); top10 <= 0.9 {
		t.Fatalf("top-10 %v", top10)
	}
	// Evaluation reads the query columns it is given: the history column too.
	_, err = m.Evaluate(inter, cand, false)
	wantErr(t, err, StatusInvalidArgument, "'watched'")
	withHistory, err := NewTableFromColumns(withWatched(syntheticColumns(), 10))
	if err != nil {
		t.Fatal(err)
	}
	defer withHistory.Close()
	again, err := m.Evaluate(withHistory, cand, false)
	if top10, _ := again.At(10); err != nil || again.Examples != synRows || top10 <= 0.9 || len(again.Baseline) != 3 {
		t.Fatalf("Evaluate: %v %v", again, err)
	}
	// An unknown user: only the history tells the group, and its items lead (24 = 80% of 5 x 6).
	var histories []string
	for g := 0; g < 5; g++ {
		histories = append(histories, fmt.Sprintf("i%d|i%d", 6*g, 6*g+1))
	}
	results := queryWatched(t, m, []string{"nobody", "nobody", "nobody", "nobody", "nobody"}, histories, 6)
	inGroup := 0
	for g, r := range results {
		for _, id := range r.IDs {
			if int(id)/6 == g {
				inGroup++
			}
		}
	}
	if inGroup < 24 {
		t.Fatalf("%d of 30 results in the history's group: %v", inGroup, results)
	}
	// The same user with another history: other scores.
	results = queryWatched(t, m, []string{"u0", "u0"}, []string{"i0|i1", "i6|i7"}, synItems)
	if reflect.DeepEqual(results[0].Scores, results[1].Scores) {
		t.Fatalf("the history changed no score: %v", results[0].Scores)
	}
}

func queryWatched(t *testing.T, m *Model, users, histories []string, k int) []Result {
	t.Helper()
	stamps := make([]int64, len(users))
	for i := range stamps {
		stamps[i] = synTimestamp(0) // in the training range: the normalized feature stays small
	}
	q, err := NewTableFromColumns(map[string]any{"user_id": users, "timestamp": stamps, "watched": histories})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	results, err := m.Query(q, &QueryOptions{K: k})
	if err != nil {
		t.Fatal(err)
	}
	return results
}

func TestRecipeOptionsWatchHistoryMissingColumn(t *testing.T) {
	_, _, _, _, err := trainHistory(t, "nope")
	wantErr(t, err, StatusInvalidArgument, "data.history.user_column: the interactions have no column 'nope'")
}
