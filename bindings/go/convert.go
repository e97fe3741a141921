package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Precision is a storage precision of a model's index or weights (docs/convert.md). The zero
// value, PrecisionKeep, leaves a part as it is.
type Precision int

// Storage precisions. A value outside these is passed on to the library, which refuses it
// naming the field.
const (
	PrecisionKeep    Precision = iota // leave the part at the precision it has
	PrecisionFloat32                  // 4 bytes a value, as trained
	PrecisionBF16                     // bfloat16, round to nearest even
	PrecisionFP16                     // IEEE binary16; values beyond 65504 are refused
	PrecisionInt8                     // symmetric, one float32 scale per row: max|x| / 127
)

// toC maps a Precision to a tt_precision value (PrecisionKeep: TT_PRECISION_KEEP).
func (p Precision) toC() C.int32_t { return C.int32_t(int(p) - 1) }

func precisionFromC(v C.int32_t) Precision { return Precision(int(v) + 1) }

// String returns "keep", "float32", "bf16", "fp16" or "int8".
func (p Precision) String() string {
	switch p {
	case PrecisionKeep:
		return "keep"
	case PrecisionFloat32:
		return "float32"
	case PrecisionBF16:
		return "bf16"
	case PrecisionFP16:
		return "fp16"
	case PrecisionInt8:
		return "int8"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// ConvertOptions are the options of Convert; a nil *ConvertOptions means the defaults (an
// upgrade to the current format version, compression level 3).
type ConvertOptions struct {
	IndexPrecision   Precision // the candidate index; PrecisionKeep (zero) leaves it
	WeightsPrecision Precision // embedding tables and dense kernels (biases stay float32)
	Strip            bool      // drop the optimizer state and the training metadata
	CompressionLevel int       // zstd level 1..19; 0 means the default, 3
	Uncompressed     bool      // store every section raw (zstd level 0); overrides CompressionLevel
	// ANN: 1 builds (or rebuilds) the approximate index with ANNPartitions partitions (0:
	// about 2 sqrt(candidates)), -1 drops it, 0 keeps what the file has.
	ANN           int
	ANNPartitions int
	// ShardCount > 0 writes shard ShardIndex (0..ShardCount-1) of ShardCount of the candidate
	// index, as (*Model).Shard does (sharded serving, docs/distributed.md).
	ShardIndex, ShardCount int
}

// Convert reads a model file of any format version this library reads, applies opts and
// writes the current format version to output, atomically: on any failure no output file
// appears. output must not be the input file. It is `twotower convert` (docs/convert.md).
func Convert(input, output string, opts *ConvertOptions) error {
	const op = "Convert"
	if err := checkABI(); err != nil {
		return err
	}
	cin, err := cString(op, "input path", input)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cin))
	cout, err := cString(op, "output path", output)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cout))
	var c C.tt_convert_options
	C.tt_convert_options_init(&c)
	if opts != nil {
		c.index_precision = opts.IndexPrecision.toC()
		c.weights_precision = opts.WeightsPrecision.toC()
		if opts.Strip {
			c.strip = 1
		}
		if opts.CompressionLevel != 0 {
			c.compression_level = C.int32_t(opts.CompressionLevel)
		}
		if opts.Uncompressed {
			c.compression_level = 0
		}
		c.ann = C.int32_t(opts.ANN)
		if opts.ANNPartitions < 0 {
			return argError(op, "ANNPartitions is %d; it must be >= 0", opts.ANNPartitions)
		}
		c.ann_partitions = C.uint32_t(opts.ANNPartitions)
		if opts.ShardIndex < 0 || opts.ShardCount < 0 || opts.ShardIndex > math.MaxUint32 || opts.ShardCount > math.MaxUint32 {
			return argError(op, "ShardIndex (%d) and ShardCount (%d) must be in 0..2^32-1", opts.ShardIndex, opts.ShardCount)
		}
		c.shard_index, c.shard_count = C.uint32_t(opts.ShardIndex), C.uint32_t(opts.ShardCount)
	}
	return call(op, func() C.tt_status { return C.tt_model_convert(cin, cout, &c) })
}

// Quantize rounds the candidate index and/or the weights to a precision (PrecisionKeep leaves
// a part as it is). The model then answers as a file saved at that precision would, and Save
// stores it so. It waits for the calls in progress and runs alone.
func (m *Model) Quantize(index, weights Precision) error {
	const op = "Quantize"
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	var c C.tt_quantize_options
	C.tt_quantize_options_init(&c)
	c.index_precision, c.weights_precision = index.toC(), weights.toC()
	return call(op, func() C.tt_status { return C.tt_model_quantize_v2(ptr, &c) })
}

// Strip drops the optimizer state and the training metadata (data source, seed, epochs,
// metrics, ...); the answers do not change. It runs alone.
func (m *Model) Strip() error {
	const op = "Strip"
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_model_strip(ptr) })
}

// Precision returns the precisions a Save would store the index and the weights at (never
// PrecisionKeep).
func (m *Model) Precision() (index, weights Precision, err error) {
	const op = "Precision"
	ptr, err := m.shared(op)
	if err != nil {
		return 0, 0, err
	}
	defer m.mu.RUnlock()
	var ci, cw C.int32_t
	if err := call(op, func() C.tt_status { return C.tt_model_precision(ptr, &ci, &cw) }); err != nil {
		return 0, 0, err
	}
	return precisionFromC(ci), precisionFromC(cw), nil
}

// TopKOverlap returns the mean, over the rows of queries, of the share of the top-k
// candidates that m and other both return (1.0: the same sets). Both must index the same
// candidates in the same order, e.g. a model and its quantized copy.
func (m *Model) TopKOverlap(other *Model, queries *Table, k int) (float64, error) {
	const op = "TopKOverlap"
	if k < 1 {
		return 0, argError(op, "k is %d; it must be >= 1", k)
	}
	ptr, err := m.shared(op)
	if err != nil {
		return 0, err
	}
	defer m.mu.RUnlock()
	optr := ptr
	if other != m { // a second read lock on the same model could deadlock behind a writer
		if optr, err = other.shared(op); err != nil {
			return 0, err
		}
		defer other.mu.RUnlock()
	}
	qptr, err := queries.read(op, "queries table")
	if err != nil {
		return 0, err
	}
	defer queries.mu.RUnlock()
	var out C.double
	if err := call(op, func() C.tt_status { return C.tt_model_topk_overlap(ptr, optr, qptr, C.size_t(k), &out) }); err != nil {
		return 0, err
	}
	return float64(out), nil
}

// ExportOptions are the options of Export; a nil *ExportOptions (or the zero value) writes
// every file.
type ExportOptions struct {
	// Queries, if not nil: also write query_embeddings.npy/.fvecs, one row per row of it.
	Queries         *Table
	NoNPY           bool // no .npy embeddings
	NoFvecs         bool // no .fvecs embeddings
	NoCandidates    bool // no candidate_embeddings.* and candidate_keys.txt
	NoWeights       bool // no weights.safetensors
	NoPreprocessing bool // no spec.json, preprocessing.json and vocab/
}

// Export writes the model into directory (created if needed) as files NumPy, Faiss and
// PyTorch read: candidate_embeddings.npy/.fvecs, candidate_keys.txt, weights.safetensors,
// spec.json, preprocessing.json and vocab/ (docs/convert.md). Import reads them back.
func (m *Model) Export(directory string, opts *ExportOptions) error {
	const op = "Export"
	ptr, err := m.shared(op)
	if err != nil {
		return err
	}
	defer m.mu.RUnlock()
	cdir, err := cString(op, "directory", directory)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cdir))
	var c C.tt_export_options
	C.tt_export_options_init(&c)
	if opts != nil {
		if opts.Queries != nil {
			qptr, err := opts.Queries.read(op, "queries table")
			if err != nil {
				return err
			}
			defer opts.Queries.mu.RUnlock()
			c.queries = qptr
		}
		c.npy, c.fvecs = cBool(!opts.NoNPY), cBool(!opts.NoFvecs)
		c.candidates, c.weights, c.preprocessing = cBool(!opts.NoCandidates), cBool(!opts.NoWeights), cBool(!opts.NoPreprocessing)
	}
	return call(op, func() C.tt_status { return C.tt_model_export(ptr, cdir, &c) })
}

func cBool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// ImportOptions are the options of Import; a nil *ImportOptions reads everything from the
// directory.
type ImportOptions struct {
	SpecPath          string // "": <directory>/spec.json
	PreprocessingPath string // "": <directory>/preprocessing.json when it exists
	WeightsPath       string // .safetensors or .npz; "": <directory>/weights.safetensors, else weights.npz
	// Candidates, if not nil: the index is built from these rows by the imported candidate
	// tower; else it is read from candidate_embeddings.npy (or .fvecs) and candidate_keys.txt.
	Candidates *Table
	// Interactions, with Candidates: features with no stored state are fitted on them.
	Interactions *Table
	Threads      int // for building the index; 0: all cores
}

// Import makes a model from a spec, preprocessing state and weights: the files Export writes,
// or those of a model trained elsewhere (docs/convert.md). directory may be "" when every
// path is given. Errors name the file and the tensor.
func Import(directory string, opts *ImportOptions) (*Model, error) {
	const op = "Import"
	if err := checkABI(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &ImportOptions{}
	}
	var strs []*C.char
	defer func() {
		for _, s := range strs {
			C.free(unsafe.Pointer(s))
		}
	}()
	// optional returns NULL for "" and a C copy of s otherwise.
	optional := func(what, s string) (*C.char, error) {
		if s == "" {
			return nil, nil
		}
		cs, err := cString(op, what, s)
		if err == nil {
			strs = append(strs, cs)
		}
		return cs, err
	}
	var c C.tt_import_options
	C.tt_import_options_init(&c)
	cdir, err := optional("directory", directory)
	if err != nil {
		return nil, err
	}
	if c.spec_path, err = optional("SpecPath", opts.SpecPath); err != nil {
		return nil, err
	}
	if c.preprocessing_path, err = optional("PreprocessingPath", opts.PreprocessingPath); err != nil {
		return nil, err
	}
	if c.weights_path, err = optional("WeightsPath", opts.WeightsPath); err != nil {
		return nil, err
	}
	if opts.Candidates != nil {
		if c.candidates, err = opts.Candidates.read(op, "candidates table"); err != nil {
			return nil, err
		}
		defer opts.Candidates.mu.RUnlock()
	}
	if opts.Interactions != nil && opts.Interactions == opts.Candidates {
		c.interactions = c.candidates // one read lock per table
	} else if opts.Interactions != nil {
		if c.interactions, err = opts.Interactions.read(op, "interactions table"); err != nil {
			return nil, err
		}
		defer opts.Interactions.mu.RUnlock()
	}
	c.threads = C.int32_t(opts.Threads)
	var ptr *C.tt_model
	if err := call(op, func() C.tt_status { return C.tt_model_import(cdir, &c, &ptr) }); err != nil {
		return nil, err
	}
	return newModel(ptr), nil
}
