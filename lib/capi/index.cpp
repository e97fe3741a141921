// The standalone vector index through the C API (tt_index_*): a VectorIndex and the thread pool
// its searches and approximate-index builds run on.
#include <cstring>
#include <memory>

#include "base/parallel.h"
#include "capi/ann_options.h"
#include "capi/api_guard.h"
#include "capi/read_options.h"
#include "capi/search_options.h"
#include "index/vector_index.h"
#include "persist/vector_index_file.h"

using namespace tt;
using capi::require;

struct tt_index {
  VectorIndex index;
  std::unique_ptr<ThreadPool> pool;
};

namespace {

struct IndexOptions {
  std::optional<Precision> precision;  // nullopt: TT_PRECISION_KEEP
  int threads = 0;
};

IndexOptions index_options(const tt_index_options* given) {
  const tt_index_options o = capi::read_options(given, tt_index_options_init, "tt_index_options");
  IndexOptions out;
  out.precision = capi::precision_arg(o.precision, "tt_index_options.precision");
  out.threads = capi::range_field<int32_t>(o.threads, 0, TT_MAX_THREADS, "tt_index_options.threads");
  return out;
}

tt_index* make_handle(VectorIndex index, const IndexOptions& o) {
  auto h = std::unique_ptr<tt_index>(new tt_index{std::move(index), std::make_unique<ThreadPool>(o.threads)});
  return h.release();
}

}  // namespace

extern "C" {

TT_API void tt_index_options_init(tt_index_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->precision = TT_PRECISION_KEEP;
}

TT_API tt_status tt_index_create(size_t dim, const tt_index_options* options, tt_index** out) {
  return TT_GUARD({
    require(out, "out");
    const IndexOptions o = index_options(options);
    if (dim == 0 || dim > TT_INDEX_MAX_DIM)
      fail(ErrorKind::invalid_argument,
           "dim is " + std::to_string(dim) + "; it must be in 1.." + std::to_string(TT_INDEX_MAX_DIM));
    *out = make_handle(VectorIndex(dim, o.precision.value_or(Precision::f32)), o);
  });
}

TT_API void tt_index_free(tt_index* index) { delete index; }

TT_API tt_status tt_index_add(tt_index* index, const float* vectors, size_t n, size_t dim, const int64_t* keys) {
  return TT_GUARD({
    require(index, "index");
    capi::check_query_vectors(vectors, n, dim, index->index.dim(), "vectors", "the index");
    index->index.add(vectors, n, keys, *index->pool);
  });
}

TT_API tt_status tt_index_search(const tt_index* index, const float* queries, size_t n, size_t dim,
                                 const tt_query_options* options, int64_t* keys, float* scores) {
  return TT_GUARD({
    require(index, "index");
    require(keys, "keys");
    require(scores, "scores");
    const SearchOptions so = capi::search_options(options, n);
    // The string-key filters are for a model's candidate keys; ignoring them here would
    // return what the caller filtered out. A tt_index's int64 keys go in exclude and allow.
    const tt_query_options o = capi::read_options(options, tt_query_options_init, "tt_query_options");
    if (o.exclude_keys || o.exclude_key_counts || o.allow_key_count)
      fail(ErrorKind::invalid_argument,
           "tt_query_options: exclude_keys and allow_keys are a model's candidate keys; a tt_index's "
           "int64 keys go in exclude and allow");
    capi::check_query_vectors(queries, n, dim, index->index.dim(), "queries", "the index");
    index->index.search(queries, n, so, keys, scores, *index->pool);
  });
}

TT_API tt_status tt_index_size(const tt_index* index, size_t* out) {
  return TT_GUARD({
    require(index, "index");
    *require(out, "out") = index->index.size();
  });
}

TT_API tt_status tt_index_dim(const tt_index* index, size_t* out) {
  return TT_GUARD({
    require(index, "index");
    *require(out, "out") = index->index.dim();
  });
}

TT_API tt_status tt_index_precision(const tt_index* index, int32_t* out) {
  return TT_GUARD({
    require(index, "index");
    *require(out, "out") = static_cast<int32_t>(index->index.precision());
  });
}

TT_API tt_status tt_index_build_ann(tt_index* index, const tt_ann_options* options, const float* calibration, size_t n,
                                    size_t dim) {
  return TT_GUARD({
    require(index, "index");
    tt_ann_options o{};
    const PartitionBuildOptions bo = capi::ann_build_options(options, &o);
    if (o.calibration_queries)
      fail(ErrorKind::invalid_argument,
           "tt_ann_options.calibration_queries is a table of query features, which a vector index cannot embed; pass "
           "calibration vectors to tt_index_build_ann instead");
    if (!calibration) return index->index.build_ann(bo, nullptr, *index->pool);
    capi::check_query_vectors(calibration, n, dim, index->index.dim(), "calibration", "the index");
    Matrix q(n, dim);
    if (n) std::memcpy(q.data(), calibration, n * dim * sizeof(float));
    index->index.build_ann(bo, &q, *index->pool);
  });
}

TT_API tt_status tt_index_drop_ann(tt_index* index) {
  return TT_GUARD({
    require(index, "index");
    index->index.drop_ann();
  });
}

TT_API tt_status tt_index_ann_info(const tt_index* index, double recall, size_t* partitions, size_t* probe) {
  return TT_GUARD({
    require(index, "index");
    const PartitionIndex* p = index->index.index().partitions();
    if (partitions) *partitions = p ? p->partitions() : 0;
    if (probe) *probe = p ? p->probe_for_recall(recall) : 0;
  });
}

TT_API tt_status tt_index_save(const tt_index* index, const char* path, const tt_save_options* options) {
  return TT_GUARD({
    require(index, "index");
    require(path, "path");
    const tt_save_options o = capi::read_options(options, tt_save_options_init, "tt_save_options");
    const int level = capi::range_field(o.compression_level, 0, 19, "tt_save_options.compression_level");
    save_vector_index(path, index->index, level);
  });
}

TT_API tt_status tt_index_load(const char* path, const tt_index_options* options, tt_index** out) {
  return TT_GUARD({
    require(path, "path");
    require(out, "out");
    const IndexOptions o = index_options(options);
    VectorIndex index = load_vector_index(path);
    if (o.precision) index.set_precision(*o.precision);
    *out = make_handle(std::move(index), o);
  });
}

}  // extern "C"
