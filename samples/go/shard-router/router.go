package main

import (
	"fmt"
	"sync"

	"twotower"
)

// router answers queries with S shard models of one catalogue: each query goes to every shard
// at once (one goroutine per shard), and the shards' top-k lists merge into the global top k
// (twotower.MergeTopK), which for exact search is the unsharded model's answer bit for bit.
type router struct {
	shards []*twotower.Model
	infos  []twotower.ShardInfo
}

// newRouter checks that the models are the shards 0..S-1 of one catalogue, each once, or a
// single shard (a shard server, whose answers a router with -shard-url merges).
func newRouter(shards []*twotower.Model) (*router, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("no shards")
	}
	r := &router{shards: shards, infos: make([]twotower.ShardInfo, len(shards))}
	seen := map[int]bool{}
	for i, m := range shards {
		info, err := m.ShardInfo()
		if err != nil {
			return nil, err
		}
		first := r.infos[0]
		if i == 0 {
			first = info
		}
		if len(shards) > 1 && (info.Count != len(shards) || info.CatalogueSize != first.CatalogueSize || seen[info.Index]) {
			return nil, fmt.Errorf("shard %d is shard %d of %d of a catalogue of %d; the router has %d shards of %d",
				i, info.Index, info.Count, info.CatalogueSize, len(shards), first.CatalogueSize)
		}
		seen[info.Index] = true
		r.infos[i] = info
	}
	return r, nil
}

// query asks every shard for the top k of each row of queries and merges their answers.
func (r *router) query(queries *twotower.Table, opts twotower.QueryOptions) ([]twotower.Result, error) {
	k := opts.K
	if k == 0 {
		k = 10
	}
	answers := make([][]twotower.Result, len(r.shards))
	errs := make([]error, len(r.shards))
	var wg sync.WaitGroup
	for s, m := range r.shards {
		wg.Add(1)
		go func(s int, m *twotower.Model) {
			defer wg.Done()
			answers[s], errs[s] = m.Query(queries, &opts)
		}(s, m)
	}
	wg.Wait()
	for s, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", r.infos[s].Index, err)
		}
	}
	return twotower.MergeTopK(answers, k)
}

func (r *router) shardCount() int { return len(r.shards) }

// recommend answers one user (the query tower's user_id and timestamp columns).
func (r *router) recommend(user string, timestamp int64, k int, exclude []string) ([]recommendation, error) {
	table, err := twotower.NewTableFromColumns(map[string]any{"user_id": []string{user}, "timestamp": []int64{timestamp}})
	if err != nil {
		return nil, err
	}
	defer table.Close()
	opts := twotower.QueryOptions{K: k}
	if len(exclude) > 0 {
		opts.ExcludeKeys = [][]string{exclude}
	}
	results, err := r.query(table, opts)
	if err != nil {
		return nil, err
	}
	recs := []recommendation{}
	for i, id := range results[0].IDs {
		key, err := r.key(id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, recommendation{ID: id, Key: key, Score: results[0].Scores[i]})
	}
	return recs, nil
}

// key is the candidate key of a catalogue row, asked of the shard that holds it.
func (r *router) key(id int64) (string, error) {
	for s, info := range r.infos {
		if id >= info.Offset && id < info.Offset+info.Candidates {
			return r.shards[s].CandidateKey(id)
		}
	}
	return "", fmt.Errorf("candidate id %d is in no shard", id)
}
