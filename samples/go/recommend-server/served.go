package main

import (
	"encoding/json"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"twotower"
)

// servedModel is one loaded model file. refs counts its owners: 1 while it is the current
// model, plus 1 per request using it. The last release closes the model, so a reload never
// frees a model under a request in flight.
type servedModel struct {
	model         *twotower.Model
	path          string
	generation    int64
	loadedAt      time.Time
	numCandidates int
	cols          columns
	needsTime     bool // the query tower reads the time column
	refs          atomic.Int64
	logger        *log.Logger
}

// acquire takes a reference unless the model is already released.
func (s *servedModel) acquire() bool {
	for {
		n := s.refs.Load()
		if n == 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *servedModel) release() {
	if s.refs.Add(-1) == 0 {
		s.model.Close()
		s.logger.Printf("model generation %d (%s) closed: no request uses it any more", s.generation, s.path)
	}
}

// columns names the query tower's inputs a request can fill.
type columns struct {
	user string // filled from the "user" parameter, as a string
	time string // filled from the "timestamp" parameter, as an int64
}

// models holds the current model and replaces it on reload.
type models struct {
	path    string
	columns columns
	logger  *log.Logger

	current    atomic.Pointer[servedModel]
	reloadMu   sync.Mutex // one load at a time
	generation int64      // guarded by reloadMu
}

// acquire returns the current model with a reference the caller must release.
func (ms *models) acquire() *servedModel {
	for {
		if s := ms.current.Load(); s.acquire() {
			return s
		}
		// Released between Load and acquire: a reload has already installed its successor.
	}
}

// reload loads the model file and, if that works, makes it current; the old model is closed
// when its last request finishes. On failure the current model stays and the error says why.
func (ms *models) reload() error {
	ms.reloadMu.Lock()
	defer ms.reloadMu.Unlock()
	start := time.Now()
	m, err := twotower.Load(ms.path)
	if err != nil {
		return err
	}
	s, err := ms.check(m)
	if err != nil {
		m.Close()
		return err
	}
	ms.generation++
	s.generation = ms.generation
	s.refs.Store(1)
	old := ms.current.Swap(s)
	ms.logger.Printf("serving model generation %d from %s: %d candidates (loaded in %v)",
		s.generation, s.path, s.numCandidates, time.Since(start).Round(time.Millisecond))
	if old != nil {
		old.release()
	}
	return nil
}

// check makes sure the server can build the model's queries: its query tower may read only the
// user column (a string feature) and the time column.
func (ms *models) check(m *twotower.Model) (*servedModel, error) {
	specJSON, err := m.SpecJSON()
	if err != nil {
		return nil, err
	}
	var spec struct {
		QueryTower struct {
			Features []struct {
				Column string `json:"column"`
				Kind   string `json:"kind"`
			} `json:"features"`
		} `json:"query_tower"`
	}
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return nil, fmt.Errorf("%s: reading the model's spec: %w", ms.path, err)
	}
	s := &servedModel{model: m, path: ms.path, loadedAt: time.Now(), cols: ms.columns, logger: ms.logger}
	var unknown []string
	for _, f := range spec.QueryTower.Features {
		switch {
		case f.Column == ms.columns.user && f.Kind != "normalization" && f.Kind != "discretization":
		case f.Column == ms.columns.time:
			s.needsTime = true
		default:
			unknown = append(unknown, fmt.Sprintf("%s (%s)", f.Column, f.Kind))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: the query tower reads %s, but this server fills only the user column %q "+
			"(a string feature) and the time column %q (see -user-column, -time-column)",
			ms.path, strings.Join(unknown, ", "), ms.columns.user, ms.columns.time)
	}
	if s.numCandidates, err = m.NumCandidates(); err != nil {
		return nil, err
	}
	if s.numCandidates == 0 {
		return nil, fmt.Errorf("%s: the model has no candidates (is it trained?)", ms.path)
	}
	return s, nil
}
