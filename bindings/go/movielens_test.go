package twotower

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func movieLensQuery(t *testing.T) *Table {
	return mustTable(t, map[string]any{"user_id": []string{"42"}, "timestamp": []int64{879024327}})
}

// movieLens loads MovieLens 100k for one test.
func movieLens(t *testing.T) (ratings, movies *Table) {
	ratings, movies, err := LoadMovieLens(movieLensDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ratings.Close(); movies.Close() })
	return ratings, movies
}

// deep32 is an untrained model of samples/movielens/deep-32.json.
func deep32(t *testing.T) *Model {
	m, err := NewModelFromFile(repoFile("samples/movielens/deep-32.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The TFRS [32] model on MovieLens 100k, two epochs: train, query, save, load, same answers.
func TestMovieLensDeep32(t *testing.T) {
	ratings, movies := movieLens(t)
	if n, _ := ratings.NumRows(); n != 100000 {
		t.Fatalf("%d ratings", n)
	}
	if n, _ := movies.NumRows(); n != 1682 {
		t.Fatalf("%d movies", n)
	}
	m := deep32(t)
	var tops []float64
	metrics, err := m.Train(context.Background(), ratings, movies, &TrainOptions{Epochs: 2, Progress: func(p Progress) {
		if p.Metrics != nil {
			top, _ := p.Metrics.At(100)
			tops = append(tops, top)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(metrics.K, []int{1, 5, 10, 50, 100}) || metrics.Examples != 20000 {
		t.Fatalf("metrics %v", metrics)
	}
	top100, _ := metrics.At(100)
	if top100 <= 0.15 {
		t.Fatalf("top-100 accuracy %v after 2 epochs", top100)
	}
	if len(tops) == 0 || tops[len(tops)-1] != top100 {
		t.Fatalf("progress saw %v, Train returned %v", tops, top100)
	}
	q := movieLensQuery(t)
	res, err := m.Query(q, &QueryOptions{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	titles, err := m.CandidateKeys(res[0].IDs)
	if err != nil || len(titles) != 10 || titles[0] == "" {
		t.Fatalf("titles %q (%v)", titles, err)
	}
	t.Logf("top 10 for user 42: %q", titles)

	path := filepath.Join(t.TempDir(), "ml.tt")
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
	again, err := loaded.Evaluate(ratings, movies, false)
	if err != nil || again.Examples != 100000 {
		t.Fatalf("evaluate on every rating: %v (%v)", again, err)
	}
}

// A deadline stops a MovieLens training from another goroutine's clock.
func TestMovieLensTrainingStopsAtTheDeadline(t *testing.T) {
	ratings, movies := movieLens(t)
	m := deep32(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Train(ctx, ratings, movies, &TrainOptions{Epochs: 300})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, StatusCancelled) {
		t.Fatalf("got %v", err)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Fatalf("cancelling took %v", elapsed)
	}
	if n, _ := m.NumCandidates(); n != 0 {
		t.Fatal("a cancelled training left candidates")
	}
}

func TestLoadMovieLensErrors(t *testing.T) {
	_, _, err := LoadMovieLens(filepath.Join(t.TempDir(), "nothing-here"))
	wantErr(t, err, StatusIO, "nothing-here")
}
