package twotower

/*
#include <stdint.h>
#include <stdlib.h>
#include <twotower/twotower.h>
void tt_go_set_progress(tt_train_options* options, uintptr_t handle);
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"runtime/cgo"
	"unsafe"
)

// Metrics are FactorizedTopK accuracies: Accuracy[i] is the top-K[i] accuracy over Examples
// held-out (query, candidate) pairs. Baseline[i] is the most-popular list's top-K[i] accuracy
// on the same rows (candidates ranked by their count in the training rows, one list for every
// query); nil when the counts are unknown.
type Metrics struct {
	K        []int
	Accuracy []float64
	Examples uint64
	Baseline []float64
}

// NotBeatingBaseline returns the k at which the model does not beat the most-popular
// baseline (empty: it beats it everywhere, or there is no baseline).
func (m Metrics) NotBeatingBaseline() []int {
	var out []int
	for i, k := range m.K {
		if i < len(m.Baseline) && !(m.Accuracy[i] > m.Baseline[i]) {
			out = append(out, k)
		}
	}
	return out
}

// At returns the top-k accuracy; ok is false if k was not evaluated.
func (m Metrics) At(k int) (accuracy float64, ok bool) {
	for i, kk := range m.K {
		if kk == k {
			return m.Accuracy[i], true
		}
	}
	return 0, false
}

func (m Metrics) String() string {
	s := ""
	for i, k := range m.K {
		s += fmt.Sprintf("top-%d %.4f  ", k, m.Accuracy[i])
	}
	return s + fmt.Sprintf("(%d examples)", m.Examples)
}

func metricsFromC(c *C.tt_metrics) Metrics {
	n := int(c.count)
	if n > C.TT_MAX_K {
		n = C.TT_MAX_K
	}
	m := Metrics{K: make([]int, n), Accuracy: make([]float64, n), Examples: uint64(c.examples)}
	for i := 0; i < n; i++ {
		m.K[i] = int(c.k[i])
		m.Accuracy[i] = float64(c.accuracy[i])
	}
	if c.has_baseline != 0 {
		m.Baseline = make([]float64, n)
		for i := 0; i < n; i++ {
			m.Baseline[i] = float64(c.baseline_accuracy[i])
		}
	}
	return m
}

// Progress is what TrainOptions.Progress receives after every batch and once more at the end
// of every epoch (EpochDone; then Batch == Batches).
type Progress struct {
	Epoch, Epochs  int // 1-based epoch
	Batch, Batches int
	EpochDone      bool
	Loss           float64  // mean per-example loss of the finished epoch (EpochDone only)
	Metrics        *Metrics // set when the finished epoch was evaluated
}

// EvalAtEnd, as TrainOptions.EvalEvery, evaluates only after the last epoch.
const EvalAtEnd = -1

// TrainOptions are the options of Train; a nil *TrainOptions means the spec's settings.
type TrainOptions struct {
	Epochs    int    // 0: the spec's
	EvalEvery int    // 0: the spec's; n > 0: every n epochs; EvalAtEnd: after the last epoch only
	Seed      uint64 // the shuffling seed, used if SeedSet
	SeedSet   bool
	Threads   int // 0: the model's (SetThreads; all cores by default); else the model keeps it
	// Reset starts over (refits the preprocessing, re-initialises the weights) on a trained or
	// loaded model; by default such a model trains further (warm start, see Train).
	Reset bool
	// Progress, if set, is called on the training thread after every batch and epoch. To stop
	// training, cancel Train's context. It must not call methods of the model being trained
	// or append to its tables: those wait for Train to finish, which would never happen.
	Progress func(Progress)
}

// trainState is what the C progress callback reaches through its cgo.Handle.
type trainState struct {
	ctx      context.Context
	progress func(Progress)
	panicked bool
	panicVal any
}

//export ttGoProgress
func ttGoProgress(p *C.tt_progress, handle C.uintptr_t) C.int {
	st := cgo.Handle(handle).Value().(*trainState)
	if st.progress != nil && !st.panicked {
		report := Progress{Epoch: int(p.epoch), Epochs: int(p.epochs), Batch: int(p.batch), Batches: int(p.batches),
			EpochDone: p.epoch_done != 0}
		if report.EpochDone {
			report.Loss = float64(p.loss)
		}
		if p.has_metrics != 0 {
			m := metricsFromC(&p.metrics)
			report.Metrics = &m
		}
		func() {
			// A panic must not unwind through the C++ frames below: stop training, re-panic in Train.
			defer func() {
				if r := recover(); r != nil {
					st.panicked, st.panicVal = true, r
				}
			}()
			st.progress(report)
		}()
	}
	if st.panicked || st.ctx.Err() != nil {
		return 1
	}
	return 0
}

// Train fits the preprocessing, splits the interactions as the spec says, trains, evaluates
// on the held-out rows and builds the candidate index from candidates; it returns the last
// evaluation. It waits for the calls in progress on the model and runs alone.
//
// A trained or loaded model trains further (warm start) unless opts.Reset: from its weights
// and, when it has them (trained here, or loaded from a file saved with IncludeOptimizer), its
// optimizer state and shuffling stream, so 10 epochs, a save, a load and 10 more give the
// model of 20 epochs bit for bit (same data, seed and thread count). The vocabularies are not
// refitted: ids they lack map to the out-of-vocabulary row or their hash bucket. SeedSet
// starts a new shuffling stream.
//
// Cancelling ctx stops training after the current batch: Train then returns an error that
// wraps ctx.Err() (and matches StatusCancelled), and the model keeps what it had before.
// A nil ctx means context.Background().
func (m *Model) Train(ctx context.Context, interactions, candidates *Table, opts *TrainOptions) (Metrics, error) {
	const op = "Train"
	return m.train(ctx, op, opts, func() (func(*C.tt_model, *C.tt_train_options, *C.tt_metrics) C.tt_status, func(), error) {
		iptr, cptr, unlock, err := readPair(op, interactions, candidates)
		if err != nil {
			return nil, nil, err
		}
		return func(ptr *C.tt_model, copts *C.tt_train_options, cm *C.tt_metrics) C.tt_status {
			return C.tt_model_train(ptr, iptr, cptr, copts, cm)
		}, unlock, nil
	})
}

// StreamOptions are the options of TrainStreamed: a shuffle buffer, a memory limit, or both.
type StreamOptions struct {
	// ShuffleBufferRows is the most training rows held in memory (at least the batch size);
	// 0: what MemoryLimit leaves.
	ShuffleBufferRows uint64
	// MemoryLimit > 0 keeps the process's peak resident set under this many bytes whatever the
	// file's row count: the buffer is what the fixed part (the process, the catalogue, the
	// held-out rows, the model and its optimizer state, one batch) leaves. A limit that cannot
	// hold that and one batch (or ShuffleBufferRows) is refused before the first epoch.
	MemoryLimit uint64
}

// TrainStreamed trains a new model from a columnar data file larger than memory (ConvertData,
// Table.WriteColumnar) at interactionsPath, read a window at a time, with the catalogue
// candidates in memory (docs/data-format.md, "Streaming training"). The spec must declare the
// file's column types and keep data.train_rows 0. A trained model trains anew only with
// opts.Reset. Otherwise as Train: the context cancels, opts.Progress reports.
func (m *Model) TrainStreamed(ctx context.Context, interactionsPath string, candidates *Table, opts *TrainOptions,
	stream StreamOptions) (Metrics, error) {
	const op = "TrainStreamed"
	return m.train(ctx, op, opts, func() (func(*C.tt_model, *C.tt_train_options, *C.tt_metrics) C.tt_status, func(), error) {
		cpath, err := cString(op, "interactions path", interactionsPath)
		if err != nil {
			return nil, nil, err
		}
		cptr, err := candidates.read(op, "candidates table")
		if err != nil {
			C.free(unsafe.Pointer(cpath))
			return nil, nil, err
		}
		var so C.tt_stream_options
		C.tt_stream_options_init(&so)
		so.shuffle_buffer_rows = C.uint64_t(stream.ShuffleBufferRows)
		so.memory_limit = C.uint64_t(stream.MemoryLimit)
		return func(ptr *C.tt_model, copts *C.tt_train_options, cm *C.tt_metrics) C.tt_status {
				return C.tt_model_train_streamed(ptr, cpath, cptr, copts, &so, cm)
			}, func() {
				candidates.mu.RUnlock()
				C.free(unsafe.Pointer(cpath))
			}, nil
	})
}

// train runs a training call: the model to itself, the tables `prepare` locks (it returns the
// call and the unlock), the options with the progress callback, cancellation through ctx.
func (m *Model) train(ctx context.Context, op string, opts *TrainOptions,
	prepare func() (func(*C.tt_model, *C.tt_train_options, *C.tt_metrics) C.tt_status, func(), error)) (Metrics, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	ptr, err := m.exclusive(op)
	if err != nil {
		return Metrics{}, err
	}
	defer m.mu.Unlock()
	run, unlock, err := prepare()
	if err != nil {
		return Metrics{}, err
	}
	defer unlock()
	if err := ctx.Err(); err != nil {
		return Metrics{}, &Error{Op: op, Status: StatusCancelled, Message: "the context was done before training started", Err: err}
	}

	// The options live in C memory: they hold the handle as a void*, which Go memory must not.
	copts := (*C.tt_train_options)(C.malloc(C.sizeof_tt_train_options))
	defer C.free(unsafe.Pointer(copts))
	C.tt_train_options_init(copts)
	if opts != nil {
		if opts.Epochs < 0 || opts.Threads < 0 || opts.EvalEvery < EvalAtEnd {
			return Metrics{}, argError(op, "negative option (Epochs %d, Threads %d, EvalEvery %d)", opts.Epochs, opts.Threads, opts.EvalEvery)
		}
		copts.epochs = C.uint32_t(opts.Epochs)
		switch {
		case opts.EvalEvery == EvalAtEnd:
			copts.eval_every = 0
		case opts.EvalEvery > 0:
			copts.eval_every = C.int32_t(opts.EvalEvery)
		}
		if opts.SeedSet {
			copts.seed, copts.seed_set = C.uint64_t(opts.Seed), 1
		}
		copts.threads = C.int32_t(opts.Threads)
		copts.reset = cBool(opts.Reset)
	}
	st := &trainState{ctx: ctx}
	if opts != nil {
		st.progress = opts.Progress
	}
	handle := cgo.NewHandle(st)
	defer handle.Delete()
	C.tt_go_set_progress(copts, C.uintptr_t(handle))

	var cm C.tt_metrics
	C.tt_metrics_init(&cm)
	err = call(op, func() C.tt_status { return run(ptr, copts, &cm) })
	if st.panicked {
		panic(st.panicVal)
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Status == StatusCancelled && ctx.Err() != nil {
			e.Err = ctx.Err()
		}
		return Metrics{}, err
	}
	return metricsFromC(&cm), nil
}

// Evaluate computes FactorizedTopK of the trained model on the (query, candidate) rows of
// interactions against every row of candidates (or their distinct ids if distinct).
func (m *Model) Evaluate(interactions, candidates *Table, distinct bool) (Metrics, error) {
	return m.EvaluateWith(interactions, candidates, &EvalOptions{Distinct: distinct})
}

// EvalOptions are the options of EvaluateWith; nil means the defaults.
type EvalOptions struct {
	Distinct  bool  // score each distinct candidate id once
	K         []int // the k values (1..16 of them); nil: the spec's
	BatchSize int   // queries scored at once; 0: the spec's eval_batch_size
}

// EvaluateWith is Evaluate with options, on the model's threads (SetThreads).
func (m *Model) EvaluateWith(interactions, candidates *Table, opts *EvalOptions) (Metrics, error) {
	const op = "Evaluate"
	var co C.tt_eval_options
	C.tt_eval_options_init(&co)
	var ks *C.uint32_t
	if opts != nil {
		if opts.BatchSize < 0 {
			return Metrics{}, argError(op, "negative BatchSize %d", opts.BatchSize)
		}
		co.distinct_candidates = cBool(opts.Distinct)
		co.batch_size = C.size_t(opts.BatchSize)
		if opts.K != nil {
			// C memory: the struct passed to C must not point into Go memory.
			ks = (*C.uint32_t)(C.malloc(C.size_t(len(opts.K)+1) * 4))
			defer C.free(unsafe.Pointer(ks))
			values := unsafe.Slice(ks, len(opts.K))
			for i, k := range opts.K {
				if k < 1 || k > math.MaxInt32 {
					return Metrics{}, argError(op, "K[%d] is %d; it must be in 1..2147483647", i, k)
				}
				values[i] = C.uint32_t(k)
			}
			co.k, co.k_count = ks, C.size_t(len(opts.K))
		}
	}
	ptr, err := m.shared(op)
	if err != nil {
		return Metrics{}, err
	}
	defer m.mu.RUnlock()
	iptr, cptr, unlock, err := readPair(op, interactions, candidates)
	if err != nil {
		return Metrics{}, err
	}
	defer unlock()
	var cm C.tt_metrics
	C.tt_metrics_init(&cm)
	if err := call(op, func() C.tt_status { return C.tt_model_evaluate_v2(ptr, iptr, cptr, &co, &cm) }); err != nil {
		return Metrics{}, err
	}
	return metricsFromC(&cm), nil
}
