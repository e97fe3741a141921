// Merging top-k lists of disjoint parts of one catalogue (the shards of sharded serving,
// docs/distributed.md) into the top-k over all of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tt {

// lists.size() lists (ids[s], scores[s]), each holding `rows` rows of `k_in` entries as
// CandidateIndex::search writes them (ids of one catalogue, -1 with -inf in empty slots),
// merged per row into out_ids[rows * k] and out_scores[rows * k]: best first, higher score then
// lower id, as CandidateIndex::search orders (so merging the shards' exact answers gives the
// unsharded answer); slots beyond the entries hold -1 and -inf. Order within a list does not
// matter. Throws invalid_argument naming the list, row and slot for a NaN score, an id below
// -1, or an id that two entries of one row share (the lists' catalogues overlap).
void merge_topk(std::span<const int64_t* const> ids, std::span<const float* const> scores, size_t rows, size_t k_in,
                size_t k, int64_t* out_ids, float* out_scores);

}  // namespace tt
