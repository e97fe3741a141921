#include "index/vector_index.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "base/checked_math.h"
#include "base/error.h"

namespace tt {

namespace {

// The int64 a key string holds when it is exactly the decimal form std::to_string writes.
std::optional<int64_t> decimal_key(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || std::to_string(v) != s) return std::nullopt;
  return v;
}

}  // namespace

VectorIndex::VectorIndex(size_t dim, Precision precision) : precision_(precision) {
  if (dim == 0 || dim > kMaxDim)
    fail(ErrorKind::invalid_argument,
         "vector index: dimension " + std::to_string(dim) + " is outside 1.." + std::to_string(kMaxDim));
  if (!precision_name(precision))
    fail(ErrorKind::invalid_argument,
         "vector index: precision " + std::to_string(static_cast<uint32_t>(precision)) + " is unknown");
  index_ = CandidateIndex({}, Matrix(0, dim));
}

VectorIndex::VectorIndex(CandidateIndex index, Precision precision) : index_(std::move(index)), precision_(precision) {
  if (index_.dim() == 0 || index_.dim() > kMaxDim)
    fail(ErrorKind::invalid_argument,
         "vector index: dimension " + std::to_string(index_.dim()) + " is outside 1.." + std::to_string(kMaxDim));
  keys_.reserve(index_.size());
  for (const std::string& s : index_.keys()) {
    const auto k = decimal_key(s);
    if (!k) {
      positional_ = true;
      break;
    }
    keys_.push_back(*k);
  }
  if (positional_) {
    keys_.resize(index_.size());
    for (size_t i = 0; i < keys_.size(); ++i) keys_[i] = static_cast<int64_t>(i);
  }
  if (index_.partitions()) ann_options_ = PartitionBuildOptions{};
  apply_scan_precision();
}

void VectorIndex::check_finite(const float* x, size_t rows, size_t cols, const std::string& what) {
  const size_t n = checked_mul(rows, cols, "vectors: rows x dimension");
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      fail(ErrorKind::invalid_argument, what + ": row " + std::to_string(i / cols) + ", column " +
                                            std::to_string(i % cols) + " is " +
                                            (std::isnan(x[i]) ? "NaN" : "infinite") + "; every value must be finite");
}

void VectorIndex::apply_scan_precision() {
  index_.set_scan_precision(precision_ == Precision::bf16 || precision_ == Precision::int8 ? precision_
                                                                                           : Precision::f32);
}

void VectorIndex::add(const float* x, size_t n, const int64_t* keys, ThreadPool& pool) {
  if (n == 0) return;
  if (keys && positional_)
    fail(ErrorKind::invalid_argument,
         "vector index: this index's keys are row numbers (its file keyed the rows by text such as '" +
             index_.keys().front() + "'): add vectors to it without keys");
  const size_t d = dim(), old = size();
  const size_t total = checked_add(old, n, "vector index: rows");
  check_finite(x, n, d, "vectors");
  if (keys)
    for (size_t i = 0; i < n; ++i)
      if (keys[i] == -1)
        fail(ErrorKind::invalid_argument,
             "keys[" + std::to_string(i) + "] is -1, which marks empty result slots; use another key");
  Matrix m(total, d);
  std::copy(index_.embeddings().data(), index_.embeddings().data() + old * d, m.data());
  std::copy(x, x + n * d, m.row(old));
  round_to_precision(m.row(old), n, d, precision_, "vectors");
  std::vector<std::string> names = index_.keys();
  names.reserve(total);
  std::vector<int64_t> new_keys = keys_;
  new_keys.reserve(total);
  for (size_t i = 0; i < n; ++i) {
    const int64_t k = keys ? keys[i] : static_cast<int64_t>(old + i);
    new_keys.push_back(k);
    names.push_back(std::to_string(k));
  }
  CandidateIndex rebuilt(std::move(names), std::move(m));
  if (ann_options_) rebuilt.build_partitions(*ann_options_, pool);
  index_ = std::move(rebuilt);
  keys_ = std::move(new_keys);
  apply_scan_precision();
}

void VectorIndex::set_precision(Precision p) {
  if (!precision_name(p))
    fail(ErrorKind::invalid_argument,
         "vector index: precision " + std::to_string(static_cast<uint32_t>(p)) + " is unknown");
  if (p == precision_) return;
  Matrix m = index_.embeddings();
  round_to_precision(m.data(), m.rows(), m.cols(), p, "vector index");
  auto partitions = index_.shared_partitions();
  CandidateIndex rebuilt(index_.keys(), std::move(m));
  // The partitions stay valid: they only group rows; the scan copy is rebuilt from the values.
  if (partitions)
    rebuilt.set_partitions(std::make_shared<PartitionIndex>(
        PartitionIndex::from_parts(rebuilt.embeddings(), partitions->centroids(), partitions->assignment(),
                                   partitions->calibration(), partitions->calibration_k())));
  index_ = std::move(rebuilt);
  precision_ = p;
  apply_scan_precision();
}

void VectorIndex::build_ann(PartitionBuildOptions options, const Matrix* calibration, ThreadPool& pool) {
  if (size() == 0)
    fail(ErrorKind::invalid_argument, "vector index: an approximate index needs vectors; add some first");
  if (options.partitions > size())
    fail(ErrorKind::invalid_argument, "vector index: " + std::to_string(options.partitions) + " partitions for " +
                                          std::to_string(size()) + " vectors");
  if (calibration) {
    if (calibration->cols() != dim())
      fail(ErrorKind::invalid_argument, "calibration queries have dimension " + std::to_string(calibration->cols()) +
                                            ", the index " + std::to_string(dim()));
    check_finite(calibration->data(), calibration->rows(), calibration->cols(), "calibration queries");
  }
  options.calibration_queries = calibration;
  index_.build_partitions(options, pool);
  options.calibration_queries = nullptr;  // rebuilds after an add calibrate on a sample
  ann_options_ = options;
}

void VectorIndex::drop_ann() {
  index_.set_partitions(nullptr);
  ann_options_.reset();
}

void VectorIndex::positions_of(int64_t key, std::vector<int64_t>& out) const {
  if (positional_) {
    if (key >= 0 && static_cast<size_t>(key) < size()) out.push_back(key);
    return;
  }
  const std::vector<int64_t> p = index_.key_positions(std::to_string(key));
  out.insert(out.end(), p.begin(), p.end());
}

void VectorIndex::search(const float* queries, size_t n, const SearchOptions& by_key, int64_t* keys, float* scores,
                         ThreadPool& pool) const {
  if (!by_key.exclude.empty() && by_key.exclude.size() != n)
    fail(ErrorKind::invalid_argument,
         "search: " + std::to_string(by_key.exclude.size()) + " exclusion lists for " + std::to_string(n) + " queries");
  SearchOptions o;
  o.k = by_key.k;
  o.recall = by_key.recall;
  o.probe = by_key.probe;
  o.rescore = by_key.rescore;
  std::vector<std::vector<int64_t>> excluded(by_key.exclude.size());
  for (size_t i = 0; i < excluded.size(); ++i) {
    for (int64_t k : by_key.exclude[i]) positions_of(k, excluded[i]);
    o.exclude.emplace_back(excluded[i]);
  }
  std::vector<int64_t> allowed;
  if (!by_key.allow.empty()) {
    for (int64_t k : by_key.allow) positions_of(k, allowed);
    // An allow-list none of whose keys is here allows nothing (an empty list would allow all).
    if (allowed.empty()) allowed.push_back(-1);
    o.allow = allowed;
  }
  index_.search(queries, n, o, keys, scores, pool);
  const size_t slots = checked_mul(n, o.k, "search: queries x k");
  for (size_t i = 0; i < slots; ++i)
    if (keys[i] >= 0) keys[i] = keys_[static_cast<size_t>(keys[i])];
}

}  // namespace tt
