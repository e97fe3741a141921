#include "index/partition_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <utility>

#include "base/error.h"
#include "base/parallel.h"
#include "base/precision.h"
#include "index/candidate_index.h"
#include "index/compact_scan.h"
#include "index/float_scan.h"
#include "index/kmeans.h"
#include "index/radix_select.h"
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
// A function object, not a function: the heap operations then inline it (through a function
// pointer they called it for every comparison).
struct Better {
  bool operator()(const Hit& a, const Hit& b) const { return a.score > b.score || (a.score == b.score && a.id < b.id); }
};
constexpr Better better{};

// The best `cap` hits offered, by "better". Offers at or above the threshold are appended;
// when 2 cap have gathered, nth_element keeps the best cap and the threshold rises to the
// cap-th one's score. (A bounded heap paid a sift of log depth per offer, and a query's scan
// offers thousands.) Offers equal to the threshold are taken, since one may beat the cap-th
// on id: the result is exactly the best cap of everything offered, in whatever order or
// split (threads) the offers came.
class Shortlist {
 public:
  explicit Shortlist(size_t cap) : cap_(cap) { hits_.reserve(2 * cap); }
  // Scores below this cannot enter (-inf until cap hits have been kept once).
  float threshold() const { return threshold_; }
  void offer(Hit h) {
    if (h.score < threshold_) return;
    hits_.push_back(h);
    if (hits_.size() >= 2 * cap_) keep_best();
  }
  // The best min(cap, offered), in no particular order.
  std::vector<Hit>& hits() {
    if (hits_.size() > cap_) keep_best();
    return hits_;
  }

 private:
  void keep_best() {
    std::nth_element(hits_.begin(), hits_.begin() + static_cast<std::ptrdiff_t>(cap_ - 1), hits_.end(), better);
    hits_.resize(cap_);
    threshold_ = hits_[cap_ - 1].score;  // the cap-th best's; the others score as much or more
  }

  size_t cap_;
  std::vector<Hit> hits_;
  float threshold_ = -std::numeric_limits<float>::infinity();
};

}  // namespace

// What a query may return: the call's allow-list (shared) and this query's exclusions, with the
// number of candidates of each partition that pass, so the scan knows when k have passed.
struct PartitionIndex::Query {
  const std::vector<uint8_t>* allowed = nullptr;  // empty: everything allowed
  const std::vector<uint32_t>* allowed_per_partition = nullptr;
  std::vector<int64_t> excluded;              // sorted, distinct, in range, allowed
  std::vector<uint32_t> excluded_partitions;  // sorted partition of each excluded position

  bool filters() const { return (allowed && !allowed->empty()) || !excluded.empty(); }
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

namespace {
// A centroid score as partitions are ranked by it: NaN (from a NaN in the query) as -inf, so
// that the order is a strict weak order whatever the query holds.
inline float rank_key(float s) { return s == s ? s : -std::numeric_limits<float>::infinity(); }
// Partitions best first by centroid score, ties to the lower partition.
struct ByScore {
  const float* cs;
  bool operator()(uint32_t a, uint32_t b) const {
    const float x = rank_key(cs[a]), y = rank_key(cs[b]);
    return x > y || (x == y && a < b);
  }
};
// Queries per task of a batch: a partition is read from memory once per block.
constexpr size_t kBatchBlock = 64;
// Chunks a single query's partitions are cut into, per thread.
constexpr size_t kChunksPerThread = 16;
}  // namespace

// One query's scan state: its int8 form, the partitions it probes, its scan buffers.
struct PartitionIndex::Probe {
  std::vector<int8_t> q8;
  float q_scale = 0.0f;
  std::vector<uint32_t> probed;  // the `probe` best partitions, in storage order (the scan walks memory forwards)
  std::vector<uint32_t> keys;    // prepare's buffers
  std::vector<uint32_t> hist;
  std::vector<float> buf;
  std::vector<uint32_t> selected;
};

// The steps of a search, with access to the index's storage.
struct PartitionIndex::Impl {
  static void prepare(const PartitionIndex& ix, const float* q, const float* cs, size_t probe, Probe& pr);
  // Scans the partitions list[0..count) into the shortlist.
  static void scan(const PartitionIndex& ix, Probe& pr, const uint32_t* list, size_t count, const Query& f,
                   Shortlist& sl);
  // Extends the scan until k candidates passed the filter, re-scores, writes the k results.
  static void finish(const PartitionIndex& ix, const Matrix& emb, const float* q, const float* cs, size_t probe,
                     size_t rescore, size_t k, const Query& f, Probe& pr, std::vector<Hit>& hits, int64_t* ids,
                     float* scores);
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
  if (d > kMaxScanDim) bad("dimension " + std::to_string(d) + " above the 4-bit scan's " + std::to_string(kMaxScanDim));
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
  // The 4-bit copy: each partition's rows quantized (a scale per row, values in [-7, 7]) and
  // packed into its own whole groups (compact_scan.h, scan_u4). quantize_rows checks the rows.
  const size_t total_groups = ix.groups_[parts], group_bytes = kScanGroup * octets_of(d) * 4;
  ix.packed_.assign(total_groups * group_bytes, 0x88);
  ix.scales_.assign(total_groups * kScanGroup, 0.0f);
  std::vector<float> rows;
  std::vector<int8_t> codes;
  for (size_t p = 0; p < parts; ++p) {
    const size_t off = ix.offsets_[p], len = ix.offsets_[p + 1] - off;
    if (!len) continue;
    rows.resize(len * d);
    for (size_t j = 0; j < len; ++j)
      std::copy(emb.row(ix.order_[off + j]), emb.row(ix.order_[off + j]) + d, rows.begin() + j * d);
    (void)quantize_rows(rows.data(), len, d, Precision::int8, "approximate index");
    codes.resize(len * d);
    for (size_t j = 0; j < len; ++j) {
      float m = 0.0f;
      for (size_t c = 0; c < d; ++c) m = std::max(m, std::fabs(rows[j * d + c]));
      const float scale = m / 7.0f;
      ix.scales_[ix.groups_[p] * kScanGroup + j] = scale;
      for (size_t c = 0; c < d; ++c)
        codes[j * d + c] =
            static_cast<int8_t>(scale > 0.0f ? std::clamp(std::lround(rows[j * d + c] / scale), -7L, 7L) : 0);
    }
    pack_groups_u4(codes.data(), len, d, ix.packed_.data() + ix.groups_[p] * group_bytes);
  }
  return ix;
}

double PartitionIndex::calibration_goal(double recall) {
  return recall + std::min(kRecallMargin, std::max(0.0, 1.0 - recall) / 2);
}

size_t PartitionIndex::probe_for_recall(double recall) const {
  const double goal = calibration_goal(recall);
  for (size_t i = 0; i < calibration_.size(); ++i) {
    const auto& c = calibration_[i];
    if (c.recall < goal) continue;
    if (i == 0) return c.probe;
    // Between two points, the straight line: recall rises ever more slowly with the breadth
    // (a concave curve), so the line lies under the curve and the breadth read off it is, if
    // anything, larger than needed.
    const auto& b = calibration_[i - 1];
    if (c.recall <= b.recall) return c.probe;
    const double t = (goal - b.recall) / (double(c.recall) - b.recall);
    return std::min<size_t>(c.probe, b.probe + static_cast<size_t>(std::ceil(t * (c.probe - b.probe))));
  }
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
  // Breadths about 2^(1/8) apart, then every partition (probe_for_recall interpolates between
  // them). Coarser steps (2^(1/4)) bought 0.963 for a target of 0.95 at 1M x 64 uniform.
  for (size_t probe = 1;; probe = std::min(parts, std::max(probe + 1, (probe * 1091 + 500) / 1000))) {
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
  // Centroid scores with the row kernel, kFloatScanMaxQueries queries at a time (a GEMM call
  // for one row spends more on its blocking than on the arithmetic): the same bits for a query
  // alone or in a batch. A batch's blocks score their own queries, on the pool.
  auto centroid_scores = [&](const float* q, size_t m, float* out) {
    for (size_t r = 0; r < m; r += kFloatScanMaxQueries)
      scan_float_rows(centroids_.data(), parts, d, q + r * d, std::min(kFloatScanMaxQueries, m - r), out + r * parts,
                      parts);
  };
  std::vector<float> cs0(parts);
  centroid_scores(queries, 1, cs0.data());
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
  // The first query's partitions (what a single query scans) measure what a query reads.
  Probe pr;
  Impl::prepare(*this, queries, cs0.data(), probe, pr);
  size_t probed_rows = 0;
  for (uint32_t p : pr.probed) probed_rows += partition_size(p);
  // A small allow-list is cheaper to score exactly than the partitions are to scan.
  if (!allowed.empty() && allowed_total <= probed_rows) {
    std::vector<int64_t> list;
    for (size_t i = 0; i < nc; ++i)
      if (allowed[i]) list.push_back(static_cast<int64_t>(i));
    pool.for_each(n, [&](size_t i) {
      const Query f = filter_for(i);
      const float* q = queries + i * d;
      std::vector<Hit> hits;
      for (int64_t pos : list)
        if (f.pass(pos)) {
          hits.push_back({0.0f, pos});
          scan_float_rows(emb.row(static_cast<size_t>(pos)), 1, d, q, 1, &hits.back().score, 1);
        }
      const size_t m = std::min(o.k, hits.size());
      std::partial_sort(hits.begin(), hits.begin() + m, hits.end(), better);
      for (size_t j = 0; j < o.k; ++j) {
        ids[i * o.k + j] = j < m ? hits[j].id : -1;
        scores[i * o.k + j] = j < m ? hits[j].score : -std::numeric_limits<float>::infinity();
      }
    });
    return;
  }
  if (n == 1) {
    // One query: its partitions are split across the pool when there is enough to scan.
    const bool split = probed_rows * d > kParallelScanBytes && pool.threads() > 1;
    const Query f = filter_for(0);
    std::vector<Hit> hits;
    const size_t threads = static_cast<size_t>(pool.threads());
    const size_t chunks = split ? std::min(threads * kChunksPerThread, probe) : 1;
    if (chunks <= 1) {
      Shortlist sl(rescore);
      Impl::scan(*this, pr, pr.probed.data(), pr.probed.size(), f, sl);
      hits = std::move(sl.hits());
    } else {
      // Chunks of about equal numbers of candidates, claimed in storage order from a shared
      // counter by the calling thread and the pool's helpers (ThreadPool::share), each thread
      // with one shortlist: the calling thread starts at once, a helper joins as soon as it is
      // awake (a TBB worker held half of four fixed runs, which the caller waited for, and
      // after 2 ms idle it often never came), and a thread the host deschedules holds back one
      // chunk. Each shortlist holds exactly the best `rescore` of what its thread scanned, so
      // the merged shortlist is the best `rescore` of all the probed candidates whichever thread
      // scanned what.
      size_t total = 0;
      for (uint32_t p : pr.probed) total += partition_size(p);
      std::vector<size_t> cut{0};
      size_t acc = 0;
      for (size_t i = 0; i < pr.probed.size() && cut.size() < chunks; ++i) {
        acc += partition_size(pr.probed[i]);
        if (acc * chunks >= total * cut.size()) cut.push_back(i + 1);
      }
      while (cut.size() <= chunks) cut.push_back(pr.probed.size());
      std::atomic<size_t> next{0};
      std::vector<std::vector<Hit>> part(threads);
      pool.share([&](size_t t) {
        Probe local;  // its own buffers; the query's int8 form is shared read-only
        local.q8 = pr.q8;
        local.q_scale = pr.q_scale;
        Shortlist sl(rescore);
        for (size_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
          Impl::scan(*this, local, pr.probed.data() + cut[c], cut[c + 1] - cut[c], f, sl);
        part[t] = std::move(sl.hits());
      });
      // The best `rescore` of the threads' shortlists ("better" is a total order: the same
      // set whichever thread found what).
      for (auto& v : part) hits.insert(hits.end(), v.begin(), v.end());
      if (hits.size() > rescore) {
        std::nth_element(hits.begin(), hits.begin() + (rescore - 1), hits.end(), better);
        hits.resize(rescore);
      }
    }
    Impl::finish(*this, emb, queries, cs0.data(), probe, rescore, o.k, f, pr, hits, ids, scores);
    return;
  }
  // Many queries: blocks of queries, one task each; a block walks the partitions in storage
  // order and scans each for every query of the block that probes it, so a partition comes
  // from memory once per block and stays in cache for the rest (ScaNN's batched search does
  // the same). Each query's shortlist stays in its block: the same answers as one at a time.
  const size_t block =
      std::clamp<size_t>(n / (static_cast<size_t>(pool.threads()) * ThreadPool::kPartsPerThread), 1, kBatchBlock);
  const size_t blocks = (n + block - 1) / block;
  pool.for_each(blocks, [&](size_t b) {
    const size_t i0 = b * block, m = std::min(block, n - i0);
    std::vector<Query> filters;
    std::vector<Probe> probes(m);
    std::vector<Shortlist> lists(m, Shortlist(rescore));
    std::vector<float> cs(m * parts);
    centroid_scores(queries + i0 * d, m, cs.data());
    // Which queries of the block probe each partition (counting sort by partition).
    std::vector<uint32_t> start(parts + 1, 0), who(m * probe);
    for (size_t r = 0; r < m; ++r) {
      filters.push_back(filter_for(i0 + r));
      Impl::prepare(*this, queries + (i0 + r) * d, cs.data() + r * parts, probe, probes[r]);
      for (uint32_t p : probes[r].probed) ++start[p + 1];
    }
    for (size_t p = 0; p < parts; ++p) start[p + 1] += start[p];
    {
      std::vector<uint32_t> next(start.begin(), start.end() - 1);
      for (size_t r = 0; r < m; ++r)
        for (uint32_t p : probes[r].probed) who[next[p]++] = static_cast<uint32_t>(r);
    }
    for (uint32_t p = 0; p < parts; ++p)
      for (uint32_t w = start[p]; w < start[p + 1]; ++w)
        Impl::scan(*this, probes[who[w]], &p, 1, filters[who[w]], lists[who[w]]);
    for (size_t r = 0; r < m; ++r) {
      std::vector<Hit> hits = std::move(lists[r].hits());
      Impl::finish(*this, emb, queries + (i0 + r) * d, cs.data() + r * parts, probe, rescore, o.k, filters[r],
                   probes[r], hits, ids + (i0 + r) * o.k, scores + (i0 + r) * o.k);
    }
  });
}

void PartitionIndex::Impl::prepare(const PartitionIndex& ix, const float* q, const float* cs, size_t probe, Probe& pr) {
  const size_t parts = ix.partitions(), d = ix.dim();
  // The query as int8 octets (zero-padded) with one scale: the scan's scores are approximate
  // either way, and the shortlist is re-scored in float32.
  pr.q8.assign(octets_of(d) * kOctet, 0);
  float qmax = 0.0f;
  for (size_t c = 0; c < d; ++c) qmax = std::max(qmax, std::fabs(q[c]));
  pr.q_scale = qmax > 0.0f && std::isfinite(qmax) ? qmax / 127.0f : 0.0f;
  if (pr.q_scale > 0.0f)
    for (size_t c = 0; c < d; ++c) {
      const float v = q[c] / pr.q_scale;  // within [-127, 127]; NaN (which qmax skips) scans as 0
      pr.q8[c] = static_cast<int8_t>(v == v ? std::lround(v) : 0);
    }
  // The `probe` best partitions by centroid score (ties to the lower partition: ByScore's
  // first `probe`), in storage order: the probe-th best score by a radix select over the
  // scores as ordered integers, then one pass in storage order keeps the partitions above it
  // and the first ones at it. (nth_element of partition numbers by ByScore and a sort of the
  // probed ones took 50 us at 2,000 partitions; nth_element of the scores 31 us, its
  // comparisons mispredicted.)
  pr.probed.clear();
  if (probe >= parts) {
    pr.probed.resize(parts);
    std::iota(pr.probed.begin(), pr.probed.end(), 0u);
    return;
  }
  pr.keys.resize(parts);
  for (size_t p = 0; p < parts; ++p) pr.keys[p] = order_key(rank_key(cs[p]));
  pr.hist.resize(kRadixSelectHistogram);
  const uint32_t kth = kth_largest(pr.keys.data(), parts, probe, pr.hist.data());
  size_t above = 0;
  for (size_t p = 0; p < parts; ++p) above += pr.keys[p] > kth;
  size_t ties = probe - above;  // partitions at the probe-th score that are probed
  for (size_t p = 0; p < parts; ++p) {
    const uint32_t key = pr.keys[p];
    if (key > kth) {
      pr.probed.push_back(static_cast<uint32_t>(p));
    } else if (key == kth && ties) {
      pr.probed.push_back(static_cast<uint32_t>(p));
      --ties;
    }
  }
}

void PartitionIndex::Impl::scan(const PartitionIndex& ix, Probe& pr, const uint32_t* list, size_t count, const Query& f,
                                Shortlist& sl) {
  const size_t group_bytes = kScanGroup * pr.q8.size() / 2;
  for (size_t t = 0; t < count; ++t) {
    const uint32_t p = list[t];
    const size_t off = ix.offsets_[p], len = ix.offsets_[p + 1] - off;
    if (!len) continue;
    const size_t g0 = ix.groups_[p], groups = ix.groups_[p + 1] - g0;
    // The next partition is elsewhere in memory (the ones between are not probed), where the
    // hardware prefetcher would only notice it after a few misses: fetch it while this one is
    // scanned (up to 64 KiB: a partition is about 16 KiB at 2 sqrt(n) partitions and d = 64),
    // and its scales (4 bytes per candidate beside the codes' 32 at d = 64).
    if (t + 1 < count) {
      const size_t ng0 = ix.groups_[list[t + 1]],
                   ngroups = std::min<size_t>(ix.groups_[list[t + 1] + 1] - ng0, 65536 / group_bytes + 1);
      const uint8_t* next = ix.packed_.data() + ng0 * group_bytes;
      for (size_t o = 0; o < ngroups * group_bytes; o += 64) __builtin_prefetch(next + o);
      const char* next_scales = reinterpret_cast<const char*>(ix.scales_.data() + ng0 * kScanGroup);
      for (size_t o = 0; o < ngroups * kScanGroup * sizeof(float); o += 64) __builtin_prefetch(next_scales + o);
    }
    pr.buf.resize(groups * kScanGroup);
    pr.selected.resize(groups * kScanGroup);
    scan_u4(ix.packed_.data() + g0 * group_bytes, ix.scales_.data() + g0 * kScanGroup, groups, pr.q8.size() / kOctet,
            pr.q8.data(), pr.q_scale, pr.buf.data());
    // The candidates at or above the shortlist's threshold (every one while it has none),
    // offered as their slot in partition order: the candidate's position (order_, a cache
    // miss per offer) is looked up only to filter, and for the final shortlist in finish().
    const float* buf = pr.buf.data();
    const float below = std::nextafter(sl.threshold(), -std::numeric_limits<float>::infinity());
    const size_t m = row_select_greater(buf, len, below, pr.selected.data());
    const bool filters = f.filters();
    for (size_t i = 0; i < m; ++i) {
      const size_t at = pr.selected[i];
      if (buf[at] < sl.threshold() || (filters && !f.pass(ix.order_[off + at]))) continue;
      sl.offer({buf[at], static_cast<int64_t>(off + at)});
    }
  }
}

void PartitionIndex::Impl::finish(const PartitionIndex& ix, const Matrix& emb, const float* q, const float* cs,
                                  size_t probe, size_t rescore, size_t k, const Query& f, Probe& pr,
                                  std::vector<Hit>& hits, int64_t* ids, float* scores) {
  const size_t parts = ix.partitions(), d = ix.dim();
  // Until k candidates have passed the filter (or, unfiltered, until k have been scanned),
  // scan further partitions in centroid order: filtered search, never post-filtering.
  size_t passed = 0;
  for (uint32_t p : pr.probed) passed += f.passing(ix, p);
  if (passed < k && probe < parts) {
    // The partitions not probed (pr.probed is in storage order), best first.
    std::vector<uint32_t> rest;
    rest.reserve(parts - pr.probed.size());
    for (size_t p = 0, at = 0; p < parts; ++p)
      if (at < pr.probed.size() && pr.probed[at] == p)
        ++at;
      else
        rest.push_back(static_cast<uint32_t>(p));
    std::sort(rest.begin(), rest.end(), ByScore{cs});
    Shortlist sl(rescore);
    for (const Hit& h : hits) sl.offer(h);
    for (size_t i = 0; i < rest.size() && passed < k; ++i) {
      scan(ix, pr, &rest[i], 1, f, sl);
      passed += f.passing(ix, rest[i]);
    }
    hits = std::move(sl.hits());
  }
  // Exact re-scoring of the shortlist, by candidate position (the scan's ids are slots in
  // partition order). Its rows are scattered over the embeddings: request them all first, so
  // that their cache misses overlap instead of following one another.
  for (Hit& h : hits) h.id = ix.order_[static_cast<size_t>(h.id)];
  for (const Hit& h : hits) {
    const char* row = reinterpret_cast<const char*>(emb.row(static_cast<size_t>(h.id)));
    for (size_t off = 0; off < d * sizeof(float); off += 64) __builtin_prefetch(row + off);
  }
  for (Hit& h : hits) scan_float_rows(emb.row(static_cast<size_t>(h.id)), 1, d, q, 1, &h.score, 1);
  const size_t m = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + m, hits.end(), better);
  for (size_t j = 0; j < k; ++j) {
    ids[j] = j < m ? hits[j].id : -1;
    scores[j] = j < m ? hits[j].score : -std::numeric_limits<float>::infinity();
  }
}

}  // namespace tt
