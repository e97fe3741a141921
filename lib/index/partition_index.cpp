#include "index/partition_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/error.h"
#include "base/parallel.h"
#include "base/precision.h"
#include "index/candidate_index.h"
#include "index/compact_scan.h"
#include "index/kmeans.h"
#include "nn/gemm.h"
#include "nn/row_kernels.h"

namespace tt {

namespace {

// Below this many bytes of compact copy to scan, a query stays on the calling thread: waking
// another thread costs more than it saves (and the host may be busy).
constexpr size_t kParallelScanBytes = size_t{2} << 20;

struct Hit {
  float score;
  int64_t id;
};
inline bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

// The best `cap` approximate scores seen, as a bounded min-heap on "better".
class Shortlist {
 public:
  explicit Shortlist(size_t cap) : cap_(cap) { heap_.reserve(cap); }
  bool full() const { return heap_.size() >= cap_; }
  float threshold() const { return full() ? heap_.front().score : -std::numeric_limits<float>::infinity(); }
  void offer(Hit h) {
    if (!full()) {
      heap_.push_back(h);
      std::push_heap(heap_.begin(), heap_.end(), better);
    } else if (better(h, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = h;
      std::push_heap(heap_.begin(), heap_.end(), better);
    }
  }
  std::vector<Hit>& hits() { return heap_; }

 private:
  size_t cap_;
  std::vector<Hit> heap_;
};

double dot(const float* a, const float* b, size_t d) {
  float s = 0.0f;
  for (size_t i = 0; i < d; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

// What a query may return: the call's allow-list (shared) and this query's exclusions, with the
// number of candidates of each partition that pass, so the scan knows when k have passed.
struct PartitionIndex::Query {
  const std::vector<uint8_t>* allowed = nullptr;  // empty: everything allowed
  const std::vector<uint32_t>* allowed_per_partition = nullptr;
  std::vector<int64_t> excluded;              // sorted, distinct, in range, allowed
  std::vector<uint32_t> excluded_partitions;  // sorted partition of each excluded position

  bool pass(int64_t pos) const {
    if (allowed && !allowed->empty() && !(*allowed)[static_cast<size_t>(pos)]) return false;
    return excluded.empty() || !std::binary_search(excluded.begin(), excluded.end(), pos);
  }
  size_t passing(const PartitionIndex& ix, uint32_t p) const {
    size_t n = allowed && !allowed->empty() ? (*allowed_per_partition)[p] : ix.partition_size(p);
    const auto [lo, hi] = std::equal_range(excluded_partitions.begin(), excluded_partitions.end(), p);
    return n - static_cast<size_t>(hi - lo);
  }
};

size_t PartitionIndex::default_partitions(size_t n) {
  if (n == 0) return 0;
  const size_t by_sqrt = static_cast<size_t>(std::llround(2.0 * std::sqrt(static_cast<double>(n))));
  return std::max<size_t>(1, std::min(by_sqrt, n / 16));
}

size_t PartitionIndex::default_rescore(size_t k) { return std::max<size_t>(2 * k, 32); }

PartitionIndex PartitionIndex::build(const Matrix& emb, const PartitionBuildOptions& o, ThreadPool& pool) {
  const size_t n = emb.rows(), d = emb.cols();
  if (n == 0) fail(ErrorKind::invalid_argument, "approximate index: the candidate index is empty");
  if (n > std::numeric_limits<uint32_t>::max())
    fail(ErrorKind::invalid_argument, "approximate index: more than 2^32 - 1 candidates");
  const size_t parts = o.partitions ? o.partitions : default_partitions(n);
  if (parts > n)
    fail(ErrorKind::invalid_argument, "approximate index: " + std::to_string(parts) + " partitions for " +
                                          std::to_string(n) + " candidates (at most one per candidate)");
  KMeansOptions ko;
  ko.clusters = parts;
  ko.iterations = o.iterations;
  ko.seed = o.seed;
  ko.max_rows = o.rows_per_partition ? std::max(parts, parts * o.rows_per_partition) : 0;
  Matrix centroids = kmeans(emb.data(), n, d, ko, pool);
  std::vector<uint32_t> assignment = nearest_centroids(centroids, emb.data(), n, pool);
  return from_parts(emb, std::move(centroids), std::move(assignment), {}, 0);
}

PartitionIndex PartitionIndex::from_parts(const Matrix& emb, Matrix centroids, std::vector<uint32_t> assignment,
                                          std::vector<PartitionCalibration> calibration, size_t calibration_k) {
  const size_t n = emb.rows(), d = emb.cols(), parts = centroids.rows();
  auto bad = [](const std::string& m) { fail(ErrorKind::invalid_argument, "approximate index: " + m); };
  if (assignment.size() != n)
    bad(std::to_string(assignment.size()) + " assignments for " + std::to_string(n) + " candidates");
  if (parts == 0 || parts > n) bad(std::to_string(parts) + " partitions for " + std::to_string(n) + " candidates");
  if (centroids.cols() != d)
    bad("centroids of dimension " + std::to_string(centroids.cols()) + ", the embeddings' is " + std::to_string(d));
  for (float v : centroids.span())
    if (!std::isfinite(v)) bad("a centroid has a non-finite value");
  for (size_t i = 0; i < n; ++i)
    if (assignment[i] >= parts)
      bad("candidate " + std::to_string(i) + " is in partition " + std::to_string(assignment[i]) + " of " +
          std::to_string(parts));
  for (size_t i = 0; i < calibration.size(); ++i) {
    const auto& c = calibration[i];
    if (c.probe == 0 || c.probe > parts || (i && c.probe <= calibration[i - 1].probe))
      bad("calibration point " + std::to_string(i) + " has probe " + std::to_string(c.probe) +
          " (must increase within 1.." + std::to_string(parts) + ")");
    if (!(c.recall >= 0.0f && c.recall <= 1.0f))
      bad("calibration point " + std::to_string(i) + " has recall outside [0, 1]");
  }
  if (!calibration.empty() && (calibration_k == 0 || calibration_k > n))
    bad("calibration k " + std::to_string(calibration_k) + " outside 1.." + std::to_string(n));

  PartitionIndex ix;
  ix.centroids_ = std::move(centroids);
  ix.assignment_ = std::move(assignment);
  ix.calibration_ = std::move(calibration);
  ix.calibration_k_ = ix.calibration_.empty() ? 0 : calibration_k;
  // Counting sort by partition, stable: within a partition, candidates keep their order.
  ix.offsets_.assign(parts + 1, 0);
  for (uint32_t a : ix.assignment_) ++ix.offsets_[a + 1];
  ix.groups_.assign(parts + 1, 0);
  for (size_t p = 0; p < parts; ++p) {
    const uint64_t len = ix.offsets_[p + 1];
    ix.groups_[p + 1] = ix.groups_[p] + (len + kScanGroup - 1) / kScanGroup;
    ix.offsets_[p + 1] += ix.offsets_[p];
  }
  ix.order_.resize(n);
  {
    std::vector<uint64_t> next(ix.offsets_.begin(), ix.offsets_.end() - 1);
    for (size_t i = 0; i < n; ++i) ix.order_[next[ix.assignment_[i]]++] = static_cast<uint32_t>(i);
  }
  // The int8 copy: each partition's rows quantized and packed into its own whole groups.
  const size_t total_groups = ix.groups_[parts];
  ix.packed_.assign(total_groups * kScanGroup * d, 0);
  ix.scales_.assign(total_groups * kScanGroup, 0.0f);
  std::vector<float> rows;
  for (size_t p = 0; p < parts; ++p) {
    const size_t off = ix.offsets_[p], len = ix.offsets_[p + 1] - off;
    if (!len) continue;
    rows.resize(len * d);
    for (size_t j = 0; j < len; ++j)
      std::copy(emb.row(ix.order_[off + j]), emb.row(ix.order_[off + j]) + d, rows.begin() + j * d);
    const QuantizedRows q = quantize_rows(rows.data(), len, d, Precision::int8, "approximate index");
    pack_groups_i8(reinterpret_cast<const int8_t*>(q.data.data()), len, d,
                   ix.packed_.data() + ix.groups_[p] * kScanGroup * d);
    std::copy(q.scales.begin(), q.scales.end(), ix.scales_.begin() + ix.groups_[p] * kScanGroup);
  }
  return ix;
}

size_t PartitionIndex::probe_for_recall(double recall) const {
  for (const auto& c : calibration_)
    if (c.recall >= recall) return c.probe;
  return partitions();
}

void PartitionIndex::calibrate(const Matrix& emb, const Matrix& queries, const std::vector<int64_t>& exact, size_t k,
                               ThreadPool& pool) {
  const size_t nq = queries.rows(), parts = partitions();
  calibration_.clear();
  calibration_k_ = 0;
  if (nq == 0 || k == 0) return;
  std::vector<int64_t> ids(nq * k);
  std::vector<float> scores(nq * k);
  SearchOptions so;
  so.k = k;
  std::vector<PartitionCalibration> curve;
  // Breadths about 2^(1/4) apart, then every partition.
  for (size_t probe = 1;; probe = std::min(parts, std::max(probe + 1, (probe * 1189 + 500) / 1000))) {
    so.probe = probe;
    search(emb, queries.data(), nq, so, ids.data(), scores.data(), pool);
    size_t found = 0;
    for (size_t i = 0; i < nq; ++i) {
      std::vector<int64_t> truth(exact.begin() + i * k, exact.begin() + (i + 1) * k);
      std::sort(truth.begin(), truth.end());
      for (size_t j = 0; j < k; ++j) found += std::binary_search(truth.begin(), truth.end(), ids[i * k + j]);
    }
    const float recall = static_cast<float>(double(found) / double(nq * k));
    curve.push_back({static_cast<uint32_t>(probe), recall});
    if (probe == parts || recall >= 0.999f) break;
  }
  calibration_ = std::move(curve);
  calibration_k_ = k;
}

void PartitionIndex::search(const Matrix& emb, const float* queries, size_t n, const SearchOptions& o, int64_t* ids,
                            float* scores, ThreadPool& pool) const {
  if (o.k == 0) fail(ErrorKind::invalid_argument, "search: k must be positive");
  if (!o.exclude.empty() && o.exclude.size() != n)
    fail(ErrorKind::invalid_argument,
         "search: " + std::to_string(o.exclude.size()) + " exclusion lists for " + std::to_string(n) + " queries");
  if (n == 0) return;
  const size_t nc = size(), d = dim(), parts = partitions();
  const size_t probe = std::min(parts, o.probe ? o.probe : probe_for_recall(o.recall));
  // Never more than the candidates: a larger shortlist holds nothing more but costs its memory.
  const size_t rescore = std::min(std::max<size_t>(nc, 1), std::max(o.k, o.rescore ? o.rescore : default_rescore(o.k)));

  // The allow-list as a bitmap, and how many allowed candidates each partition holds.
  std::vector<uint8_t> allowed;
  std::vector<uint32_t> allowed_per_partition;
  size_t allowed_total = 0;
  if (!o.allow.empty()) {
    allowed.assign(nc, 0);
    allowed_per_partition.assign(parts, 0);
    for (int64_t a : o.allow)
      if (a >= 0 && static_cast<size_t>(a) < nc && !allowed[a]) {
        allowed[a] = 1;
        ++allowed_per_partition[assignment_[a]];
        ++allowed_total;
      }
  }
  // Centroid scores of every query (one small GEMM on this thread).
  Matrix cs(n, parts);
  sgemm(false, true, static_cast<long>(n), static_cast<long>(parts), static_cast<long>(d), 1.0f, queries,
        static_cast<long>(d), centroids_.data(), static_cast<long>(d), 0.0f, cs.data(), static_cast<long>(parts));
  auto filter_for = [&](size_t i) {
    Query f;
    f.allowed = &allowed;
    f.allowed_per_partition = &allowed_per_partition;
    if (!o.exclude.empty()) {
      for (int64_t e : o.exclude[i])
        if (e >= 0 && static_cast<size_t>(e) < nc && (allowed.empty() || allowed[e])) f.excluded.push_back(e);
      std::sort(f.excluded.begin(), f.excluded.end());
      f.excluded.erase(std::unique(f.excluded.begin(), f.excluded.end()), f.excluded.end());
      for (int64_t e : f.excluded) f.excluded_partitions.push_back(assignment_[e]);
      std::sort(f.excluded_partitions.begin(), f.excluded_partitions.end());
    }
    return f;
  };
  // A small allow-list is cheaper to score exactly than the partitions are to scan.
  size_t probed_rows = 0;
  {
    std::vector<float> row(cs.row(0), cs.row(0) + parts);
    std::vector<uint32_t> order(parts);
    std::iota(order.begin(), order.end(), 0u);
    std::nth_element(order.begin(), order.begin() + (probe - 1), order.end(),
                     [&](uint32_t a, uint32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (size_t i = 0; i < probe; ++i) probed_rows += partition_size(order[i]);
  }
  if (!allowed.empty() && allowed_total <= probed_rows) {
    std::vector<int64_t> list;
    for (size_t i = 0; i < nc; ++i)
      if (allowed[i]) list.push_back(static_cast<int64_t>(i));
    pool.for_each(n, [&](size_t i) {
      const Query f = filter_for(i);
      const float* q = queries + i * d;
      std::vector<Hit> hits;
      for (int64_t pos : list)
        if (f.pass(pos)) hits.push_back({static_cast<float>(dot(q, emb.row(static_cast<size_t>(pos)), d)), pos});
      const size_t m = std::min(o.k, hits.size());
      std::partial_sort(hits.begin(), hits.begin() + m, hits.end(), better);
      for (size_t j = 0; j < o.k; ++j) {
        ids[i * o.k + j] = j < m ? hits[j].id : -1;
        scores[i * o.k + j] = j < m ? hits[j].score : -std::numeric_limits<float>::infinity();
      }
    });
    return;
  }
  // One query: its partitions are split across the pool when there is enough to scan. Many
  // queries: one task per query.
  const bool split = n == 1 && probed_rows * d > kParallelScanBytes && pool.threads() > 1;
  if (n == 1) {
    const Query f = filter_for(0);
    search_one(emb, queries, cs.row(0), o, probe, rescore, f, ids, scores, split ? &pool : nullptr);
    return;
  }
  pool.for_each(n, [&](size_t i) {
    const Query f = filter_for(i);
    search_one(emb, queries + i * d, cs.row(i), o, probe, rescore, f, ids + i * o.k, scores + i * o.k, nullptr);
  });
}

void PartitionIndex::search_one(const Matrix& emb, const float* q, const float* cs, const SearchOptions& o,
                                size_t probe, size_t rescore, const Query& f, int64_t* ids, float* scores,
                                ThreadPool* pool) const {
  const size_t parts = partitions(), d = dim(), k = o.k;
  // Partitions best first by centroid score (ties to the lower partition).
  std::vector<uint32_t> order(parts);
  std::iota(order.begin(), order.end(), 0u);
  auto by_score = [&](uint32_t a, uint32_t b) { return cs[a] > cs[b] || (cs[a] == cs[b] && a < b); };
  std::nth_element(order.begin(), order.begin() + (probe - 1), order.end(), by_score);
  // The probed ones in storage order, so the scan walks memory forwards.
  std::vector<uint32_t> probed(order.begin(), order.begin() + probe);
  std::sort(probed.begin(), probed.end());

  auto scan = [&](const uint32_t* list, size_t count, Shortlist& sl) {
    std::vector<float> buf;
    std::vector<uint32_t> selected;
    for (size_t t = 0; t < count; ++t) {
      const uint32_t p = list[t];
      const size_t off = offsets_[p], len = offsets_[p + 1] - off;
      if (!len) continue;
      const size_t g0 = groups_[p], groups = groups_[p + 1] - g0;
      buf.resize(groups * kScanGroup);
      selected.resize(groups * kScanGroup);
      scan_int8(packed_.data() + g0 * kScanGroup * d, scales_.data() + g0 * kScanGroup, groups, d, q, 1, buf.data(),
                buf.size());
      size_t j = 0;
      for (; j < len && !sl.full(); ++j) {
        const int64_t pos = order_[off + j];
        if (f.pass(pos)) sl.offer({buf[j], pos});
      }
      if (j < len) {
        const size_t m = row_select_greater(buf.data() + j, len - j, sl.threshold(), selected.data());
        for (size_t i = 0; i < m; ++i) {
          const int64_t pos = order_[off + j + selected[i]];
          if (buf[j + selected[i]] > sl.threshold() && f.pass(pos)) sl.offer({buf[j + selected[i]], pos});
        }
      }
    }
  };

  std::vector<Hit> hits;
  const size_t tasks = pool ? std::min<size_t>(static_cast<size_t>(pool->threads()), probed.size()) : 1;
  if (tasks <= 1) {
    Shortlist sl(rescore);
    scan(probed.data(), probed.size(), sl);
    hits = std::move(sl.hits());
  } else {
    // Contiguous runs of partitions with about equal numbers of candidates.
    size_t total = 0;
    for (uint32_t p : probed) total += partition_size(p);
    std::vector<size_t> cut{0};
    size_t acc = 0;
    for (size_t i = 0; i < probed.size() && cut.size() < tasks; ++i) {
      acc += partition_size(probed[i]);
      if (acc * tasks >= total * cut.size()) cut.push_back(i + 1);
    }
    while (cut.size() <= tasks) cut.push_back(probed.size());
    std::vector<std::vector<Hit>> part(tasks);
    pool->for_each(tasks, [&](size_t t) {
      Shortlist sl(rescore);
      scan(probed.data() + cut[t], cut[t + 1] - cut[t], sl);
      part[t] = std::move(sl.hits());
    });
    Shortlist merged(rescore);
    for (auto& v : part)
      for (const Hit& h : v) merged.offer(h);
    hits = std::move(merged.hits());
  }
  // Until k candidates have passed the filter (or, unfiltered, until k have been scanned),
  // scan further partitions in centroid order: filtered search, never post-filtering.
  size_t passed = 0;
  for (uint32_t p : probed) passed += f.passing(*this, p);
  if (passed < k && probe < parts) {
    std::sort(order.begin() + probe, order.end(), by_score);
    Shortlist sl(rescore);
    for (const Hit& h : hits) sl.offer(h);
    for (size_t i = probe; i < parts && passed < k; ++i) {
      scan(&order[i], 1, sl);
      passed += f.passing(*this, order[i]);
    }
    hits = std::move(sl.hits());
  }
  // Exact re-scoring of the shortlist.
  for (Hit& h : hits) h.score = static_cast<float>(dot(q, emb.row(static_cast<size_t>(h.id)), d));
  const size_t m = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + m, hits.end(), better);
  for (size_t j = 0; j < k; ++j) {
    ids[j] = j < m ? hits[j].id : -1;
    scores[j] = j < m ? hits[j].score : -std::numeric_limits<float>::infinity();
  }
}

}  // namespace tt
