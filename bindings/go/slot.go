package twotower

/*
#include <twotower/twotower.h>
*/
import "C"

import (
	"runtime"
	"sync"
)

// ModelSlot holds the model a service answers with while a reloader replaces it (the C API's
// tt_model_slot; docs/c-api.md, "Replacing a served model"). Acquire hands each request its
// own reference to the current model; Replace installs another, and the previous model is
// freed by the library when the last request that acquired it closes its *Model. The library
// synchronises with a mutex held only to copy a pointer and count a reference, never during a
// query, so neither a stream of requests nor a reload can starve the other.
//
//	slot, _ := twotower.NewModelSlot(m) // the slot takes m over
//	// per request:
//	cur, generation, err := slot.Acquire()
//	defer cur.Close()
//	// on reload:
//	next, err := twotower.Load(path)
//	if err == nil { slot.Replace(next) }
//
// A model given to the slot is taken over: its *Model is closed, so that nobody can train or
// rebuild a model that requests are reading (work on a Clone instead).
type ModelSlot struct {
	mu  sync.RWMutex // guards ptr against Close only; held for one C call, never for a query
	ptr *C.tt_model_slot
}

// NewModelSlot returns a slot holding m, which it takes over (m is closed; the model lives on in
// the slot), or an empty slot when m is nil. The first model's generation is 1.
func NewModelSlot(m *Model) (*ModelSlot, error) {
	const op = "NewModelSlot"
	if err := checkABI(); err != nil {
		return nil, err
	}
	var mptr *C.tt_model
	if m != nil {
		var err error
		if mptr, err = m.shared(op); err != nil {
			return nil, err
		}
	}
	s := &ModelSlot{}
	err := call(op, func() C.tt_status { return C.tt_model_slot_create(mptr, &s.ptr) })
	if m != nil {
		m.mu.RUnlock()
		if err == nil {
			m.Close() // the slot holds its own reference
		}
	}
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, func(s *ModelSlot) {
		finalized.Add(1)
		s.Close()
	})
	return s, nil
}

// Acquire returns the current model as a *Model of its own, which the caller must Close when
// done with it (typically at the end of the request), and its generation: the number of models
// installed in the slot so far, counting this one. An empty slot is an error.
func (s *ModelSlot) Acquire() (*Model, uint64, error) {
	const op = "ModelSlot.Acquire"
	if s == nil {
		return nil, 0, argError(op, "nil *ModelSlot")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, 0, closedError(op, "model slot")
	}
	var mptr *C.tt_model
	var gen C.uint64_t
	if err := call(op, func() C.tt_status { return C.tt_model_slot_acquire(s.ptr, &mptr, &gen) }); err != nil {
		return nil, 0, err
	}
	return newModel(mptr), uint64(gen), nil
}

// Replace installs m, which it takes over (m is closed; nil empties the slot), and returns its
// generation. Requests that acquired the previous model keep it until they close it. On error
// m is left as it was.
func (s *ModelSlot) Replace(m *Model) (uint64, error) {
	const op = "ModelSlot.Replace"
	if s == nil {
		return 0, argError(op, "nil *ModelSlot")
	}
	var mptr *C.tt_model
	if m != nil {
		var err error
		if mptr, err = m.shared(op); err != nil {
			return 0, err
		}
	}
	gen, err := s.replace(op, mptr)
	if m != nil {
		m.mu.RUnlock()
		if err == nil {
			m.Close() // the slot holds its own reference
		}
	}
	return gen, err
}

func (s *ModelSlot) replace(op string, mptr *C.tt_model) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return 0, closedError(op, "model slot")
	}
	var gen C.uint64_t
	if err := call(op, func() C.tt_status { return C.tt_model_slot_replace(s.ptr, mptr, &gen) }); err != nil {
		return 0, err
	}
	return uint64(gen), nil
}

// Close releases the slot's reference to its model (models acquired from it stay usable until
// they are closed). It is idempotent; Acquire and Replace fail with ErrClosed afterwards.
func (s *ModelSlot) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.tt_model_slot_free(s.ptr)
		s.ptr = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// Clone returns an independent deep copy of the model: rebuild its index, quantize or train it
// while m keeps serving, then install it with ModelSlot.Replace. It runs concurrently with
// queries on m.
func (m *Model) Clone() (*Model, error) {
	const op = "Clone"
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	var out *C.tt_model
	if err := call(op, func() C.tt_status { return C.tt_model_clone(ptr, &out) }); err != nil {
		return nil, err
	}
	return newModel(out), nil
}
