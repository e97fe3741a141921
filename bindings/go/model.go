package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Model is a two-tower retrieval model: made untrained from a spec (NewModel,
// NewModelFromFile) or loaded trained from a file or bytes (Load, LoadFromBytes).
//
// A Model is safe for concurrent use, following the C API's contract: queries, embeddings,
// candidate lookups, JSON, Evaluate and Save run concurrently with each other; Train and
// RebuildIndex wait for them and run alone (a sync.RWMutex enforces it). Close releases the
// model (after the calls in progress); a finalizer does so too if Close was never called.
type Model struct {
	mu  sync.RWMutex
	ptr *C.tt_model // nil once closed
}

func newModel(ptr *C.tt_model) *Model {
	m := &Model{ptr: ptr}
	runtime.SetFinalizer(m, func(m *Model) {
		finalized.Add(1)
		m.Close()
	})
	return m
}

// NewModel returns an untrained model from a JSON spec (docs/model-spec.md).
func NewModel(specJSON string) (*Model, error) {
	return newModelWith("NewModel", "spec JSON", specJSON, func(s *C.char, out **C.tt_model) C.tt_status {
		return C.tt_model_create(s, out)
	})
}

// NewModelFromFile returns an untrained model from a JSON spec file.
func NewModelFromFile(specPath string) (*Model, error) {
	return newModelWith("NewModelFromFile", "spec path", specPath, func(s *C.char, out **C.tt_model) C.tt_status {
		return C.tt_model_create_from_file(s, out)
	})
}

// LoadOptions are the options of LoadWith and LoadFromBytesWith; nil means the defaults.
type LoadOptions struct {
	Threads int // the model's thread count (SetThreads): 0 all cores, else 1..256
}

func (o *LoadOptions) toC() C.tt_load_options {
	var c C.tt_load_options
	C.tt_load_options_init(&c)
	if o != nil {
		c.threads = C.int32_t(o.Threads)
	}
	return c
}

// Load loads a model file. Every size, offset and checksum is verified: a damaged file fails
// with StatusCorrupt naming the section.
func Load(path string) (*Model, error) { return LoadWith(path, nil) }

// LoadWith is Load with options (nil: the defaults).
func LoadWith(path string, opts *LoadOptions) (*Model, error) {
	c := opts.toC()
	return newModelWith("Load", "path", path, func(s *C.char, out **C.tt_model) C.tt_status {
		return C.tt_model_load_v2(s, &c, out)
	})
}

func newModelWith(op, what, arg string, create func(*C.char, **C.tt_model) C.tt_status) (*Model, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	carg, err := cString(op, what, arg)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(carg))
	var ptr *C.tt_model
	if err := call(op, func() C.tt_status { return create(carg, &ptr) }); err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}

// LoadFromBytes loads a model from the bytes of a model file (SaveToBytes makes them). The
// bytes are copied; data may be reused afterwards.
func LoadFromBytes(data []byte) (*Model, error) { return LoadFromBytesWith(data, nil) }

// LoadFromBytesWith is LoadFromBytes with options (nil: the defaults).
func LoadFromBytesWith(data []byte, opts *LoadOptions) (*Model, error) {
	if err := checkABI(); err != nil {
		return nil, err
	}
	c := opts.toC()
	var ptr *C.tt_model
	err := call("LoadFromBytes", func() C.tt_status {
		return C.tt_model_load_from_buffer_v2(unsafe.Pointer(firstOrNil(data)), C.size_t(len(data)), &c, &ptr)
	})
	if err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}

// Close releases the model once the calls in progress on it have returned. It is idempotent;
// any other call after Close fails with an error wrapping ErrClosed.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.tt_model_free(m.ptr)
		m.ptr = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// shared takes the model for a concurrent call; the caller must call m.mu.RUnlock when err
// is nil.
func (m *Model) shared(op string) (*C.tt_model, error) {
	if m == nil {
		return nil, argError(op, "nil *Model")
	}
	m.mu.RLock()
	if m.ptr == nil {
		m.mu.RUnlock()
		return nil, closedError(op, "model")
	}
	return m.ptr, nil
}

// exclusive takes the model alone; the caller must call m.mu.Unlock when err is nil.
func (m *Model) exclusive(op string) (*C.tt_model, error) {
	if m == nil {
		return nil, argError(op, "nil *Model")
	}
	m.mu.Lock()
	if m.ptr == nil {
		m.mu.Unlock()
		return nil, closedError(op, "model")
	}
	return m.ptr, nil
}

// SaveOptions are the options of Save and SaveToBytes; a nil *SaveOptions means the defaults.
type SaveOptions struct {
	CompressionLevel int  // zstd level 1..19; 0 means the default, 3
	Uncompressed     bool // store every section raw (zstd level 0); overrides CompressionLevel
	IncludeOptimizer bool // also store the optimizer state (a checkpoint)
}

func (o *SaveOptions) toC() C.tt_save_options {
	var c C.tt_save_options
	C.tt_save_options_init(&c)
	if o != nil {
		if o.CompressionLevel != 0 {
			c.compression_level = C.int32_t(o.CompressionLevel)
		}
		if o.Uncompressed {
			c.compression_level = 0
		}
		if o.IncludeOptimizer {
			c.include_optimizer = 1
		}
	}
	return c
}

// Save writes the model to a file, atomically: the file appears complete or not at all.
func (m *Model) Save(path string, opts *SaveOptions) error {
	const op = "Save"
	ptr, err := m.shared(op)
	if err != nil {
		return err
	}
	defer m.mu.RUnlock()
	cpath, err := cString(op, "path", path)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cpath))
	copts := opts.toC()
	return call(op, func() C.tt_status { return C.tt_model_save(ptr, cpath, &copts) })
}

// SaveToBytes returns the bytes of the model file Save would write.
func (m *Model) SaveToBytes(opts *SaveOptions) ([]byte, error) {
	const op = "SaveToBytes"
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	copts := opts.toC()
	var data unsafe.Pointer
	var size C.size_t
	if err := call(op, func() C.tt_status { return C.tt_model_save_to_buffer(ptr, &copts, &data, &size) }); err != nil {
		return nil, err
	}
	defer C.tt_buffer_free(data)
	return append([]byte(nil), unsafe.Slice((*byte)(data), int(size))...), nil
}

// SpecJSON returns the model's spec as JSON.
func (m *Model) SpecJSON() (string, error) {
	return m.json("SpecJSON", func(p *C.tt_model, out **C.char) C.tt_status { return C.tt_model_spec_json(p, out) })
}

// MetadataJSON returns the model's metadata as JSON: format_version, library_version,
// data_fingerprint, seed, epochs, metrics, parameters, candidates, ...
func (m *Model) MetadataJSON() (string, error) {
	return m.json("MetadataJSON", func(p *C.tt_model, out **C.char) C.tt_status { return C.tt_model_metadata_json(p, out) })
}

func (m *Model) json(op string, get func(*C.tt_model, **C.char) C.tt_status) (string, error) {
	ptr, err := m.shared(op)
	if err != nil {
		return "", err
	}
	defer m.mu.RUnlock()
	var s *C.char
	if err := call(op, func() C.tt_status { return get(ptr, &s) }); err != nil {
		return "", err
	}
	return C.GoString(s), nil // copied while no training can replace it
}

// EmbeddingDim returns the size of the query and candidate embeddings.
func (m *Model) EmbeddingDim() (int, error) {
	return m.size("EmbeddingDim", func(p *C.tt_model, out *C.size_t) C.tt_status { return C.tt_model_embedding_dim(p, out) })
}

// NumCandidates returns the number of candidates in the index (0 before training).
func (m *Model) NumCandidates() (int, error) {
	return m.size("NumCandidates", func(p *C.tt_model, out *C.size_t) C.tt_status { return C.tt_model_num_candidates(p, out) })
}

func (m *Model) size(op string, get func(*C.tt_model, *C.size_t) C.tt_status) (int, error) {
	ptr, err := m.shared(op)
	if err != nil {
		return 0, err
	}
	defer m.mu.RUnlock()
	var n C.size_t
	if err := call(op, func() C.tt_status { return get(ptr, &n) }); err != nil {
		return 0, err
	}
	return int(n), nil
}

// CandidateKey returns the key (the spec's candidate id column; int64 ids in decimal) of
// candidate id, 0 <= id < NumCandidates.
func (m *Model) CandidateKey(id int64) (string, error) {
	keys, err := m.candidateKeys("CandidateKey", []int64{id})
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// CandidateKeys returns the keys of several candidate ids.
func (m *Model) CandidateKeys(ids []int64) ([]string, error) {
	return m.candidateKeys("CandidateKeys", ids)
}

func (m *Model) candidateKeys(op string, ids []int64) ([]string, error) {
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	keys := make([]string, len(ids))
	for i, id := range ids {
		var s *C.char
		if err := call(op, func() C.tt_status { return C.tt_model_candidate_key(ptr, C.int64_t(id), &s) }); err != nil {
			return nil, err
		}
		keys[i] = C.GoString(s)
	}
	return keys, nil
}

// CandidateID returns the first candidate id with the given key; found is false if there is
// none.
func (m *Model) CandidateID(key string) (id int64, found bool, err error) {
	const op = "CandidateID"
	ptr, err := m.shared(op)
	if err != nil {
		return 0, false, err
	}
	defer m.mu.RUnlock()
	ckey, err := cString(op, "key", key)
	if err != nil {
		return 0, false, err
	}
	defer C.free(unsafe.Pointer(ckey))
	var cid C.int64_t
	if err := call(op, func() C.tt_status { return C.tt_model_candidate_id(ptr, ckey, &cid) }); err != nil {
		return 0, false, err
	}
	if cid < 0 {
		return -1, false, nil
	}
	return int64(cid), true, nil
}

// EmbedQueries returns the query-tower embedding of every row of queries (which holds the
// query tower's columns): one slice of EmbeddingDim floats per row.
func (m *Model) EmbedQueries(queries *Table) ([][]float32, error) {
	return m.embed("EmbedQueries", "queries table", queries,
		func(p *C.tt_model, t *C.tt_table, out *C.float, n C.size_t) C.tt_status {
			return C.tt_model_embed_queries(p, t, out, n)
		})
}

// EmbedCandidates returns the candidate-tower embedding of every row of candidates.
func (m *Model) EmbedCandidates(candidates *Table) ([][]float32, error) {
	return m.embed("EmbedCandidates", "candidates table", candidates,
		func(p *C.tt_model, t *C.tt_table, out *C.float, n C.size_t) C.tt_status {
			return C.tt_model_embed_candidates(p, t, out, n)
		})
}

func (m *Model) embed(op, what string, table *Table, fn func(*C.tt_model, *C.tt_table, *C.float, C.size_t) C.tt_status) ([][]float32, error) {
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	tptr, err := table.read(op, what)
	if err != nil {
		return nil, err
	}
	defer table.mu.RUnlock()
	var dim, rows C.size_t
	if err := call(op, func() C.tt_status { return C.tt_model_embedding_dim(ptr, &dim) }); err != nil {
		return nil, err
	}
	if err := call(op, func() C.tt_status { return C.tt_table_num_rows(tptr, &rows) }); err != nil {
		return nil, err
	}
	flat := make([]float32, max(int(rows)*int(dim), 1)) // never NULL, even for no rows
	err = call(op, func() C.tt_status {
		return fn(ptr, tptr, (*C.float)(unsafe.Pointer(firstOrNil(flat))), C.size_t(len(flat)))
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, int(rows))
	for i := range out {
		out[i] = flat[i*int(dim) : (i+1)*int(dim) : (i+1)*int(dim)]
	}
	return out, nil
}

// SearchPrecision is the precision queries scan the index at.
type SearchPrecision int32

const (
	// SearchAuto is the default: the stored index precision when it is bf16 or int8, else float32.
	SearchAuto SearchPrecision = C.TT_SEARCH_PRECISION_AUTO
	// SearchFloat32 scans the float32 embeddings.
	SearchFloat32 SearchPrecision = C.TT_PRECISION_FLOAT32
	// SearchBF16 and SearchInt8 make queries of up to 8 rows scan a compact copy of the index
	// (half or a quarter of the bytes) and re-score a shortlist in float32: the float32 top-k,
	// sooner.
	SearchBF16 SearchPrecision = C.TT_PRECISION_BF16
	SearchInt8 SearchPrecision = C.TT_PRECISION_INT8
)

// SetSearchPrecision chooses the precision queries scan the index at (exclusive access).
func (m *Model) SetSearchPrecision(p SearchPrecision) error {
	const op = "SetSearchPrecision"
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_model_set_search_precision(ptr, C.int32_t(p)) })
}

// CurrentSearchPrecision returns the precision queries scan at now (never SearchAuto).
func (m *Model) CurrentSearchPrecision() (SearchPrecision, error) {
	const op = "CurrentSearchPrecision"
	ptr, err := m.shared(op)
	if err != nil {
		return 0, err
	}
	defer m.mu.RUnlock()
	var p C.int32_t
	if err := call(op, func() C.tt_status { return C.tt_model_search_precision(ptr, &p) }); err != nil {
		return 0, err
	}
	return SearchPrecision(p), nil
}

// RebuildIndex replaces the candidate index with the rows of catalogue, embedded by the
// trained candidate tower: new items are served without retraining. It waits for the calls
// in progress and runs alone.
func (m *Model) RebuildIndex(catalogue *Table) error {
	const op = "RebuildIndex"
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	tptr, err := catalogue.read(op, "catalogue table")
	if err != nil {
		return err
	}
	defer catalogue.mu.RUnlock()
	return call(op, func() C.tt_status { return C.tt_model_rebuild_index(ptr, tptr) })
}

// SetThreads sets the threads the model's queries, evaluation, index builds and training
// (with TrainOptions.Threads 0) run on: 0 all cores (the default), else 1..256. Answers do not
// depend on it; a trained model does. It waits for the calls in progress and runs alone.
func (m *Model) SetThreads(threads int) error {
	const op = "SetThreads"
	if threads < 0 || threads > math.MaxInt32 {
		return argError(op, "threads is %d; it must be 0 (all cores) or 1..256", threads)
	}
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_model_set_threads(ptr, C.int32_t(threads)) })
}

// Threads is the thread count the model's calls run with (all cores resolved to their number).
func (m *Model) Threads() (int, error) {
	const op = "Threads"
	ptr, err := m.shared(op)
	if err != nil {
		return 0, err
	}
	defer m.mu.RUnlock()
	var n C.int32_t
	if err := call(op, func() C.tt_status { return C.tt_model_threads(ptr, &n) }); err != nil {
		return 0, err
	}
	return int(n), nil
}
