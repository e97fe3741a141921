package twotower

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
)

// One model queried from many goroutines gives every goroutine the answers of a lone query.
func TestConcurrentQueries(t *testing.T) {
	m, _ := trained(t)
	const goroutines, rounds = 8, 40
	users := make([]*Table, synUsers)
	want := make([][]Result, synUsers)
	for u := range users {
		users[u] = userQueries(t, u)
		var err error
		if want[u], err = m.Query(users[u], &QueryOptions{K: 5}); err != nil {
			t.Fatal(err)
		}
	}
	inParallel(t, goroutines, func(g int) error {
		for r := 0; r < rounds; r++ {
			u := (g*rounds + r) % synUsers
			got, err := m.Query(users[u], &QueryOptions{K: 5})
			if err == nil && !reflect.DeepEqual(got, want[u]) {
				err = fmt.Errorf("user %d: %v, alone %v", u, got, want[u])
			}
			if err == nil {
				_, err = m.CandidateKeys(got[0].IDs)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// inParallel runs work(0..n-1) in n goroutines while main runs (if not nil) and reports
// every error.
func inParallel(t *testing.T, n int, work func(g int) error, main func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if err := work(g); err != nil {
				errs <- err
			}
		}(g)
	}
	if main != nil {
		if err := main(); err != nil {
			errs <- err
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// RebuildIndex needs the model alone: the binding makes queries wait for it, so each query
// sees the old index or the new one, never a half-built one (the race detector watches).
func TestRebuildIndexWhileQuerying(t *testing.T) {
	inter, cand := synthetic(t)
	m, err := NewModel(synSpec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: 2}); err != nil {
		t.Fatal(err)
	}
	small := mustTable(t, map[string]any{"item_id": []string{"i0", "i1", "i2"}, "title": []string{"item 0", "item 1", "item 2"}})
	q := userQueries(t, 0, 1, 2)
	inParallel(t, 4, func(int) error {
		for r := 0; r < 50; r++ {
			res, err := m.Query(q, &QueryOptions{K: 100})
			if err != nil {
				return err
			}
			if n := len(res[0].IDs); n != synItems && n != 3 {
				return fmt.Errorf("a query saw %d candidates", n)
			}
			runtime.Gosched()
		}
		return nil
	}, func() error {
		for i := 0; i < 5; i++ {
			catalogue := cand
			if i%2 == 0 {
				catalogue = small
			}
			if err := m.RebuildIndex(catalogue); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close waits for the queries in progress; the queries after it fail cleanly.
func TestCloseWhileQuerying(t *testing.T) {
	inter, cand := synthetic(t)
	m, _ := NewModel(synSpec)
	if _, err := m.Train(nil, inter, cand, &TrainOptions{Epochs: 1}); err != nil {
		t.Fatal(err)
	}
	q := userQueries(t, 0)
	inParallel(t, 4, func(int) error {
		for r := 0; r < 200; r++ {
			if _, err := m.Query(q, nil); err != nil {
				if isClosed(err) {
					return nil
				}
				return err
			}
		}
		return nil
	}, func() error {
		runtime.Gosched()
		return m.Close()
	})
	if _, err := m.Query(q, nil); !isClosed(err) {
		t.Fatalf("after Close: %v", err)
	}
}

func isClosed(err error) bool { return err != nil && errors.Is(err, ErrClosed) }

// The finalizers release handles nobody closed (the safety net).
func TestFinalizerReleasesDroppedHandles(t *testing.T) {
	before := finalized.Load()
	for i := 0; i < 10; i++ {
		m, err := NewModel(synSpec)
		if err != nil {
			t.Fatal(err)
		}
		tab, err := NewTableFromColumns(map[string]any{"a": []string{"x"}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = m, tab
	}
	deadline := time.Now().Add(5 * time.Second)
	for finalized.Load() < before+20 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := finalized.Load() - before; n < 20 {
		t.Fatalf("%d of 20 dropped handles were finalized", n)
	}
	// A closed handle has no finalizer left to run.
	m, _ := NewModel(synSpec)
	m.Close()
}
