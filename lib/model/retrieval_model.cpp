#include "model/retrieval_model.h"

#include <xxhash.h>
#include <cstdio>

#include "base/error.h"
#include "base/parallel.h"

namespace tt {

std::vector<std::string> candidate_keys(const Table& catalogue, const std::string& id_column) {
  const Column& c = catalogue.column(id_column);
  if (c.dtype() == DType::string) return c.strings();
  if (c.dtype() == DType::int64) {
    std::vector<std::string> keys;
    keys.reserve(c.size());
    for (int64_t v : c.ints()) keys.push_back(std::to_string(v));
    return keys;
  }
  fail(ErrorKind::invalid_argument, "candidate id column '" + id_column + "' must be string or int64");
}

void RetrievalModel::build_index(const Table& catalogue, ThreadPool& pool, const Table* queries) {
  const bool had_ann = index_.partitions() != nullptr;
  EncodedBatch enc = model_.candidate().encode(catalogue);
  Matrix emb;
  model_.candidate().embed(enc, emb, pool);
  round_to_precision(emb.data(), emb.rows(), emb.cols(), candidate_precision_, "candidate embeddings");
  index_ = CandidateIndex(candidate_keys(catalogue, model_.spec().candidate_id_column), std::move(emb));
  shard_.reset();
  apply_search_precision();
  const bool want = ann_policy_ == AnnPolicy::keep ||
                    (ann_policy_ == AnnPolicy::automatic && (had_ann || index_.size() >= kAutoAnnCandidates));
  if (want && index_.size() > 0) build_ann(ann_options_, pool, queries);
}

void RetrievalModel::build_ann(const PartitionBuildOptions& options, ThreadPool& pool, const Table* queries) {
  if (index_.size() == 0) fail(ErrorKind::invalid_argument, "approximate index: the model has no candidate index");
  PartitionBuildOptions o = options;
  o.calibration_queries = nullptr;
  Matrix q;
  if (queries && queries->num_rows() > 0) {
    // Up to calibration_sample rows spread evenly over the table.
    const size_t rows = queries->num_rows(), m = std::min(rows, o.calibration_sample);
    std::vector<size_t> pick(m);
    for (size_t i = 0; i < m; ++i) pick[i] = i * rows / m;
    embed_queries(queries->take(pick), q);
    o.calibration_queries = &q;
  }
  index_.build_partitions(o, pool);
  ann_options_ = options;
  ann_options_.calibration_queries = nullptr;
  ann_policy_ = AnnPolicy::keep;
}

void RetrievalModel::drop_ann() {
  index_.set_partitions(nullptr);
  ann_policy_ = AnnPolicy::none;
}

void RetrievalModel::set_search_precision(std::optional<Precision> p) {
  if (p == Precision::fp16)
    fail(ErrorKind::invalid_argument, "search precision: fp16 has no fast scan (use f32, bf16 or int8)");
  search_precision_ = p;
  apply_search_precision();
}

void RetrievalModel::apply_search_precision() {
  Precision p = search_precision_.value_or(candidate_precision_);
  if (p == Precision::fp16) p = Precision::f32;
  if (index_.scan_precision() != p) index_.set_scan_precision(p);
}

void RetrievalModel::embed_queries(const Table& queries, Matrix& out) const {
  EncodedBatch enc = model_.query().encode(queries);
  TowerScratch scratch;
  model_.query().embed(enc, out, scratch);
}

std::string table_fingerprint(const Table& t) {
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  auto add = [&](const void* p, size_t n) { XXH64_update(st, p, n); };
  for (const auto& c : t.columns()) {
    add(c.name().data(), c.name().size() + 1);
    const uint8_t type = static_cast<uint8_t>(c.dtype());
    add(&type, 1);
    const uint64_t n = c.size();
    add(&n, 8);
    switch (c.dtype()) {
      case DType::string:
        for (const auto& s : c.strings()) {
          const uint64_t len = s.size();
          add(&len, 8);
          add(s.data(), s.size());
        }
        break;
      case DType::int64:
        add(c.ints().data(), c.ints().size() * 8);
        break;
      case DType::float32:
        add(c.floats().data(), c.floats().size() * 4);
        break;
    }
  }
  const uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace tt
