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

// servedModel is what the server knows of one model generation: where it came from and how to
// build its queries. The model itself lives in the library's ModelSlot, which counts the
// references of the requests using it: a reload never frees a model under a request in flight,
// and the library, not this server, frees it after the last of them.
type servedModel struct {
	path          string
	generation    uint64
	loadedAt      time.Time // zero for a description made after the fact (see models.describe)
	numCandidates int
	cols          columns
	needsTime     bool // the query tower reads the time column
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

	slot     *twotower.ModelSlot
	latest   atomic.Pointer[servedModel] // the description of the newest generation
	reloadMu sync.Mutex                  // one load at a time
}

// acquire returns the current model, which the caller must Close, and its description.
func (ms *models) acquire() (*twotower.Model, *servedModel, error) {
	m, generation, err := ms.slot.Acquire()
	if err != nil {
		return nil, nil, err
	}
	if s := ms.latest.Load(); s != nil && s.generation == generation {
		return m, s, nil
	}
	// A request that took the previous model just before a reload: describe it again.
	s, err := ms.check(m)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s.generation = generation
	return m, s, nil
}

// reload loads the model file and, if that works, makes it current; the old model is freed
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
	s.loadedAt = time.Now()
	previous := ms.latest.Load()
	if ms.slot == nil {
		if ms.slot, err = twotower.NewModelSlot(nil); err != nil {
			m.Close()
			return err
		}
	}
	// Reloads are serialised, so the slot's next generation is known: describe it before any
	// request can acquire it.
	s.generation = 1
	if previous != nil {
		s.generation = previous.generation + 1
	}
	ms.latest.Store(s)
	generation, err := ms.slot.Replace(m) // the slot takes m over
	if err != nil || generation != s.generation {
		m.Close()
		ms.latest.Store(previous)
		return fmt.Errorf("installing %s: generation %d, expected %d: %v", ms.path, generation, s.generation, err)
	}
	ms.logger.Printf("serving model generation %d from %s: %d candidates (loaded in %v)",
		s.generation, s.path, s.numCandidates, time.Since(start).Round(time.Millisecond))
	if previous != nil {
		ms.logger.Printf("replaced model generation %d; the library frees it after its last request", previous.generation)
	}
	return nil
}

// close releases the slot's model once the server has stopped taking requests.
func (ms *models) close() {
	ms.reloadMu.Lock() // no reload may install a model after this
	defer ms.reloadMu.Unlock()
	ms.slot.Close()
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
	s := &servedModel{path: ms.path, cols: ms.columns}
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
