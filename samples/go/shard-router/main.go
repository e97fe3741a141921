// shard-router serves a catalogue split into shards (twotower convert --shard i/S): every
// request goes to all shard models at once, one goroutine each, and their top-k lists are
// merged into the global top k, which is what the unsharded model answers (docs/distributed.md,
// "Sharded serving").
//
//	for i in 0 1 2; do twotower convert model.tt -o shard-$i.tt --shard $i/3; done
//	shard-router -shard shard-0.tt -shard shard-1.tt -shard shard-2.tt [-addr 127.0.0.1:8081]
//
// or, with every shard served by its own process (a shard-router with one -shard each, on its
// own machine or port), a router that fans out to them over HTTP and merges their answers:
//
//	shard-router -shard shard-0.tt -addr 127.0.0.1:9000 &   # ... and 9001, 9002
//	shard-router -shard-url http://127.0.0.1:9000 -shard-url http://127.0.0.1:9001 -shard-url http://127.0.0.1:9002
//
//	GET /recommend?user=42&k=10[&timestamp=879024327][&exclude=KEY]...
//	    -> {"user": "42", "k": 10, "shards": 3,
//	        "recommendations": [{"id": 49, "key": "Star Wars (1977)", "score": 4.21}, ...]}
//
// Ids are catalogue rows (the unsharded model's ids), so the answers of shard processes merge
// as those of shard models do; JSON carries each float32 score exactly.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"twotower"
)

type shardFlags []string

func (s *shardFlags) String() string     { return strings.Join(*s, ",") }
func (s *shardFlags) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var files, urls shardFlags
	flag.Var(&files, "shard", "a shard's model file (repeat for every shard)")
	flag.Var(&urls, "shard-url", "a shard server's base URL, e.g. http://127.0.0.1:9000 (repeat for every shard)")
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	timestamp := flag.Int64("timestamp", 0, "Unix time for requests without a timestamp parameter (0: the request's time)")
	flag.Parse()
	logger := log.New(os.Stderr, "shard-router: ", log.LstdFlags)
	if (len(files) == 0) == (len(urls) == 0) || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if len(urls) > 0 {
		logger.Printf("routing to %d shard servers on %s", len(urls), *addr)
		logger.Fatal(http.ListenAndServe(*addr, newHandler(&remoteShards{urls: urls, client: http.DefaultClient}, *timestamp)))
	}
	var shards []*twotower.Model
	for _, f := range files {
		m, err := twotower.Load(f)
		if err != nil {
			logger.Fatal(err)
		}
		defer m.Close()
		shards = append(shards, m)
	}
	r, err := newRouter(shards)
	if err != nil {
		logger.Fatal(err)
	}
	logger.Printf("serving %d shards on %s", len(shards), *addr)
	logger.Fatal(http.ListenAndServe(*addr, newHandler(r, *timestamp)))
}

type recommendation struct {
	ID    int64   `json:"id"`
	Key   string  `json:"key"`
	Score float32 `json:"score"`
}

type response struct {
	User            string           `json:"user"`
	K               int              `json:"k"`
	Shards          int              `json:"shards"`
	Recommendations []recommendation `json:"recommendations"`
}

// backend answers one user's request: the local shard models (router) or shard servers
// (remoteShards).
type backend interface {
	recommend(user string, timestamp int64, k int, exclude []string) ([]recommendation, error)
	shardCount() int
}

func newHandler(r backend, defaultTimestamp int64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/recommend", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		user := q.Get("user")
		k, err := strconv.Atoi(q.Get("k"))
		if q.Get("k") == "" {
			k, err = 10, nil
		}
		if user == "" || err != nil || k < 1 || k > 1000 {
			http.Error(w, `{"error": "need user=ID and k in 1..1000"}`, http.StatusBadRequest)
			return
		}
		ts := defaultTimestamp
		if t := q.Get("timestamp"); t != "" {
			if ts, err = strconv.ParseInt(t, 10, 64); err != nil {
				http.Error(w, `{"error": "timestamp must be Unix seconds"}`, http.StatusBadRequest)
				return
			}
		} else if ts == 0 {
			ts = time.Now().Unix()
		}
		recs, err := r.recommend(user, ts, k, q["exclude"])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out := response{User: user, K: k, Shards: r.shardCount(), Recommendations: recs}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}
