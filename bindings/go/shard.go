package twotower

/*
#include <stdlib.h>
#include <twotower/twotower.h>
*/
import "C"

import (
	"math"
	"unsafe"
)

// ShardInfo says which slice of a catalogue a model's index holds (sharded serving,
// docs/distributed.md): shard Index of Count holds the catalogue rows Offset ..
// Offset+Candidates-1 of CatalogueSize. A model that is not a shard is shard 0 of 1.
type ShardInfo struct {
	Index, Count                      int
	Offset, Candidates, CatalogueSize int64
}

// Shard keeps shard index (0..count-1) of count (1..65536, at most the candidates) of the
// candidate index: catalogue rows [index*N/count, (index+1)*N/count). An approximate index is
// rebuilt over the slice. From then on the model's candidate ids are catalogue rows: Query
// returns them, Exclude and Allow take them (ids of other shards are ignored), and
// CandidateKey, CandidateID and CandidateEmbeddings use them; keys of other shards in
// ExcludeKeys and AllowKeys are skipped. Train (warm start) and RebuildIndex refuse a shard,
// and a shard cannot be sharded again. It waits for the calls in progress and runs alone.
func (m *Model) Shard(index, count int) error {
	const op = "Shard"
	if index < 0 || count < 0 || index > math.MaxUint32 || count > math.MaxUint32 {
		return argError(op, "shard %d of %d: index and count must be in 0..2^32-1", index, count)
	}
	ptr, err := m.exclusive(op)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	return call(op, func() C.tt_status { return C.tt_model_shard(ptr, C.uint32_t(index), C.uint32_t(count)) })
}

// ShardInfo returns the model's shard (shard 0 of 1 for a whole model).
func (m *Model) ShardInfo() (ShardInfo, error) {
	const op = "ShardInfo"
	ptr, err := m.shared(op)
	if err != nil {
		return ShardInfo{}, err
	}
	defer m.mu.RUnlock()
	var c C.tt_shard_info
	C.tt_shard_info_init(&c)
	if err := call(op, func() C.tt_status { return C.tt_model_shard_info(ptr, &c) }); err != nil {
		return ShardInfo{}, err
	}
	return ShardInfo{Index: int(c.index), Count: int(c.count), Offset: int64(c.offset),
		Candidates: int64(c.candidates), CatalogueSize: int64(c.catalogue_size)}, nil
}

// MergeTopK merges the shards' answers to the same queries into the top k per query:
// answers[s] is what shard s's Query (or QueryVectors) returned, one Result per query row.
// Each merged Result holds the k best entries, higher score first, ties to the lower id, as
// the unsharded model orders them: merging the exact answers (each shard asked for at least
// k) of every shard gives the unsharded model's answer, ids and scores bit for bit. It is
// tt_topk_merge; an id in two answers of one row (shards that overlap) is an error.
func MergeTopK(answers [][]Result, k int) ([]Result, error) {
	const op = "MergeTopK"
	if err := checkABI(); err != nil {
		return nil, err
	}
	if k < 1 {
		return nil, argError(op, "k is %d; it must be >= 1", k)
	}
	rows, kIn := 0, 0
	for s, a := range answers {
		if s == 0 {
			rows = len(a)
		} else if len(a) != rows {
			return nil, argError(op, "answer %d has %d rows, answer 0 has %d", s, len(a), rows)
		}
		for r, res := range a {
			if len(res.IDs) != len(res.Scores) {
				return nil, argError(op, "answer %d, row %d: %d ids and %d scores", s, r, len(res.IDs), len(res.Scores))
			}
			kIn = max(kIn, len(res.IDs))
		}
	}
	// Every answer padded to kIn entries (id -1 marks an empty slot), in C memory.
	n := max(len(answers), 1)
	idLists := cArray[*C.int64_t](n)
	scoreLists := cArray[*C.float](n)
	defer freeArray(idLists)
	defer freeArray(scoreLists)
	for s, a := range answers {
		ids := cArray[C.int64_t](max(rows*kIn, 1))
		scores := cArray[C.float](max(rows*kIn, 1))
		defer freeArray(ids)
		defer freeArray(scores)
		for r, res := range a {
			for j := 0; j < kIn; j++ {
				if j < len(res.IDs) {
					ids[r*kIn+j], scores[r*kIn+j] = C.int64_t(res.IDs[j]), C.float(res.Scores[j])
				} else {
					ids[r*kIn+j], scores[r*kIn+j] = -1, C.float(math.Inf(-1))
				}
			}
		}
		idLists[s], scoreLists[s] = &ids[0], &scores[0]
	}
	outIDs := make([]int64, max(rows*k, 1))
	outScores := make([]float32, max(rows*k, 1))
	err := call(op, func() C.tt_status {
		return C.tt_topk_merge(&idLists[0], &scoreLists[0], C.size_t(len(answers)), C.size_t(rows), C.size_t(kIn),
			C.size_t(k), (*C.int64_t)(unsafe.Pointer(&outIDs[0])), (*C.float)(unsafe.Pointer(&outScores[0])))
	})
	if err != nil {
		return nil, err
	}
	return splitRows(outIDs, outScores, rows, k), nil
}
