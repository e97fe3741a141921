#include <cstring>
#include <limits>

#include "base/checked_math.h"
#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/search_options.h"
#include "capi/table_handle.h"
#include "data/text.h"
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

// Appends the positions of `count` keys to `out`; an unknown key fails naming the field (which
// field() spells, only then) and its place unless `ignore_unknown`.
template <class FieldName>
static void add_key_positions(const CandidateIndex& index, const char* const* keys, size_t count, bool ignore_unknown,
                              FieldName field, std::vector<int64_t>& out) {
  if (count && !keys) fail(ErrorKind::invalid_argument, field() + " is NULL but its count is " + std::to_string(count));
  for (size_t j = 0; j < count; ++j) {
    if (!keys[j]) fail(ErrorKind::invalid_argument, field() + "[" + std::to_string(j) + "] is NULL");
    const std::vector<int64_t> found = index.key_positions(keys[j]);
    if (found.empty() && !ignore_unknown)
      fail(ErrorKind::invalid_argument,
           field() + "[" + std::to_string(j) + "] is " + quote_for_message(keys[j]) +
               ", a key the index does not hold (set ignore_unknown_keys to skip such keys)");
    out.insert(out.end(), found.begin(), found.end());
  }
}

// Adds the key filters of the caller's options (exclude_keys, allow_keys) to `so`, which
// capi::search_options made from the same options: keys resolved to index positions, appended to
// the id lists already there. Spans that gain keys point into the storage here afterwards.
struct KeyFilters {
  std::vector<std::vector<int64_t>> exclude_storage;
  std::vector<int64_t> allow_storage;
};

static void add_key_filters(const tt_query_options* options, const CandidateIndex& index, size_t n, SearchOptions& so,
                            KeyFilters& f) {
  const tt_query_options o = read_options(options, tt_query_options_init, "tt_query_options");
  if ((o.exclude_keys == nullptr) != (o.exclude_key_counts == nullptr))
    fail(ErrorKind::invalid_argument, "tt_query_options: exclude_keys and exclude_key_counts go together");
  const bool ignore_unknown = capi::flag_field(o.ignore_unknown_keys, "tt_query_options.ignore_unknown_keys");
  if (o.exclude_keys) {
    if (so.exclude.empty()) so.exclude.resize(n);
    f.exclude_storage.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (!o.exclude_key_counts[i]) continue;
      auto& v = f.exclude_storage[i];
      v.assign(so.exclude[i].begin(), so.exclude[i].end());
      add_key_positions(
          index, o.exclude_keys[i], o.exclude_key_counts[i], ignore_unknown,
          [i] { return "tt_query_options.exclude_keys[" + std::to_string(i) + "]"; }, v);
      so.exclude[i] = v;
    }
  }
  if (o.allow_key_count) {
    f.allow_storage.assign(so.allow.begin(), so.allow.end());
    add_key_positions(
        index, o.allow_keys, o.allow_key_count, ignore_unknown,
        [] { return std::string("tt_query_options.allow_keys"); }, f.allow_storage);
    // An allow-list was given: if none of it is in the index, nothing may be returned.
    if (f.allow_storage.empty()) f.allow_storage.push_back(-1);
    so.allow = f.allow_storage;
  }
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

TT_API tt_status tt_model_candidate_embeddings(const tt_model* model, size_t first, size_t count, float* out,
                                               size_t capacity) {
  return TT_GUARD({
    require(model, "model");
    if (count) require(out, "out");
    const CandidateIndex& index = model->trained().index();
    if (first > index.size() || count > index.size() - first)
      fail(ErrorKind::invalid_argument, "candidates " + std::to_string(first) + " + " + std::to_string(count) +
                                            " are beyond the index's " + std::to_string(index.size()));
    const size_t dim = model->trained().model().embedding_dim();
    const size_t need = checked_capacity(count, dim, capacity, "tt_model_candidate_embeddings");
    if (need) std::memcpy(out, index.embeddings().row(first), need * sizeof(float));
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
    SearchOptions so = capi::search_options(options, n);
    KeyFilters key_filters;
    add_key_filters(options, rm.index(), n, so, key_filters);
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
    SearchOptions so = capi::search_options(options, n);
    KeyFilters key_filters;
    add_key_filters(options, rm.index(), n, so, key_filters);
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
