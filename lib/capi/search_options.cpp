#include "capi/search_options.h"

#include <string>

#include "base/checked_math.h"
#include "base/error.h"
#include "capi/read_options.h"
#include "index/vector_index.h"
#include "model/spec.h"

namespace tt::capi {

SearchOptions search_options(const tt_query_options* options, size_t n) {
  // The fields every caller has (k .. allow_count) are required; later ones are optional
  // (capi/struct_sizes.h).
  const tt_query_options o = read_options(options, tt_query_options_init, "tt_query_options");
  if (o.k == 0 || o.k > kMaxTopK)
    fail(ErrorKind::invalid_argument, "tt_query_options.k is " + std::to_string(o.k) +
                                          "; k must be positive and at most " + std::to_string(kMaxTopK));
  if (!(o.recall >= 0.0 && o.recall <= 1.0))
    fail(ErrorKind::invalid_argument, "tt_query_options.recall must be in [0, 1], got " + std::to_string(o.recall));
  if ((o.exclude == nullptr) != (o.exclude_counts == nullptr))
    fail(ErrorKind::invalid_argument, "tt_query_options: exclude and exclude_counts go together");
  if (o.allow_count && !o.allow)
    fail(ErrorKind::invalid_argument,
         "tt_query_options.allow is NULL but allow_count is " + std::to_string(o.allow_count));
  const size_t slots = checked_mul(n, o.k, "tt_query_options.k: rows x k");
  (void)checked_mul(slots, sizeof(int64_t), "tt_query_options.k: rows x k x 8 bytes");
  if (o.capacity && slots > o.capacity)
    fail(ErrorKind::invalid_argument, "tt_query_options.capacity is " + std::to_string(o.capacity) + " slots; " +
                                          std::to_string(n) + " rows x k " + std::to_string(o.k) + " need " +
                                          std::to_string(slots));
  SearchOptions so;
  so.k = o.k;
  so.recall = o.recall;
  so.probe = o.probe;
  so.rescore = o.rescore;
  if (o.exclude) {
    so.exclude.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (o.exclude_counts[i] && !o.exclude[i])
        fail(ErrorKind::invalid_argument, "tt_query_options.exclude[" + std::to_string(i) + "] is NULL");
      so.exclude[i] = std::span<const int64_t>(o.exclude[i], o.exclude_counts[i]);
    }
  }
  if (o.allow_count) so.allow = std::span<const int64_t>(o.allow, o.allow_count);
  return so;
}

void check_query_vectors(const float* vectors, size_t n, size_t dim, size_t expected, const char* what,
                         const char* owner) {
  if (dim != expected)
    fail(ErrorKind::invalid_argument, std::string(what) + ": dim is " + std::to_string(dim) + "; " + owner + " has " +
                                          std::to_string(expected) + " values per vector");
  if (n && !vectors) fail(ErrorKind::invalid_argument, std::string(what) + " is NULL");
  if (n) VectorIndex::check_finite(vectors, n, dim, what);
}

}  // namespace tt::capi
