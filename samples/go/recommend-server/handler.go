package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"twotower"
)

type config struct {
	defaultTimestamp int64 // 0: the request's time
	maxK             int
	requestDelay     time.Duration // a testing aid: how long each request holds its model before querying
}

type modelInfo struct {
	File          string     `json:"file"`
	Generation    int64      `json:"generation"`
	LoadedAt      *time.Time `json:"loaded_at,omitempty"` // absent for a model replaced while the request started
	NumCandidates int        `json:"candidates"`
}

type recommendation struct {
	ID    int64   `json:"id"`
	Key   string  `json:"key"`
	Score float32 `json:"score"`
}

type recommendResponse struct {
	User            string           `json:"user"`
	Timestamp       *int64           `json:"timestamp,omitempty"` // absent when the model ignores time
	K               int              `json:"k"`
	Model           modelInfo        `json:"model"`
	Recommendations []recommendation `json:"recommendations"`
}

// badRequest is an error the client can fix; its status is 4xx.
type badRequest struct {
	status int
	msg    string
}

func (e *badRequest) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &badRequest{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func newHandler(ms *models, cfg config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/recommend", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, ms.logger, &badRequest{http.StatusMethodNotAllowed, r.Method + " not allowed: use GET"})
			return
		}
		m, s, err := ms.acquire()
		if err != nil {
			writeError(w, ms.logger, err)
			return
		}
		defer m.Close() // the library frees a replaced model after its last request
		time.Sleep(cfg.requestDelay)
		resp, err := recommend(m, s, cfg, r)
		if err != nil {
			writeError(w, ms.logger, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		m, s, err := ms.acquire()
		if err != nil {
			writeError(w, ms.logger, err)
			return
		}
		m.Close()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": s.info()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, ms.logger, &badRequest{http.StatusNotFound, "no such endpoint " + r.URL.Path + ": try GET /recommend?user=42&k=10"})
	})
	return mux
}

func (s *servedModel) info() modelInfo {
	info := modelInfo{File: s.path, Generation: int64(s.generation), NumCandidates: s.numCandidates}
	if !s.loadedAt.IsZero() {
		info.LoadedAt = &s.loadedAt
	}
	return info
}

// recommend answers one /recommend request with the model m, described by s.
func recommend(m *twotower.Model, s *servedModel, cfg config, r *http.Request) (*recommendResponse, error) {
	q := r.URL.Query()
	for name := range q {
		switch name {
		case "user", "k", "timestamp", "exclude":
		default:
			return nil, badParam("unknown parameter %q (known: user, k, timestamp, exclude)", name)
		}
	}
	user := q.Get("user")
	if user == "" {
		return nil, badParam("missing parameter user, e.g. /recommend?user=42&k=10")
	}
	if len(q["user"]) > 1 || len(q["k"]) > 1 || len(q["timestamp"]) > 1 {
		return nil, badParam("user, k and timestamp may be given once each")
	}
	k := 10
	if v := q.Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cfg.maxK {
			return nil, badParam("parameter k must be an integer from 1 to %d, got %q", cfg.maxK, v)
		}
		k = n
	}
	timestamp := cfg.defaultTimestamp
	if timestamp == 0 {
		timestamp = time.Now().Unix()
	}
	if v := q.Get("timestamp"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badParam("parameter timestamp must be an integer (Unix seconds), got %q", v)
		}
		timestamp = n
	}

	var exclude []string // candidate keys, which the library resolves (unknown ones ignored)
	for _, key := range q["exclude"] {
		if strings.IndexByte(key, 0) >= 0 {
			return nil, badParam("parameter exclude %q contains a NUL byte", key)
		}
		exclude = append(exclude, key)
	}
	columns := map[string]any{s.cols.user: []string{user}}
	if s.needsTime {
		columns[s.cols.time] = []int64{timestamp}
	}
	queries, err := twotower.NewTableFromColumns(columns)
	if err != nil {
		return nil, badParam("%v", err) // e.g. a NUL byte in user
	}
	defer queries.Close()
	opts := &twotower.QueryOptions{K: k, IgnoreUnknownKeys: true}
	if exclude != nil {
		opts.ExcludeKeys = [][]string{exclude}
	}
	results, err := m.Query(queries, opts)
	if err != nil {
		return nil, err
	}
	keys, err := m.CandidateKeys(results[0].IDs)
	if err != nil {
		return nil, err
	}
	resp := &recommendResponse{User: user, K: k, Model: s.info(), Recommendations: make([]recommendation, len(keys))}
	if s.needsTime {
		resp.Timestamp = &timestamp
	}
	for i, key := range keys {
		resp.Recommendations[i] = recommendation{ID: results[0].IDs[i], Key: key, Score: results[0].Scores[i]}
	}
	return resp, nil
}

func writeError(w http.ResponseWriter, logger *log.Logger, err error) {
	status := http.StatusInternalServerError
	if br, ok := err.(*badRequest); ok {
		status = br.status
	} else {
		logger.Printf("internal error: %v", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a client that went away is not an error worth logging
}
