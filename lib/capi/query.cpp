#include <cstring>
#include <limits>

#include "base/checked_math.h"
#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "index/candidate_index.h"

using namespace tt;
using capi::read_options;
using capi::require;

static size_t checked_capacity(size_t rows, size_t dim, size_t capacity, const char* what) {
  if (rows != 0 && dim > SIZE_MAX / rows) fail(ErrorKind::invalid_argument, std::string(what) + ": size overflow");
  if (capacity < rows * dim)
    fail(ErrorKind::invalid_argument, std::string(what) + ": the buffer holds " + std::to_string(capacity) +
                                          " floats, " + std::to_string(rows) + " rows x " + std::to_string(dim) +
                                          " need " + std::to_string(rows * dim));
  return rows * dim;
}

extern "C" {

TT_API void tt_query_options_init(tt_query_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->k = 10;
}

TT_API tt_status tt_model_embedding_dim(const tt_model* model, size_t* out) {
  return TT_GUARD({
    require(model, "model");
    require(out, "out");
    *out = model->spec.query.layers.back();
  });
}

TT_API tt_status tt_model_num_candidates(const tt_model* model, size_t* out) {
  return TT_GUARD({
    require(model, "model");
    require(out, "out");
    *out = model->model ? model->model->index().size() : 0;
  });
}

TT_API tt_status tt_model_candidate_key(const tt_model* model, int64_t id, const char** key) {
  return TT_GUARD({
    require(model, "model");
    require(key, "key");
    const auto& index = model->trained().index();
    if (id < 0 || static_cast<size_t>(id) >= index.size())
      fail(ErrorKind::invalid_argument, "candidate id " + std::to_string(id) + " is outside 0.." +
                                            std::to_string(static_cast<int64_t>(index.size()) - 1));
    *key = index.keys()[static_cast<size_t>(id)].c_str();
  });
}

TT_API tt_status tt_model_candidate_id(const tt_model* model, const char* key, int64_t* id) {
  return TT_GUARD({
    require(model, "model");
    require(key, "key");
    require(id, "id");
    *id = model->trained().index().key_position(key);
  });
}

TT_API tt_status tt_model_query(const tt_model* model, const tt_table* queries, const tt_query_options* options,
                                int64_t* ids, float* scores) {
  return TT_GUARD({
    require(model, "model");
    require(queries, "queries");
    require(ids, "ids");
    require(scores, "scores");
    // The fields every caller has (k .. allow_count) are required; later ones are optional.
    constexpr size_t kFirstSize = offsetof(tt_query_options, allow_count) + sizeof(size_t);
    if (options && options->struct_size < kFirstSize)
      fail(ErrorKind::invalid_argument, "tt_query_options.struct_size is " + std::to_string(options->struct_size) +
                                            "; initialise it with tt_query_options_init");
    const tt_query_options o = read_options(options, tt_query_options_init, "tt_query_options");
    const RetrievalModel& rm = model->trained();
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
    const Table t = queries->to_table();
    const size_t n = t.num_rows();
    const size_t slots = checked_mul(n, o.k, "tt_query_options.k: rows x k");
    (void)checked_mul(slots, sizeof(int64_t), "tt_query_options.k: rows x k x 8 bytes");
    if (o.capacity && slots > o.capacity)
      fail(ErrorKind::invalid_argument, "tt_query_options.capacity is " + std::to_string(o.capacity) + " slots; " +
                                            std::to_string(n) + " rows x k " + std::to_string(o.k) + " need " +
                                            std::to_string(slots));
    Matrix q;
    rm.embed_queries(t, q);
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
    rm.index().search(q.data(), n, so, ids, scores, *model->pool);
  });
}

TT_API tt_status tt_model_embed_queries(const tt_model* model, const tt_table* queries, float* out, size_t capacity) {
  return TT_GUARD({
    require(model, "model");
    require(queries, "queries");
    require(out, "out");
    const RetrievalModel& rm = model->trained();
    const Table t = queries->to_table();
    const size_t need = checked_capacity(t.num_rows(), rm.model().embedding_dim(), capacity, "tt_model_embed_queries");
    Matrix q;
    rm.embed_queries(t, q);
    if (need) std::memcpy(out, q.data(), need * sizeof(float));
  });
}

TT_API tt_status tt_model_embed_candidates(const tt_model* model, const tt_table* candidates, float* out,
                                           size_t capacity) {
  return TT_GUARD({
    require(model, "model");
    require(candidates, "candidates");
    require(out, "out");
    const RetrievalModel& rm = model->trained();
    const Table t = candidates->to_table();
    const size_t need =
        checked_capacity(t.num_rows(), rm.model().embedding_dim(), capacity, "tt_model_embed_candidates");
    EncodedBatch enc = rm.model().candidate().encode(t);
    Matrix c;
    TowerScratch scratch;
    rm.model().candidate().embed(enc, c, scratch);
    if (need) std::memcpy(out, c.data(), need * sizeof(float));
  });
}

TT_API tt_status tt_model_rebuild_index(tt_model* model, const tt_table* catalogue) {
  return TT_GUARD({
    require(model, "model");
    require(catalogue, "catalogue");
    (void)model->trained();
    model->model->build_index(catalogue->to_table(), *model->pool);
    model->refresh_texts();
  });
}

}  // extern "C"
