package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"twotower"
)

// remoteShards fans a request out to shard servers over HTTP (each a shard-router serving one
// shard file) and merges their top-k lists as the local router does: the ids are catalogue
// rows and JSON carries each float32 score exactly, so the answer is the same.
type remoteShards struct {
	urls   []string
	client *http.Client
}

func (r *remoteShards) shardCount() int { return len(r.urls) }

func (r *remoteShards) recommend(user string, timestamp int64, k int, exclude []string) ([]recommendation, error) {
	params := url.Values{"user": {user}, "k": {strconv.Itoa(k)}, "timestamp": {strconv.FormatInt(timestamp, 10)}}
	for _, e := range exclude {
		params.Add("exclude", e)
	}
	answers := make([][]twotower.Result, len(r.urls))
	keys := make([]map[int64]string, len(r.urls))
	errs := make([]error, len(r.urls))
	var wg sync.WaitGroup
	for s, base := range r.urls {
		wg.Add(1)
		go func(s int, base string) {
			defer wg.Done()
			resp, err := r.client.Get(base + "/recommend?" + params.Encode())
			if err != nil {
				errs[s] = err
				return
			}
			defer resp.Body.Close()
			var got response
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
				errs[s] = fmt.Errorf("status %d, %v", resp.StatusCode, err)
				return
			}
			res := twotower.Result{}
			keys[s] = map[int64]string{}
			for _, rec := range got.Recommendations {
				res.IDs = append(res.IDs, rec.ID)
				res.Scores = append(res.Scores, rec.Score)
				keys[s][rec.ID] = rec.Key
			}
			answers[s] = []twotower.Result{res}
		}(s, base)
	}
	wg.Wait()
	for s, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("shard server %s: %w", r.urls[s], err)
		}
	}
	merged, err := twotower.MergeTopK(answers, k)
	if err != nil {
		return nil, err
	}
	recs := []recommendation{}
	for i, id := range merged[0].IDs {
		key := ""
		for _, m := range keys {
			if v, ok := m[id]; ok {
				key = v
			}
		}
		recs = append(recs, recommendation{ID: id, Key: key, Score: merged[0].Scores[i]})
	}
	return recs, nil
}
