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

// A shard (shard_keys) skips keys it does not hold: they may be another shard's.
static void add_key_filters(const tt_query_options* options, const CandidateIndex& index, size_t n, bool shard_keys,
                            SearchOptions& so, KeyFilters& f) {
  const tt_query_options o = read_options(options, tt_query_options_init, "tt_query_options");
  if ((o.exclude_keys == nullptr) != (o.exclude_key_counts == nullptr))
    fail(ErrorKind::invalid_argument, "tt_query_options: exclude_keys and exclude_key_counts go together");
  const bool ignore_unknown =
      capi::flag_field(o.ignore_unknown_keys, "tt_query_options.ignore_unknown_keys") || shard_keys;
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

// A search of the model's index with the caller's options: on a shard, the caller's ids
// (catalogue rows) become index positions for the search and the results catalogue rows again.
class ModelSearch {
 public:
  ModelSearch(const tt_model* model, const tt_query_options* options, size_t n)
      : rm_(model->trained()), offset_(model->candidate_offset()), so_(capi::search_options(options, n)) {
    if (offset_) {
      exclude_storage_.resize(so_.exclude.size());
      for (size_t i = 0; i < so_.exclude.size(); ++i) {
        for (int64_t id : so_.exclude[i]) exclude_storage_[i].push_back(local(id));
        so_.exclude[i] = exclude_storage_[i];
      }
      for (int64_t id : so_.allow) allow_storage_.push_back(local(id));
      if (!so_.allow.empty()) so_.allow = allow_storage_;
    }
    add_key_filters(options, rm_.index(), n, rm_.shard().has_value(), so_, keys_);
  }
  void run(const float* queries, size_t n, int64_t* ids, float* scores, ThreadPool& pool) const {
    rm_.index().search(queries, n, so_, ids, scores, pool);
    if (offset_)
      for (size_t i = 0; i < n * so_.k; ++i)
        if (ids[i] >= 0) ids[i] += offset_;
  }

 private:
  // An id below the shard is out of range here (and ignored) as -1 is.
  int64_t local(int64_t id) const { return id >= offset_ ? id - offset_ : -1; }
  const RetrievalModel& rm_;
  int64_t offset_;
  SearchOptions so_;
  std::vector<std::vector<int64_t>> exclude_storage_;
  std::vector<int64_t> allow_storage_;
  KeyFilters keys_;
};

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
    const int64_t first = model->candidate_offset();
    if (id < first || static_cast<size_t>(id - first) >= index.size())
      fail(ErrorKind::invalid_argument, "candidate id " + std::to_string(id) + " is outside " + std::to_string(first) +
                                            ".." + std::to_string(first + static_cast<int64_t>(index.size()) - 1));
    *key = index.keys()[static_cast<size_t>(id - first)].c_str();
  });
}

TT_API tt_status tt_model_candidate_id(const tt_model* model, const char* key, int64_t* id) {
  return TT_GUARD({
    require(model, "model");
    require(key, "key");
    require(id, "id");
    const int64_t position = model->trained().index().key_position(key);
    *id = position < 0 ? -1 : position + model->candidate_offset();
  });
}

TT_API tt_status tt_model_candidate_embeddings(const tt_model* model, size_t first, size_t count, float* out,
                                               size_t capacity) {
  return TT_GUARD({
    require(model, "model");
    if (count) require(out, "out");
    const CandidateIndex& index = model->trained().index();
    const size_t offset = static_cast<size_t>(model->candidate_offset());
    if (first < offset || first - offset > index.size() || count > index.size() - (first - offset))
      fail(ErrorKind::invalid_argument, "candidates " + std::to_string(first) + " + " + std::to_string(count) +
                                            " are beyond the index's " + std::to_string(index.size()) +
                                            (offset ? " from " + std::to_string(offset) : std::string()));
    first -= offset;
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
    const ModelSearch search(model, options, n);
    Matrix q;
    rm.embed_queries(t, q);
    search.run(q.data(), n, ids, scores, *model->pool);
  });
}

TT_API tt_status tt_model_query_vectors(const tt_model* model, const float* vectors, size_t n, size_t dim,
                                        const tt_query_options* options, int64_t* ids, float* scores) {
  return TT_GUARD({
    require(model, "model");
    require(ids, "ids");
    require(scores, "scores");
    const RetrievalModel& rm = model->trained();
    const ModelSearch search(model, options, n);
    capi::check_query_vectors(vectors, n, dim, rm.model().embedding_dim(), "vectors", "the model");
    search.run(vectors, n, ids, scores, *model->pool);
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
    capi::refuse_shard(*model, "rebuild its index");
    model->model->build_index(catalogue->to_table(), *model->pool);
    model->refresh_texts();
  });
}

}  // extern "C"
