#include "index/candidate_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <span>

#include "base/checked_math.h"
#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "base/reader_gate.h"
#include "index/compact_scan.h"
#include "index/float_scan.h"
#include "index/partition_index.h"
#include "nn/gemm.h"
#include "nn/row_kernels.h"

namespace tt {

CandidateIndex::CandidateIndex(std::vector<std::string> keys, Matrix embeddings)
    : keys_(std::move(keys)), embeddings_(std::move(embeddings)) {
  if (keys_.size() != embeddings_.rows())
    fail(ErrorKind::invalid_argument, "candidate index: " + std::to_string(keys_.size()) + " keys for " +
                                          std::to_string(embeddings_.rows()) + " embeddings");
  position_.reserve(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) {
    const auto [first, inserted] = position_.emplace(keys_[i], static_cast<int64_t>(i));
    if (!inserted) repeated_[first->first].push_back(static_cast<int64_t>(i));
  }
}

int64_t CandidateIndex::key_position(std::string_view key) const {
  auto it = position_.find(key);
  return it == position_.end() ? -1 : it->second;
}

std::vector<int64_t> CandidateIndex::key_positions(std::string_view key) const {
  std::vector<int64_t> out;
  const int64_t first = key_position(key);
  if (first < 0) return out;
  out.push_back(first);
  if (auto more = repeated_.find(key); more != repeated_.end())
    out.insert(out.end(), more->second.begin(), more->second.end());
  return out;
}

void CandidateIndex::set_scan_precision(Precision p) {
  gate_.wait();  // a detached scan may still read the compact copy
  if (p == Precision::fp16)
    fail(ErrorKind::invalid_argument, "candidate index: fp16 is not a scan precision (use f32, bf16 or int8)");
  scan_precision_ = Precision::f32;
  packed_bf16_ = {};
  packed_int8_ = {};
  packed_scales_ = {};
  max_norm_ = max_scale_ = 0.0f;
  if (p == Precision::f32) return;
  const size_t n = size(), d = dim(), padded = (n + kScanGroup - 1) / kScanGroup * kScanGroup;
  const QuantizedRows rows = quantize_rows(embeddings_.data(), n, d, p, "candidate index embeddings");
  if (p == Precision::bf16) {
    packed_bf16_.resize(padded * d);
    pack_groups_u16(reinterpret_cast<const uint16_t*>(rows.data.data()), n, d, packed_bf16_.data());
  } else {
    packed_int8_.resize(padded * d);
    pack_groups_i8(reinterpret_cast<const int8_t*>(rows.data.data()), n, d, packed_int8_.data());
    packed_scales_.assign(padded, 0.0f);
    std::copy(rows.scales.begin(), rows.scales.end(), packed_scales_.begin());
    for (float sc : rows.scales) max_scale_ = std::max(max_scale_, sc);
  }
  for (size_t r = 0; r < n; ++r) {
    double sq = 0.0;
    for (size_t c = 0; c < d; ++c) sq += double(embeddings_.at(r, c)) * embeddings_.at(r, c);
    max_norm_ = std::max(max_norm_, static_cast<float>(std::sqrt(sq)));
  }
  scan_precision_ = p;
}

void CandidateIndex::set_partitions(std::shared_ptr<const PartitionIndex> partitions) {
  if (partitions && (partitions->size() != size() || partitions->dim() != dim()))
    fail(ErrorKind::invalid_argument, "candidate index: an approximate index of " + std::to_string(partitions->size()) +
                                          " x " + std::to_string(partitions->dim()) + " for " + std::to_string(size()) +
                                          " x " + std::to_string(dim()) + " embeddings");
  partitions_ = std::move(partitions);
}

void CandidateIndex::build_partitions(const PartitionBuildOptions& options, ThreadPool& pool) {
  auto built = std::make_shared<PartitionIndex>(PartitionIndex::build(embeddings_, options, pool));
  // Calibration: recall@k of a grid of breadths against exact search, on the caller's queries
  // or on a seeded sample of the candidates.
  const size_t k = std::min(options.calibration_k, size());
  Matrix sample;
  const Matrix* queries = options.calibration_queries;
  if (!queries || queries->rows() == 0 || queries->cols() != dim()) {
    Rng rng(options.seed, 0x63616c6962ull);  // "calib"
    std::vector<size_t> pick = permutation(size(), rng);
    pick.resize(std::min(size(), options.calibration_sample));
    sample.resize(pick.size(), dim());
    for (size_t i = 0; i < pick.size(); ++i)
      std::copy(embeddings_.row(pick[i]), embeddings_.row(pick[i]) + dim(), sample.row(i));
    queries = &sample;
  } else if (queries->rows() > options.calibration_sample) {
    sample.resize(options.calibration_sample, dim());
    std::copy(queries->data(), queries->data() + sample.size(), sample.data());
    queries = &sample;
  }
  if (k > 0 && queries->rows() > 0) {
    std::vector<int64_t> exact(queries->rows() * k);
    std::vector<float> scores(exact.size());
    SearchOptions so;
    so.k = k;
    partitions_.reset();
    search(queries->data(), queries->rows(), so, exact.data(), scores.data(), pool);
    built->calibrate(embeddings_, *queries, exact, k, pool);
  }
  partitions_ = std::move(built);
}

bool CandidateIndex::approximate(const SearchOptions& o) const {
  return partitions_ && (o.probe > 0 || (o.recall > 0.0 && o.recall < 1.0));
}

float CandidateIndex::approximation_bound(double norm1, double norm2) const {
  // Rounding a value to bf16 moves it by at most 2^-8 of itself, so by Cauchy-Schwarz the
  // score moves by at most 2^-8 |q| max|c|; int8 moves each value by at most half its row's
  // scale, so the score moves by at most |q|_1 max_scale / 2. Both float32 dot products (the
  // approximate and the exact one) add at most d 2^-24 |q| max|c| each.
  const double d = static_cast<double>(dim());
  double e = 2.0 * d * 0x1p-24 * norm2 * max_norm_;
  if (scan_precision_ == Precision::bf16) e += 0x1p-8 * norm2 * max_norm_;
  if (scan_precision_ == Precision::int8) e += 0.5 * norm1 * max_scale_;
  return static_cast<float>(e * 1.01);
}

namespace {

struct Hit {
  float score;
  int64_t id;
};
// Better = higher score, then lower position.
inline bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }
inline bool worse_first(const Hit& a, const Hit& b) { return better(a, b); }

// The k best hits of one query within one tile, as a bounded min-heap on "better". With a
// margin (compact scans), it also keeps the shortlist: every hit whose approximate score is
// at least the current k-th best minus the margin.
class TopK {
 public:
  void reset(size_t k, float margin) {
    k_ = k;
    margin_ = margin;
    heap_.clear();
    shortlist_.clear();
  }
  bool full() const { return heap_.size() >= k_; }
  // Scores at or below this can neither enter the heap nor the shortlist.
  float threshold() const { return full() ? heap_.front().score - margin_ : -std::numeric_limits<float>::infinity(); }

  void offer(Hit h) {
    if (margin_ > 0.0f && (!full() || h.score >= threshold())) {
      shortlist_.push_back(h);
      if (shortlist_.size() >= 4 * k_ + 1024) prune(threshold());
    }
    if (!full()) {
      heap_.push_back(h);
      std::push_heap(heap_.begin(), heap_.end(), worse_first);
    } else if (better(h, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), worse_first);
      heap_.back() = h;
      std::push_heap(heap_.begin(), heap_.end(), worse_first);
    }
  }

  // Appends this tile's result (the heap, or the pruned shortlist) to out, best first.
  void finish(std::vector<Hit>& out) {
    std::vector<Hit>& hits = margin_ > 0.0f ? shortlist_ : heap_;
    if (margin_ > 0.0f) prune(threshold());
    std::sort(hits.begin(), hits.end(), better);
    out.insert(out.end(), hits.begin(), hits.end());
  }

 private:
  void prune(float below) {
    std::erase_if(shortlist_, [&](const Hit& h) { return h.score < below; });
  }
  size_t k_ = 0;
  float margin_ = 0.0f;
  std::vector<Hit> heap_, shortlist_;
};

// Scanning blocks of candidates: raw views of the index's storage and of one search's inputs,
// and no reference to the index object itself, so that a helper still scanning after the
// search returned (ThreadPool::share_detached) reads only what the scan's job keeps alive.
struct BlockScan {
  const float* embeddings = nullptr;  // float32 rows, nc x d
  size_t nc = 0, d = 0, k = 0;
  Precision precision = Precision::f32;
  bool compact = false;  // scan the compact copy (then re-score a shortlist)
  const uint16_t* bf16 = nullptr;
  const int8_t* int8 = nullptr;
  const float* scales = nullptr;
  const float* queries = nullptr;  // n x d
  const float* margin = nullptr;   // per query (compact scans)
  std::span<const std::span<const int64_t>> exclude;
  const uint8_t* allowed = nullptr;  // per candidate; null: every candidate
  // Scores are computed in sub-blocks of candidates so the score tile stays in cache.
  static constexpr size_t kBlock = 4096;

  // Scores of nq queries against candidates [c0, c0 + n) of the compact copy (c0 a multiple of
  // kScanGroup) into scores (row stride ld >= n rounded up to kScanGroup).
  void compact_scores(const float* q, size_t nq, size_t c0, size_t n, float* out, size_t ld) const {
    const size_t g0 = c0 / kScanGroup, groups = (n + kScanGroup - 1) / kScanGroup;
    if (precision == Precision::bf16)
      scan_bf16(bf16 + g0 * kScanGroup * d, groups, d, q, nq, out, ld);
    else
      scan_int8(int8 + g0 * kScanGroup * d, scales + c0, groups, d, q, nq, out, ld);
  }

  void start(size_t q0, size_t qn, std::vector<TopK>& top) const {
    top.resize(qn);
    for (size_t r = 0; r < qn; ++r) top[r].reset(k, compact ? margin[q0 + r] : 0.0f);
  }

  // Scans candidates [c_begin, c_end) for queries q0..q0+qn into top (one TopK per query), in
  // sub-blocks that start at multiples of kBlock from c_begin.
  void scan(size_t q0, size_t qn, size_t c_begin, size_t c_end, std::vector<TopK>& top, std::vector<float>& s,
            std::vector<uint32_t>& selected) const {
    for (size_t c0 = c_begin; c0 < c_end; c0 += kBlock) {
      const size_t cn = std::min(kBlock, c_end - c0);
      // Compact scores are written for whole groups: rows of the score tile are padded to them.
      const size_t ld = compact ? (cn + kScanGroup - 1) / kScanGroup * kScanGroup : cn;
      if (compact)
        compact_scores(queries + q0 * d, qn, c0, cn, s.data(), ld);
      else if (qn <= kFloatScanMaxQueries)  // read-bound: a GEMM call costs more than its arithmetic
        scan_float_rows(embeddings + c0 * d, cn, d, queries + q0 * d, qn, s.data(), cn);
      else
        sgemm(false, true, qn, cn, d, 1.0f, queries + q0 * d, d, embeddings + c0 * d, d, 0.0f, s.data(), cn);
      for (size_t r = 0; r < qn; ++r) {
        float* row = s.data() + r * ld;
        // NaN scores (excluded candidates, or a diverged model) never pass a comparison.
        if (!exclude.empty())
          for (int64_t e : exclude[q0 + r])
            if (e >= static_cast<int64_t>(c0) && e < static_cast<int64_t>(c0 + cn))
              row[e - static_cast<int64_t>(c0)] = std::numeric_limits<float>::quiet_NaN();
        TopK& tk = top[r];
        auto offer = [&](size_t j) {
          if (std::isnan(row[j]) || (allowed && !allowed[c0 + j])) return;
          tk.offer({row[j], static_cast<int64_t>(c0 + j)});
        };
        size_t j = 0;
        for (; j < cn && !tk.full(); ++j) offer(j);
        // Once the heap is full only scores above its worst (minus the margin) matter, and a
        // tie loses to the lower position already held (positions offered to one TopK only
        // grow), so a vector filter skips almost every score. It runs on short stretches so
        // that its threshold follows the heap.
        constexpr size_t stretch = 512;
        for (; j < cn; j += stretch) {
          const size_t len = std::min(stretch, cn - j);
          // Lowered by one step so that scores equal to a shortlist threshold are kept.
          const float thr = compact ? std::nextafter(tk.threshold(), -INFINITY) : tk.threshold();
          const size_t m = row_select_greater(row + j, len, thr, selected.data());
          for (size_t i = 0; i < m; ++i) offer(j + selected[i]);
        }
      }
    }
  }
};

std::atomic<uint64_t> g_searches_redone{0};

std::vector<Hit> finish(std::vector<TopK>& top) {
  std::vector<Hit> out;
  for (TopK& tk : top) {
    tk.finish(out);
    out.push_back({std::numeric_limits<float>::quiet_NaN(), -1});  // row separator
  }
  return out;
}

// A few queries over a large catalogue, scanned by the calling thread and the pool's helpers
// (ThreadPool::share_detached): each keeps one TopK per query and claims blocks of
// BlockScan::kBlock candidates in storage order from a shared counter. A helper reports its
// TopKs after each finished block. When the counter runs out the caller closes the job, takes
// what the helpers reported and scans again itself every block that no one reported done
// (held by a helper the host descheduled, possibly for a whole time slice of the process
// beside it), so it never waits for a helper. A late helper then finishes its block into its
// own copy and drops it. The job owns copies of the queries and filters, and a ReaderGate pass
// keeps the index's storage alive until the last helper is out.
//
// The answer is the single thread's, bit for bit: scores are computed on the same blocks, each
// TopK sees increasing positions (ties go to the lower one), and the merge orders the lists by
// score then position, whoever scanned what and however often.
struct SharedScan {
  BlockScan scan;
  ReaderGate::Pass pass;
  std::vector<float> queries, margin;
  std::vector<uint8_t> allowed;
  std::vector<std::vector<int64_t>> exclude_lists;
  std::vector<std::span<const int64_t>> exclude;
  size_t n = 0, blocks = 0;
  std::atomic<size_t> next{0};
  // The caller's own lists and blocks (written by fn(0) only).
  std::vector<TopK> own;
  std::vector<uint8_t> own_done;
  // Helpers' reports, under `mutex`.
  std::mutex mutex;
  bool closed = false;
  std::vector<std::vector<TopK>> reported;  // per thread (0 unused)
  std::vector<uint8_t> reported_done;       // per block

  void run(size_t t) {
    std::vector<float> s(n * BlockScan::kBlock);
    std::vector<uint32_t> selected(512);
    std::vector<TopK> mine;
    std::vector<TopK>& top = t == 0 ? own : mine;
    scan.start(0, n, top);
    const auto hook = testing::shared_scan_hook.load();
    for (size_t blk; (blk = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
      if (hook) hook(t, blk, false);
      scan.scan(0, n, blk * BlockScan::kBlock, std::min(scan.nc, (blk + 1) * BlockScan::kBlock), top, s, selected);
      if (hook) hook(t, blk, true);
      if (t == 0) {
        own_done[blk] = 1;
        continue;
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (closed) return;
      reported[t] = top;
      reported_done[blk] = 1;
    }
  }
};

}  // namespace

uint64_t CandidateIndex::searches_redone() { return g_searches_redone.load(std::memory_order_relaxed); }

void CandidateIndex::search(const float* queries, size_t n, const SearchOptions& opt, int64_t* ids, float* scores,
                            ThreadPool& pool) const {
  if (opt.k == 0) fail(ErrorKind::invalid_argument, "search: k must be positive");
  if (!opt.exclude.empty() && opt.exclude.size() != n)
    fail(ErrorKind::invalid_argument,
         "search: " + std::to_string(opt.exclude.size()) + " exclusion lists for " + std::to_string(n) + " queries");
  const size_t nc = size(), d = dim(), k = opt.k;
  // Every output offset is below n x k; it must be addressable (and so must its bytes).
  (void)checked_mul(checked_mul(n, k, "search: queries x k"), sizeof(int64_t), "search: queries x k x 8 bytes");
  if (n == 0) return;
  if (approximate(opt)) return partitions_->search(embeddings_, queries, n, opt, ids, scores, pool);
  std::vector<uint8_t> allowed;
  if (!opt.allow.empty()) {
    allowed.assign(nc, 0);
    for (int64_t a : opt.allow)
      if (a >= 0 && static_cast<size_t>(a) < nc) allowed[a] = 1;
  }
  // The compact copy serves few queries, whose scan is bound by memory reads; larger batches
  // are bound by arithmetic, which a compact copy cannot reduce, and take the float32 GEMM.
  const bool compact = scan_precision_ != Precision::f32 && n <= kCompactScanMaxQueries;
  // margin[i]: how far below the approximate k-th best a true top-k candidate can score.
  std::vector<float> margin(n, 0.0f);
  if (compact)
    for (size_t i = 0; i < n; ++i) {
      double n1 = 0.0, n2 = 0.0;
      for (size_t c = 0; c < d; ++c) {
        n1 += std::fabs(queries[i * d + c]);
        n2 += double(queries[i * d + c]) * queries[i * d + c];
      }
      // Never zero, so that the shortlist test (>= threshold) also keeps exact ties.
      margin[i] = std::max(2.0f * approximation_bound(n1, std::sqrt(n2)), std::numeric_limits<float>::min());
    }
  // Work is cut into (query block x candidate slice) tiles. Few queries over many candidates
  // split the candidates, so one query uses every core; many queries split the queries. Each
  // tile keeps its own top-k; tiles of one query block are merged in slice order.
  const size_t qblock = 64;
  const size_t qblocks = (n + qblock - 1) / qblock;
  const size_t threads = static_cast<size_t>(pool.threads());
  const size_t slice_min = 16384;  // candidates: below this a slice is not worth a task
  size_t slices = 1;
  // A small catalogue is scanned on the calling thread: entering the pool costs more than a
  // second thread saves (measured in bench/bench_serving), and the host may be busy.
  const size_t elem = compact ? (scan_precision_ == Precision::bf16 ? 2 : 1) : sizeof(float);
  const bool small = nc * d * elem * n < serial_scan_bytes_;
  if (qblocks < threads && !small) slices = std::max<size_t>(1, std::min(threads * 2 / qblocks, nc / slice_min));
  // Slices start on whole groups of the compact copy.
  const size_t slice_len = ((nc + slices - 1) / slices + kScanGroup - 1) / kScanGroup * kScanGroup;
  const size_t cblock = BlockScan::kBlock;
  BlockScan block_scan;
  block_scan.embeddings = embeddings_.data();
  block_scan.nc = nc;
  block_scan.d = d;
  block_scan.k = k;
  block_scan.precision = scan_precision_;
  block_scan.compact = compact;
  block_scan.bf16 = packed_bf16_.data();
  block_scan.int8 = packed_int8_.data();
  block_scan.scales = packed_scales_.data();
  block_scan.queries = queries;
  block_scan.margin = margin.data();
  block_scan.exclude = opt.exclude;
  block_scan.allowed = allowed.empty() ? nullptr : allowed.data();

  std::vector<std::vector<Hit>> partial;
  if (qblocks == 1 && slices > 1) {
    auto job = std::make_shared<SharedScan>();
    SharedScan& sh = *job;
    sh.pass = ReaderGate::Pass(gate_.gate);
    sh.queries.assign(queries, queries + n * d);
    sh.margin = margin;
    sh.allowed = std::move(allowed);
    for (const auto& e : opt.exclude) sh.exclude_lists.emplace_back(e.begin(), e.end());
    for (const auto& e : sh.exclude_lists) sh.exclude.emplace_back(e);
    sh.scan = block_scan;
    sh.scan.queries = sh.queries.data();
    sh.scan.margin = sh.margin.data();
    sh.scan.allowed = sh.allowed.empty() ? nullptr : sh.allowed.data();
    sh.scan.exclude = sh.exclude;
    sh.n = n;
    sh.blocks = (nc + cblock - 1) / cblock;
    sh.own_done.assign(sh.blocks, 0);
    sh.reported.resize(threads);
    sh.reported_done.assign(sh.blocks, 0);
    pool.share_detached(std::make_shared<const std::function<void(size_t)>>([job](size_t t) { job->run(t); }));
    std::vector<uint8_t> done;
    {
      std::lock_guard<std::mutex> lock(sh.mutex);
      sh.closed = true;
      for (size_t t = 1; t < threads; ++t)
        if (!sh.reported[t].empty()) partial.push_back(finish(sh.reported[t]));
      done = sh.reported_done;
    }
    partial.push_back(finish(sh.own));
    // Blocks a helper claimed but had not reported when the job closed.
    std::vector<TopK> redo;
    bool redone = false;
    std::vector<float> s;
    std::vector<uint32_t> selected;
    for (size_t blk = 0; blk < sh.blocks; ++blk) {
      if (done[blk] || sh.own_done[blk]) continue;
      if (!redone) {
        redone = true;
        s.resize(n * cblock);
        selected.resize(512);
        sh.scan.start(0, n, redo);
      }
      sh.scan.scan(0, n, blk * cblock, std::min(nc, (blk + 1) * cblock), redo, s, selected);
    }
    if (redone) {
      partial.push_back(finish(redo));
      g_searches_redone.fetch_add(1, std::memory_order_relaxed);
    }
    slices = partial.size();  // one list per scanner
  } else {
    partial.resize(qblocks * slices);
    pool.for_each(qblocks * slices, [&](size_t t) {
      const size_t b = t / slices, sl = t % slices;
      const size_t q0 = b * qblock, qn = std::min(qblock, n - q0);
      std::vector<float> s(qn * cblock);
      std::vector<uint32_t> selected(512);
      std::vector<TopK> top;
      block_scan.start(q0, qn, top);
      block_scan.scan(q0, qn, std::min(nc, sl * slice_len), std::min(nc, sl * slice_len + slice_len), top, s, selected);
      partial[t] = finish(top);
    });
  }
  // Merge the slices of each query row; compact scans re-score their shortlist in float32.
  std::vector<Hit> merged;
  for (size_t b = 0; b < qblocks; ++b) {
    const size_t q0 = b * qblock, qn = std::min(qblock, n - q0);
    std::vector<size_t> pos(slices, 0);
    for (size_t r = 0; r < qn; ++r) {
      merged.clear();
      for (size_t sl = 0; sl < slices; ++sl) {
        const auto& p = partial[b * slices + sl];
        if (p.empty()) continue;
        size_t& i = pos[sl];
        for (; p[i].id >= 0; ++i) merged.push_back(p[i]);
        ++i;  // separator
      }
      std::sort(merged.begin(), merged.end(), better);
      if (compact) {
        if (merged.size() > k) {
          const float keep = merged[k - 1].score - margin[q0 + r];
          std::erase_if(merged, [&](const Hit& h) { return h.score < keep; });
        }
        const float* q = queries + (q0 + r) * d;
        for (Hit& h : merged) {
          const float* c = embeddings_.row(static_cast<size_t>(h.id));
          float sc = 0.0f;
          for (size_t i = 0; i < d; ++i) sc += q[i] * c[i];
          h.score = sc;
        }
        std::sort(merged.begin(), merged.end(), better);
      }
      int64_t* out_ids = ids + (q0 + r) * k;
      float* out_scores = scores + (q0 + r) * k;
      size_t m = 0;
      for (size_t i = 0; i < merged.size() && m < k; ++i) {
        out_ids[m] = merged[i].id;
        out_scores[m] = merged[i].score;
        ++m;
      }
      for (; m < k; ++m) {
        out_ids[m] = -1;
        out_scores[m] = -std::numeric_limits<float>::infinity();
      }
    }
  }
}

}  // namespace tt
