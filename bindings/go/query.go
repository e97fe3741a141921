package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import "unsafe"

// QueryOptions are the options of Query; a nil *QueryOptions means k = 10 and no filters.
type QueryOptions struct {
	// K is the number of results per query: 0 means 10. K may exceed the number of
	// candidates; a query then gets every candidate that is not filtered out.
	K int
	// Exclude, if not nil, holds one list of candidate ids per query row (e.g. the items the
	// user already rated); they are never returned for that row.
	Exclude [][]int64
	// Allow, if not nil, is an allow-list for all rows: only these candidate ids may be
	// returned. A non-nil empty slice allows nothing. Ids outside 0..NumCandidates-1 are
	// ignored in Exclude and Allow alike.
	Allow []int64
	// Approximate search, for a model with an approximate index (BuildANN; without one the
	// answer is exact). Recall in (0, 1) scans the partitions calibrated to reach that
	// recall@100; Probe > 0 sets that breadth directly; Rescore is the shortlist re-scored in
	// float32 (0: max(2k, 32)). Exclude and Allow filter the search itself: a row gets K
	// results whenever K candidates pass them.
	Recall  float64
	Probe   int
	Rescore int
	// ExcludeKeys and AllowKeys are Exclude and Allow by candidate key (CandidateKey) rather
	// than by id: ids are positions in the index and move when it is rebuilt, keys do not. A
	// key covers every candidate that has it. They add to the id lists: a candidate is
	// excluded when its id or its key is listed, and, with both allow lists, allowed when
	// either lists it; a non-nil empty AllowKeys (without Allow) allows nothing. A key the index does not hold
	// is an error naming it, unless IgnoreUnknownKeys (for items that left the catalogue).
	ExcludeKeys       [][]string
	AllowKeys         []string
	IgnoreUnknownKeys bool
}

// cStrings copies strings into C memory as an array of C strings; free it with freeCStrings.
func cStrings(op, what string, values []string) ([]*C.char, error) {
	out := cArray[*C.char](len(values))
	for i, v := range values {
		cs, err := cString(op, what, v)
		if err != nil {
			freeCStrings(out)
			return nil, err
		}
		out[i] = cs
	}
	return out, nil
}

func freeCStrings(s []*C.char) {
	for _, p := range s {
		C.free(unsafe.Pointer(p)) // free(NULL) is a no-op
	}
	freeArray(s)
}

// setKeyFilters fills the key fields of copts in C memory; call the returned function to free it.
func setKeyFilters(op string, opts *QueryOptions, rows int, copts *C.tt_query_options) (func(), error) {
	var frees []func()
	free := func() {
		for _, f := range frees {
			f()
		}
	}
	if opts.ExcludeKeys != nil {
		if len(opts.ExcludeKeys) != rows {
			return free, argError(op, "ExcludeKeys has %d lists for %d query rows", len(opts.ExcludeKeys), rows)
		}
		lists := cArray[**C.char](rows)
		frees = append(frees, func() { freeArray(lists) })
		counts := cArray[C.size_t](rows)
		frees = append(frees, func() { freeArray(counts) })
		for i, keys := range opts.ExcludeKeys {
			ckeys, err := cStrings(op, "exclude key", keys)
			if err != nil {
				return free, err
			}
			frees = append(frees, func() { freeCStrings(ckeys) })
			lists[i] = firstOrNil(ckeys)
			counts[i] = C.size_t(len(keys))
		}
		copts.exclude_keys = firstOrNil(lists)
		copts.exclude_key_counts = firstOrNil(counts)
	}
	if opts.AllowKeys != nil {
		if len(opts.AllowKeys) == 0 {
			copts.allow_key_count = 0
			if copts.allow_count == 0 {
				// Allow nothing, the C way (an id no candidate has).
				none := cArray[C.int64_t](1)
				frees = append(frees, func() { freeArray(none) })
				none[0] = -1
				copts.allow = &none[0]
				copts.allow_count = 1
			}
		} else {
			ckeys, err := cStrings(op, "allow key", opts.AllowKeys)
			if err != nil {
				return free, err
			}
			frees = append(frees, func() { freeCStrings(ckeys) })
			copts.allow_keys = &ckeys[0]
			copts.allow_key_count = C.size_t(len(ckeys))
		}
	}
	if opts.IgnoreUnknownKeys {
		copts.ignore_unknown_keys = 1
	}
	return free, nil
}

// Result is the answer to one query row: candidate ids (for Index.Search, keys) and their
// scores, best first (ties to the lower id). It holds at most K entries, fewer when fewer
// candidates are left.
type Result struct {
	IDs    []int64
	Scores []float32
}

// Query returns the top candidates for each row of queries, which holds the query tower's
// columns (an unknown id maps to the out-of-vocabulary embedding, as in training). Queries
// run concurrently with each other.
func (m *Model) Query(queries *Table, opts *QueryOptions) ([]Result, error) {
	const op = "Query"
	ptr, err := m.shared(op)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	qptr, err := queries.read(op, "queries table")
	if err != nil {
		return nil, err
	}
	defer queries.mu.RUnlock()
	var rows, numCandidates C.size_t
	if err := call(op, func() C.tt_status { return C.tt_table_num_rows(qptr, &rows) }); err != nil {
		return nil, err
	}
	if err := call(op, func() C.tt_status { return C.tt_model_num_candidates(ptr, &numCandidates) }); err != nil {
		return nil, err
	}
	copts, k, free, err := opts.toC(op, int(rows), int(numCandidates))
	if err != nil {
		return nil, err
	}
	defer free()
	return searchInto(op, int(rows), k, &copts, func(ids *C.int64_t, scores *C.float) C.tt_status {
		return C.tt_model_query(ptr, qptr, &copts, ids, scores)
	})
}

// toC converts opts (nil: the defaults) for rows query rows against limit candidates or
// vectors. k is clamped to limit (at least 1): slots beyond it could only say "no result".
// The lists go to C in C memory (C may not hold Go pointers), released by free.
func (opts *QueryOptions) toC(op string, rows, limit int) (copts C.tt_query_options, k int, free func(), err error) {
	free = func() {}
	if opts == nil {
		opts = &QueryOptions{}
	}
	if opts.K < 0 {
		return copts, 0, free, argError(op, "K is %d; it must be >= 0 (0 means 10)", opts.K)
	}
	if opts.Exclude != nil && len(opts.Exclude) != rows {
		return copts, 0, free, argError(op, "Exclude has %d lists for %d query rows", len(opts.Exclude), rows)
	}
	if opts.Probe < 0 || opts.Rescore < 0 {
		return copts, 0, free, argError(op, "Probe (%d) and Rescore (%d) must be >= 0", opts.Probe, opts.Rescore)
	}
	C.tt_query_options_init(&copts)
	k = opts.K
	if k == 0 {
		k = int(copts.k)
	}
	// Let the library see a k >= 1 so that an untrained model reports its own error.
	if n := max(limit, 1); k > n {
		k = n
	}
	copts.k = C.size_t(k)
	copts.recall = C.double(opts.Recall)
	copts.probe = C.size_t(opts.Probe)
	copts.rescore = C.size_t(opts.Rescore)

	var arrays []func()
	free = func() {
		for _, f := range arrays {
			f()
		}
	}
	if opts.Exclude != nil {
		total := 0
		for _, e := range opts.Exclude {
			total += len(e)
		}
		data := cArray[C.int64_t](total)
		lists := cArray[*C.int64_t](rows)
		counts := cArray[C.size_t](rows)
		arrays = append(arrays, func() { freeArray(data); freeArray(lists); freeArray(counts) })
		off := 0
		for i, e := range opts.Exclude {
			for j, id := range e {
				data[off+j] = C.int64_t(id)
			}
			if len(e) > 0 {
				lists[i] = &data[off]
			}
			counts[i] = C.size_t(len(e))
			off += len(e)
		}
		copts.exclude = firstOrNil(lists)
		copts.exclude_counts = firstOrNil(counts)
	}
	if opts.Allow != nil {
		allow := opts.Allow
		if len(allow) == 0 {
			allow = []int64{-1} // the C way to say "allow nothing"
		}
		callow := cArray[C.int64_t](len(allow))
		arrays = append(arrays, func() { freeArray(callow) })
		for i, id := range allow {
			callow[i] = C.int64_t(id)
		}
		copts.allow = &callow[0]
		copts.allow_count = C.size_t(len(callow))
	}
	// After the id lists: an empty AllowKeys looks at allow_count.
	freeKeys, err := setKeyFilters(op, opts, rows, &copts)
	arrays = append(arrays, freeKeys)
	if err != nil {
		free()
		return copts, 0, func() {}, err
	}
	return copts, k, free, nil
}

// searchInto runs search (one C call writing n x k ids and scores) and splits its answer into
// one Result per row, each ending at the first empty slot (id -1).
func searchInto(op string, n, k int, copts *C.tt_query_options,
	search func(ids *C.int64_t, scores *C.float) C.tt_status) ([]Result, error) {
	// At least one slot, so that an empty batch is checked by the library rather than refused
	// for its NULL output.
	ids := make([]int64, max(n*k, 1))
	scores := make([]float32, max(n*k, 1))
	copts.capacity = C.size_t(len(ids))
	err := call(op, func() C.tt_status {
		return search((*C.int64_t)(unsafe.Pointer(&ids[0])), (*C.float)(unsafe.Pointer(&scores[0])))
	})
	if err != nil {
		return nil, err
	}
	return splitRows(ids, scores, n, k), nil
}

// splitRows splits n rows of k slots into one Result per row, each ending at the first empty
// slot (id -1).
func splitRows(ids []int64, scores []float32, n, k int) []Result {
	results := make([]Result, n)
	for i := range results {
		rowIDs, rowScores := ids[i*k:(i+1)*k:(i+1)*k], scores[i*k:(i+1)*k:(i+1)*k]
		found := 0
		for found < k && rowIDs[found] != -1 {
			found++
		}
		results[i] = Result{IDs: rowIDs[:found:found], Scores: rowScores[:found:found]}
	}
	return results
}
