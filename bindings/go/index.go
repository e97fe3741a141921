package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// flatten copies rows of equal length into one row-major slice; dim is their length (0 for no
// rows). Ragged rows are an error naming the first that differs.
func flatten(op, what string, rows [][]float32) (flat []float32, dim int, err error) {
	if len(rows) == 0 {
		return nil, 0, nil
	}
	dim = len(rows[0])
	flat = make([]float32, 0, len(rows)*dim)
	for i, r := range rows {
		if len(r) != dim {
			return nil, 0, argError(op, "%s[%d] has %d values, %s[0] has %d", what, i, len(r), what, dim)
		}
		flat = append(flat, r...)
	}
	return flat, dim, nil
}

// floatPtr is &v[0] as a C pointer, or nil for an empty slice.
func floatPtr(v []float32) *C.float { return (*C.float)(unsafe.Pointer(firstOrNil(v))) }

// QueryVectors is Query with the query embeddings given: one row per query, each of
// EmbeddingDim values made elsewhere (every value finite). Options and results are Query's
// (candidate ids). Runs concurrently with other queries.
func (m *Model) QueryVectors(vectors [][]float32, opts *QueryOptions) ([]Result, error) {
	const op = "QueryVectors"
	flat, dim, err := flatten(op, "vectors", vectors)
	if err != nil {
		return nil, err
	}
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if len(vectors) == 0 {
		var cdim C.size_t
		if err := call(op, func() C.tt_status { return C.tt_model_embedding_dim(ptr, &cdim) }); err != nil {
			return nil, err
		}
		dim = int(cdim)
	}
	var numCandidates C.size_t
	if err := call(op, func() C.tt_status { return C.tt_model_num_candidates(ptr, &numCandidates) }); err != nil {
		return nil, err
	}
	copts, k, free, err := opts.toC(op, len(vectors), int(numCandidates))
	if err != nil {
		return nil, err
	}
	defer free()
	return searchInto(op, len(vectors), k, &copts, func(ids *C.int64_t, scores *C.float) C.tt_status {
		return C.tt_model_query_vectors(ptr, floatPtr(flat), C.size_t(len(vectors)), C.size_t(dim), &copts, ids, scores)
	})
}

// Index is a vector index over embeddings made elsewhere: vectors of one dimension under int64
// keys, searched by inner product (normalise them yourself for cosine similarity), as Faiss's
// IndexFlatIP with ids, with twotower's exact and approximate scans. NewIndex makes an empty
// one; LoadIndex reads an index file or a model file's candidate index.
//
// An Index is safe for concurrent use: Search, Save and the accessors run concurrently; Add,
// BuildANN and DropANN wait for them and run alone. Close releases it (a finalizer does too).
type Index struct {
	mu  sync.RWMutex
	ptr *C.tt_index // nil once closed
}

// IndexOptions are the options of NewIndex and LoadIndex; nil means the defaults.
type IndexOptions struct {
	// Precision the vectors are stored at: they are rounded to it as they are added;
	// PrecisionBF16 and PrecisionInt8 are also scanned compactly and re-scored in float32.
	// PrecisionKeep (zero): float32 for NewIndex, the stored precision for LoadIndex.
	Precision Precision
	Threads   int // 0: all cores; else 1..256
}

func (o *IndexOptions) toC() C.tt_index_options {
	var c C.tt_index_options
	C.tt_index_options_init(&c)
	if o != nil {
		c.precision = o.Precision.toC()
		c.threads = C.int32_t(o.Threads)
	}
	return c
}

func newIndex(ptr *C.tt_index) *Index {
	x := &Index{ptr: ptr}
	runtime.SetFinalizer(x, func(x *Index) { x.Close() })
	return x
}

// NewIndex returns an empty index of vectors of dim (1..65536) values.
func NewIndex(dim int, opts *IndexOptions) (*Index, error) {
	const op = "NewIndex"
	if dim < 1 {
		return nil, argError(op, "dim is %d; it must be at least 1", dim)
	}
	c := opts.toC()
	var ptr *C.tt_index
	if err := call(op, func() C.tt_status { return C.tt_index_create(C.size_t(dim), &c, &ptr) }); err != nil {
		return nil, err
	}
	return newIndex(ptr), nil
}

// LoadIndex reads an index file (Index.Save, `twotower index build`) or the candidate index of
// a model file. A model's keys that are not all integers (titles, say) give an index keyed by
// row number (the model's candidate ids).
func LoadIndex(path string, opts *IndexOptions) (*Index, error) {
	const op = "LoadIndex"
	c := opts.toC()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var ptr *C.tt_index
	if err := call(op, func() C.tt_status { return C.tt_index_load(cpath, &c, &ptr) }); err != nil {
		return nil, err
	}
	return newIndex(ptr), nil
}

// Close releases the index once the calls in progress have returned; idempotent.
func (x *Index) Close() error {
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ptr != nil {
		C.tt_index_free(x.ptr)
		x.ptr = nil
		runtime.SetFinalizer(x, nil)
	}
	return nil
}

func (x *Index) shared(op string) (*C.tt_index, error) {
	if x == nil {
		return nil, argError(op, "nil *Index")
	}
	x.mu.RLock()
	if x.ptr == nil {
		x.mu.RUnlock()
		return nil, closedError(op, "index")
	}
	return x.ptr, nil
}

func (x *Index) exclusive(op string) (*C.tt_index, error) {
	if x == nil {
		return nil, argError(op, "nil *Index")
	}
	x.mu.Lock()
	if x.ptr == nil {
		x.mu.Unlock()
		return nil, closedError(op, "index")
	}
	return x.ptr, nil
}

func (x *Index) size(op string, get func(*C.tt_index, *C.size_t) C.tt_status) (int, error) {
	ptr, err := x.shared(op)
	if err != nil {
		return 0, err
	}
	defer x.mu.RUnlock()
	var n C.size_t
	if err := call(op, func() C.tt_status { return get(ptr, &n) }); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Len returns the number of vectors.
func (x *Index) Len() (int, error) {
	return x.size("Len", func(p *C.tt_index, n *C.size_t) C.tt_status { return C.tt_index_size(p, n) })
}

// Dim returns the vectors' dimension.
func (x *Index) Dim() (int, error) {
	return x.size("Dim", func(p *C.tt_index, n *C.size_t) C.tt_status { return C.tt_index_dim(p, n) })
}

// Precision returns the precision the vectors are stored at.
func (x *Index) Precision() (Precision, error) {
	const op = "Precision"
	ptr, err := x.shared(op)
	if err != nil {
		return PrecisionKeep, err
	}
	defer x.mu.RUnlock()
	var p C.int32_t
	if err := call(op, func() C.tt_status { return C.tt_index_precision(ptr, &p) }); err != nil {
		return PrecisionKeep, err
	}
	return precisionFromC(p), nil
}

// Add appends vectors (rows of Dim values, every value finite) under keys (one per row;
// duplicates allowed; -1 is reserved) or, with nil keys, under their row numbers. Each call
// re-packs the index: add in large batches. Needs the index to itself.
func (x *Index) Add(vectors [][]float32, keys []int64) error {
	const op = "Add"
	flat, dim, err := flatten(op, "vectors", vectors)
	if err != nil {
		return err
	}
	if keys != nil && len(keys) != len(vectors) {
		return argError(op, "%d keys for %d vectors", len(keys), len(vectors))
	}
	if len(vectors) == 0 {
		return nil
	}
	ptr, err := x.exclusive(op)
	if err != nil {
		return err
	}
	defer x.mu.Unlock()
	var ckeys *C.int64_t
	if keys != nil {
		ckeys = (*C.int64_t)(unsafe.Pointer(&keys[0]))
	}
	return call(op, func() C.tt_status {
		return C.tt_index_add(ptr, floatPtr(flat), C.size_t(len(vectors)), C.size_t(dim), ckeys)
	})
}

// Search returns the top keys by inner product for each query (rows of Dim values). Options
// are Query's, except that Exclude and Allow hold keys (keys not in the index are ignored).
// Result.IDs are keys. Runs concurrently with other searches.
func (x *Index) Search(queries [][]float32, opts *QueryOptions) ([]Result, error) {
	const op = "Search"
	flat, dim, err := flatten(op, "queries", queries)
	if err != nil {
		return nil, err
	}
	ptr, err := x.shared(op)
	if err != nil {
		return nil, err
	}
	defer x.mu.RUnlock()
	var size, cdim C.size_t
	if err := call(op, func() C.tt_status { return C.tt_index_size(ptr, &size) }); err != nil {
		return nil, err
	}
	if len(queries) == 0 {
		if err := call(op, func() C.tt_status { return C.tt_index_dim(ptr, &cdim) }); err != nil {
			return nil, err
		}
		dim = int(cdim)
	}
	copts, k, free, err := opts.toC(op, len(queries), int(size))
	if err != nil {
		return nil, err
	}
	defer free()
	return searchInto(op, len(queries), k, &copts, func(keys *C.int64_t, scores *C.float) C.tt_status {
		return C.tt_index_search(ptr, floatPtr(flat), C.size_t(len(queries)), C.size_t(dim), &copts, keys, scores)
	})
}

// BuildANN builds the approximate index (as Model.BuildANN; opts.CalibrationQueries must be
// nil): its recall@100 is calibrated on calibration (query vectors, up to 256 used) or, when
// nil, on a sample of the vectors. Saved with the index; Add rebuilds it. Needs the index to
// itself.
func (x *Index) BuildANN(opts *ANNOptions, calibration [][]float32) error {
	const op = "BuildANN"
	if opts == nil {
		opts = &ANNOptions{}
	}
	if opts.CalibrationQueries != nil {
		return argError(op, "CalibrationQueries is a table of query features, which an index cannot embed; pass calibration vectors")
	}
	if opts.Partitions < 0 || opts.Iterations < 0 {
		return argError(op, "Partitions (%d) and Iterations (%d) must be >= 0", opts.Partitions, opts.Iterations)
	}
	flat, dim, err := flatten(op, "calibration", calibration)
	if err != nil {
		return err
	}
	ptr, err := x.exclusive(op)
	if err != nil {
		return err
	}
	defer x.mu.Unlock()
	var c C.tt_ann_options
	C.tt_ann_options_init(&c)
	c.partitions = C.uint32_t(opts.Partitions)
	if opts.Iterations > 0 {
		c.iterations = C.uint32_t(opts.Iterations)
	}
	c.seed = C.uint64_t(opts.Seed)
	if calibration == nil {
		return call(op, func() C.tt_status { return C.tt_index_build_ann(ptr, &c, nil, 0, 0) })
	}
	if len(calibration) == 0 {
		var cdim C.size_t
		C.tt_index_dim(ptr, &cdim)
		dim = int(cdim)
	}
	return call(op, func() C.tt_status {
		return C.tt_index_build_ann(ptr, &c, floatPtr(flat), C.size_t(len(calibration)), C.size_t(dim))
	})
}

// DropANN removes the approximate index. Needs the index to itself.
func (x *Index) DropANN() error {
	const op = "DropANN"
	ptr, err := x.exclusive(op)
	if err != nil {
		return err
	}
	defer x.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_index_drop_ann(ptr) })
}

// ANNInfo returns the partitions of the approximate index (0: none) and the breadth its
// calibration found for a recall target.
func (x *Index) ANNInfo(recall float64) (partitions, probe int, err error) {
	const op = "ANNInfo"
	ptr, err := x.shared(op)
	if err != nil {
		return 0, 0, err
	}
	defer x.mu.RUnlock()
	var p, pr C.size_t
	if err := call(op, func() C.tt_status { return C.tt_index_ann_info(ptr, C.double(recall), &p, &pr) }); err != nil {
		return 0, 0, err
	}
	return int(p), int(pr), nil
}

// Save writes the index as a model file holding only an index section (and the approximate
// index's), atomically. Of opts only the compression settings apply.
func (x *Index) Save(path string, opts *SaveOptions) error {
	const op = "Save"
	ptr, err := x.shared(op)
	if err != nil {
		return err
	}
	defer x.mu.RUnlock()
	c := opts.toC()
	c.include_optimizer = 0
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return call(op, func() C.tt_status { return C.tt_index_save(ptr, cpath, &c) })
}
