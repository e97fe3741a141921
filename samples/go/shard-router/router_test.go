package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"twotower"
)

// A small learnable problem: 40 users in 5 groups, each group rating its own 6 of 30 items.
const testSpec = `{
  "name": "router-test",
  "query_tower": {"features": [
      {"column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
      {"column": "timestamp", "kind": "normalization"}], "layers": [16]},
  "candidate_tower": {"id_column": "item_id", "features": [
      {"column": "item_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [16]},
  "training": {"batch_size": 64, "epochs": 4, "seed": 7},
  "data": {"train_rows": 1000, "test_rows": 200, "split_seed": 1},
  "evaluation": {"k": [10]}
}`

func table(t *testing.T, columns map[string]any) *twotower.Table {
	t.Helper()
	tab, err := twotower.NewTableFromColumns(columns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}

// wholeModel is the trained synthetic model, saved to bytes (each shard loads its own copy).
func wholeModel(t *testing.T) (*twotower.Model, []byte) {
	t.Helper()
	var users, items, catalogue []string
	var stamps []int64
	for i := 0; i < 1200; i++ {
		u, row := i%40, i/40
		users = append(users, fmt.Sprintf("u%d", u))
		stamps = append(stamps, 1000000+37*int64(i))
		items = append(items, fmt.Sprintf("i%d", (u%5)*6+(row*7+u)%6))
	}
	for i := 0; i < 30; i++ {
		catalogue = append(catalogue, fmt.Sprintf("i%d", i))
	}
	m, err := twotower.NewModel(testSpec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	inter := table(t, map[string]any{"user_id": users, "timestamp": stamps, "item_id": items})
	cand := table(t, map[string]any{"item_id": catalogue})
	if _, err := m.Train(context.Background(), inter, cand, &twotower.TrainOptions{Threads: 1}); err != nil {
		t.Fatal(err)
	}
	data, err := m.SaveToBytes(nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

// loadShard is shard i of count of the saved model, closed when the test ends.
func loadShard(t *testing.T, data []byte, i, count int) *twotower.Model {
	t.Helper()
	s, err := twotower.LoadFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Shard(i, count); err != nil {
		t.Fatal(err)
	}
	return s
}

func shardRouter(t *testing.T, data []byte, count int) *router {
	t.Helper()
	var shards []*twotower.Model
	for i := 0; i < count; i++ {
		shards = append(shards, loadShard(t, data, i, count))
	}
	r, err := newRouter(shards)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// users is a queries table of users first .. first+n-1.
func users(t *testing.T, first, n int) *twotower.Table {
	var users []string
	var stamps []int64
	for u := first; u < first+n; u++ {
		users = append(users, fmt.Sprintf("u%d", u))
		stamps = append(stamps, 1000000+37*int64(u))
	}
	return table(t, map[string]any{"user_id": users, "timestamp": stamps})
}

// The identity test: the router's answers are the unsharded model's, ids and scores bit for
// bit, for every user (one request each, as the server asks) and for 1, 2 and 3 shards.
func TestRouterAnswersAsTheWholeModel(t *testing.T) {
	whole, data := wholeModel(t)
	exclude := [][]string{{"i3", "i14", "i25"}}
	for count := 1; count <= 3; count++ {
		r := shardRouter(t, data, count)
		for u := 0; u < 40; u++ {
			q := users(t, u, 1)
			for _, opts := range []twotower.QueryOptions{{K: 5}, {K: 30}, {K: 7, ExcludeKeys: exclude}} {
				want, err := whole.Query(q, &opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := r.query(q, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%d shards, user u%d, k %d: router %v\nwhole model %v", count, u, opts.K, got, want)
				}
			}
		}
	}
}

func TestRouterHTTP(t *testing.T) {
	whole, data := wholeModel(t)
	srv := httptest.NewServer(newHandler(shardRouter(t, data, 3), 1000000))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/recommend?user=u7&k=4&exclude=i2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got response
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	want, err := whole.Query(table(t, map[string]any{"user_id": []string{"u7"}, "timestamp": []int64{1000000}}),
		&twotower.QueryOptions{K: 4, ExcludeKeys: [][]string{{"i2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Shards != 3 || len(got.Recommendations) != 4 {
		t.Fatalf("answer %+v", got)
	}
	for i, rec := range got.Recommendations {
		key, _ := whole.CandidateKey(want[0].IDs[i])
		if rec.ID != want[0].IDs[i] || rec.Score != want[0].Scores[i] || rec.Key != key {
			t.Fatalf("recommendation %d: %+v, whole model id %d key %s score %v", i, rec, want[0].IDs[i], key, want[0].Scores[i])
		}
	}
	if resp, err := http.Get(srv.URL + "/recommend?k=4"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("request without a user: %v %v", resp, err)
	}
}

func TestRouterRefusesMismatchedShards(t *testing.T) {
	_, data := wholeModel(t)
	a := shardRouter(t, data, 2).shards[0]
	b := shardRouter(t, data, 3).shards[1]
	if _, err := newRouter([]*twotower.Model{a, b}); err == nil {
		t.Fatal("shards of different splits accepted")
	}
}

// Shards as separate servers over loopback: a router fanning out over HTTP to S shard servers
// (each serving one shard) answers every user as the whole model, ids, keys and scores.
func TestRemoteShardsOverLoopback(t *testing.T) {
	whole, data := wholeModel(t)
	for count := 1; count <= 3; count++ {
		var urls []string
		for i := 0; i < count; i++ {
			r, err := newRouter([]*twotower.Model{loadShard(t, data, i, count)}) // a shard server
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(newHandler(r, 1000000))
			t.Cleanup(srv.Close)
			urls = append(urls, srv.URL)
		}
		remote := &remoteShards{urls: urls, client: http.DefaultClient}
		for u := 0; u < 40; u++ {
			for _, k := range []int{3, 30} {
				got, err := remote.recommend(fmt.Sprintf("u%d", u), 1000000+37*int64(u), k, []string{"i4"})
				if err != nil {
					t.Fatal(err)
				}
				want, err := whole.Query(users(t, u, 1), &twotower.QueryOptions{K: k, ExcludeKeys: [][]string{{"i4"}}})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want[0].IDs) {
					t.Fatalf("%d shard servers, u%d, k %d: %d answers, want %d", count, u, k, len(got), len(want[0].IDs))
				}
				for i, rec := range got {
					key, _ := whole.CandidateKey(want[0].IDs[i])
					if rec.ID != want[0].IDs[i] || rec.Score != want[0].Scores[i] || rec.Key != key {
						t.Fatalf("%d shard servers, u%d, k %d, rank %d: %+v, want id %d key %s score %v",
							count, u, k, i, rec, want[0].IDs[i], key, want[0].Scores[i])
					}
				}
			}
		}
	}
}
