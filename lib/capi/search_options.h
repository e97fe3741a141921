// tt_query_options as the engine's SearchOptions, checked once for every search entry point
// (tt_model_query, tt_model_query_vectors, tt_index_search).
#pragma once

#include <cstddef>

#include "index/candidate_index.h"
#include "twotower/twotower.h"

namespace tt::capi {

// The caller's options (NULL: the defaults) for n query rows: k in 1..kMaxTopK, recall in
// [0, 1], exclude and exclude_counts together, allow with allow_count, n * k within capacity
// (when given) and addressable; otherwise invalid_argument naming the field. The lists' spans
// point into the caller's arrays.
SearchOptions search_options(const tt_query_options* options, size_t n);

// Query vectors from the caller: `vectors` non-NULL (unless n is 0), dim equal to `expected`,
// every value finite; otherwise invalid_argument naming `what` and `owner` ("the model").
void check_query_vectors(const float* vectors, size_t n, size_t dim, size_t expected, const char* what,
                         const char* owner);

}  // namespace tt::capi
