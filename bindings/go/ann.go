package twotower

/*
#include <twotower/twotower.h>
*/
import "C"

// ANNOptions are the options of BuildANN; a nil *ANNOptions means the defaults.
type ANNOptions struct {
	Partitions int    // 0: about 2 sqrt(candidates)
	Iterations int    // k-means iterations; 0: 12
	Seed       uint64 // k-means seed
	// CalibrationQueries (query tower columns, up to 256 rows) are the queries whose recall
	// the calibration measures; nil: a sample of the candidates.
	CalibrationQueries *Table
}

// BuildANN builds (or rebuilds) the approximate index: k-means partitions of the candidate
// embeddings, scanned with an int8 copy and re-scored in float32, its recall@100 calibrated
// at build time. It is saved with the model (an optional section older readers skip), and
// index rebuilds keep it. Needs the model to itself.
func (m *Model) BuildANN(opts *ANNOptions) error {
	const op = "BuildANN"
	if opts == nil {
		opts = &ANNOptions{}
	}
	if opts.Partitions < 0 || opts.Iterations < 0 {
		return argError(op, "Partitions (%d) and Iterations (%d) must be >= 0", opts.Partitions, opts.Iterations)
	}
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	var c C.tt_ann_options
	C.tt_ann_options_init(&c)
	c.partitions = C.uint32_t(opts.Partitions)
	if opts.Iterations > 0 {
		c.iterations = C.uint32_t(opts.Iterations)
	}
	c.seed = C.uint64_t(opts.Seed)
	if opts.CalibrationQueries != nil {
		qptr, err := opts.CalibrationQueries.read(op, "calibration queries table")
		if err != nil {
			return err
		}
		defer opts.CalibrationQueries.mu.RUnlock()
		c.calibration_queries = qptr
	}
	return call(op, func() C.tt_status { return C.tt_model_build_ann(ptr, &c) })
}

// DropANN removes the approximate index (index rebuilds then make none). Needs the model to
// itself.
func (m *Model) DropANN() error {
	const op = "DropANN"
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_model_drop_ann(ptr) })
}

// ANNInfo returns the partitions of the approximate index (0: none) and the breadth
// (QueryOptions.Probe) its calibration found for a recall target.
func (m *Model) ANNInfo(recall float64) (partitions, probe int, err error) {
	const op = "ANNInfo"
	ptr, err := m.shared(op)
	if err != nil {
		return 0, 0, err
	}
	defer m.mu.RUnlock()
	var p, pr C.size_t
	if err := call(op, func() C.tt_status { return C.tt_model_ann_info(ptr, C.double(recall), &p, &pr) }); err != nil {
		return 0, 0, err
	}
	return int(p), int(pr), nil
}
