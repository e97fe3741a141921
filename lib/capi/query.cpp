#include <cstring>
#include <limits>

#include "base/checked_math.h"
#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/search_options.h"
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
    const RetrievalModel& rm = model->trained();
    const Table t = queries->to_table();
    const size_t n = t.num_rows();
    const SearchOptions so = capi::search_options(options, n);
    Matrix q;
    rm.embed_queries(t, q);
    rm.index().search(q.data(), n, so, ids, scores, *model->pool);
  });
}

TT_API tt_status tt_model_query_vectors(const tt_model* model, const float* vectors, size_t n, size_t dim,
                                        const tt_query_options* options, int64_t* ids, float* scores) {
  return TT_GUARD({
    require(model, "model");
    require(ids, "ids");
    require(scores, "scores");
    const RetrievalModel& rm = model->trained();
    const SearchOptions so = capi::search_options(options, n);
    capi::check_query_vectors(vectors, n, dim, rm.model().embedding_dim(), "vectors", "the model");
    rm.index().search(vectors, n, so, ids, scores, *model->pool);
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
