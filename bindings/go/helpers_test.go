package twotower

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A small learnable synthetic problem (the twin of tests/capi/synthetic.h and the Python
// binding's conftest): 40 users in 5 groups; each group watches only its own 6 of 30 items.
const (
	synUsers = 40
	synItems = 30
	synRows  = 1200
)

const synSpec = `{
  "name": "synthetic",
  "query_tower": {
    "features": [
      {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
      {"name": "ts", "column": "timestamp", "kind": "normalization"}
    ],
    "layers": [16]
  },
  "candidate_tower": {
    "id_column": "item_id",
    "features": [
      {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8},
      {"name": "title", "column": "title", "kind": "text", "max_tokens": 100, "embedding_dim": 8}
    ],
    "layers": [16]
  },
  "training": {"batch_size": 64, "epochs": 4, "eval_every": 2, "seed": 7},
  "data": {"train_rows": 1000, "test_rows": 200, "split_seed": 1},
  "evaluation": {"k": [1, 5, 10]}
}`

func synTimestamp(row int) int64 { return 1000000 + 37*int64(row) }

// synthetic returns the interactions {user_id, timestamp, item_id, title} and the candidates
// {item_id, title}, closed when the test ends.
func synthetic(t testing.TB) (interactions, candidates *Table) {
	t.Helper()
	interactions, candidates, err := syntheticTables()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { interactions.Close(); candidates.Close() })
	return interactions, candidates
}

// syntheticColumns returns the interactions' columns, in time order.
func syntheticColumns() map[string]any {
	var users, items, titles []string
	var stamps []int64
	for i := 0; i < synRows; i++ {
		u, row := i%synUsers, i/synUsers
		item := (u%5)*6 + (row*7+u)%6
		users = append(users, fmt.Sprintf("u%d", u))
		stamps = append(stamps, synTimestamp(i))
		items = append(items, fmt.Sprintf("i%d", item))
		titles = append(titles, fmt.Sprintf("item %d", item))
	}
	return map[string]any{"user_id": users, "timestamp": stamps, "item_id": items, "title": titles}
}

func syntheticTables() (interactions, candidates *Table, err error) {
	interactions, err = NewTableFromColumns(syntheticColumns())
	if err != nil {
		return nil, nil, err
	}
	var ids, names []string
	for i := 0; i < synItems; i++ {
		ids = append(ids, fmt.Sprintf("i%d", i))
		names = append(names, fmt.Sprintf("item %d", i))
	}
	if candidates, err = NewTableFromColumns(map[string]any{"item_id": ids, "title": names}); err != nil {
		interactions.Close()
		return nil, nil, err
	}
	return interactions, candidates, nil
}

func mustTable(t testing.TB, columns map[string]any) *Table {
	t.Helper()
	tab, err := NewTableFromColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}

// userQueries is a queries table for the given synthetic users.
func userQueries(t testing.TB, users ...int) *Table {
	t.Helper()
	var ids []string
	var stamps []int64
	for _, u := range users {
		ids = append(ids, fmt.Sprintf("u%d", u))
		stamps = append(stamps, synTimestamp(u))
	}
	return mustTable(t, map[string]any{"user_id": ids, "timestamp": stamps})
}

func groupItems(group int) map[string]bool {
	s := map[string]bool{}
	for j := 0; j < 6; j++ {
		s[fmt.Sprintf("i%d", group*6+j)] = true
	}
	return s
}

var (
	trainedOnce    sync.Once
	trainedModel   *Model
	trainedMetrics Metrics
	trainedErr     error
)

// trained is a model trained on the synthetic data for 8 epochs, shared by read-only tests.
func trained(t testing.TB) (*Model, Metrics) {
	t.Helper()
	trainedOnce.Do(func() {
		inter, cand, err := syntheticTables()
		if err != nil {
			trainedErr = err
			return
		}
		defer inter.Close()
		defer cand.Close()
		if trainedModel, trainedErr = NewModel(synSpec); trainedErr == nil {
			trainedMetrics, trainedErr = trainedModel.Train(context.Background(), inter, cand, &TrainOptions{Epochs: 8, Seed: 3, SeedSet: true})
		}
	})
	if trainedErr != nil {
		t.Fatal(trainedErr)
	}
	return trainedModel, trainedMetrics
}

// movieLensDir finds MovieLens 100k through TWOTOWER_DATA or ../shared/data/ml-100k beside the
// repository. Without it the test is skipped, except under CI=true, where it fails.
func movieLensDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TWOTOWER_DATA")
	if dir == "" {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(filepath.Dir(root), "shared", "data", "ml-100k")
	}
	if _, err := os.Stat(filepath.Join(dir, "u.data")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MovieLens 100k not found in %s (set TWOTOWER_DATA); CI=true, so not skipping", dir)
		}
		t.Skipf("MovieLens 100k not found in %s (set TWOTOWER_DATA)", dir)
	}
	return dir
}

// repoFile is a path relative to the repository root.
func repoFile(rel string) string { return filepath.Join("..", "..", rel) }
