package twotower

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// MovieLens's side files: u.user's occupation and age in the query tower, u.item's genres (a
// multi-valued feature) and release year in the candidate tower, one epoch; the model file keeps
// the genre vocabulary, and queries carry the user's side columns.
func TestMovieLensSideFeaturesAndMultiValuedGenres(t *testing.T) {
	ratings, movies := movieLens(t)
	text, err := os.ReadFile(repoFile("samples/movielens/deep-32.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(text, &spec); err != nil {
		t.Fatal(err)
	}
	add := func(tower string, features ...map[string]any) {
		tw := spec[tower].(map[string]any)
		for _, f := range features {
			tw["features"] = append(tw["features"].([]any), f)
		}
	}
	add("query_tower",
		map[string]any{"name": "occupation", "column": "user_occupation", "kind": "string_lookup", "embedding_dim": 8},
		map[string]any{"name": "age", "column": "user_age", "kind": "discretization",
			"boundaries": []int{18, 25, 35, 45, 50, 56}, "embedding_dim": 4})
	add("candidate_tower",
		map[string]any{"name": "genres", "column": "movie_genres", "kind": "multi_value_lookup", "pooling": "sum",
			"embedding_dim": 8},
		map[string]any{"name": "year", "column": "movie_year", "kind": "string_lookup", "embedding_dim": 4})
	spec["task"] = map[string]any{"sampling_probability": "counts"}
	spec["training"].(map[string]any)["optimizer"].(map[string]any)["weight_decay"] = 0.001
	specJSON, _ := json.Marshal(spec)
	m, err := NewModel(string(specJSON))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	metrics, err := m.Train(context.Background(), ratings, movies, &TrainOptions{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	top100, _ := metrics.At(100)
	// One epoch with the logQ correction already beats the most-popular list (measured 0.36; the
	// list 0.29).
	if len(metrics.Baseline) != 5 || top100 <= metrics.Baseline[4] || top100 <= 0.3 {
		t.Fatalf("top-100 %v, most popular %v", top100, metrics.Baseline)
	}
	q := mustTable(t, map[string]any{"user_id": []string{"42"}, "timestamp": []int64{879024327},
		"user_occupation": []string{"writer"}, "user_age": []int64{30}})
	res, err := m.Query(q, &QueryOptions{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ml-side.tt")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	res2, err := loaded.Query(q, &QueryOptions{K: 10})
	if err != nil || !reflect.DeepEqual(res, res2) {
		t.Fatalf("loaded model: %v (%v), trained: %v", res2, err, res)
	}
	// A query without the side columns is refused, naming the missing column.
	_, err = m.Query(movieLensQuery(t), &QueryOptions{K: 10})
	wantErr(t, err, StatusInvalidArgument, "user_occupation")
}
