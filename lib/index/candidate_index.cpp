#include "index/candidate_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/parallel.h"
#include "nn/dnnl_context.h"
#include "nn/row_kernels.h"

namespace tt {

CandidateIndex::CandidateIndex(std::vector<std::string> keys, Matrix embeddings)
    : keys_(std::move(keys)), embeddings_(std::move(embeddings)) {
  if (keys_.size() != embeddings_.rows())
    fail(ErrorKind::invalid_argument, "candidate index: " + std::to_string(keys_.size()) + " keys for " +
                                          std::to_string(embeddings_.rows()) + " embeddings");
  position_.reserve(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) position_.emplace(keys_[i], static_cast<int64_t>(i));
}

int64_t CandidateIndex::key_position(std::string_view key) const {
  auto it = position_.find(key);
  return it == position_.end() ? -1 : it->second;
}

std::vector<int64_t> CandidateIndex::key_positions(std::string_view key) const {
  std::vector<int64_t> out;
  const int64_t first = key_position(key);
  if (first < 0) return out;
  for (size_t i = static_cast<size_t>(first); i < keys_.size(); ++i)
    if (keys_[i] == key) out.push_back(static_cast<int64_t>(i));
  return out;
}

namespace {

struct Hit {
  float score;
  int64_t id;
};
// Better = higher score, then lower position.
inline bool better(const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

// Keeps the k best of a row of scores with a bounded heap (min-heap on "better").
}  // namespace

void CandidateIndex::search(const float* queries, size_t n, const SearchOptions& opt, int64_t* ids, float* scores,
                            ThreadPool& pool) const {
  if (opt.k == 0) fail(ErrorKind::invalid_argument, "search: k must be positive");
  if (!opt.exclude.empty() && opt.exclude.size() != n)
    fail(ErrorKind::invalid_argument, "search: " + std::to_string(opt.exclude.size()) + " exclusion lists for " +
                                          std::to_string(n) + " queries");
  const size_t nc = size(), d = dim(), k = opt.k;
  if (n == 0) return;
  std::vector<uint8_t> allowed;
  if (!opt.allow.empty()) {
    allowed.assign(nc, 0);
    for (int64_t a : opt.allow)
      if (a >= 0 && static_cast<size_t>(a) < nc) allowed[a] = 1;
  }
  // Work is cut into (query block x candidate slice) tiles. Few queries over many candidates
  // split the candidates, so one query uses every core; many queries split the queries. Each
  // tile keeps its own top-k; tiles of one query block are merged in slice order.
  const size_t qblock = 64;
  const size_t qblocks = (n + qblock - 1) / qblock;
  const size_t threads = static_cast<size_t>(pool.threads());
  const size_t slice_min = 16384;  // candidates: below this a slice is not worth a task
  size_t slices = 1;
  if (qblocks < threads) slices = std::max<size_t>(1, std::min(threads * 2 / qblocks, nc / slice_min));
  const size_t slice_len = (nc + slices - 1) / std::max<size_t>(slices, 1);
  // Scores are computed in sub-blocks of candidates so the score tile stays in cache.
  const size_t cblock = 4096;

  std::vector<std::vector<Hit>> partial(qblocks * slices);
  pool.for_each(qblocks * slices, [&](size_t t) {
    const size_t b = t / slices, sl = t % slices;
    const size_t q0 = b * qblock, qn = std::min(qblock, n - q0);
    const size_t c_begin = std::min(nc, sl * slice_len), c_end = std::min(nc, c_begin + slice_len);
    std::vector<float> s(qn * cblock);
    std::vector<std::vector<Hit>> heaps(qn);
    auto worse_first = [](const Hit& a, const Hit& b2) { return better(a, b2); };
    std::vector<uint32_t> selected(512);
    for (size_t c0 = c_begin; c0 < c_end; c0 += cblock) {
      const size_t cn = std::min(cblock, c_end - c0);
      sgemm(false, true, qn, cn, d, 1.0f, queries + q0 * d, d, embeddings_.row(c0), d, 0.0f, s.data(), cn);
      for (size_t r = 0; r < qn; ++r) {
        float* row = s.data() + r * cn;
        if (!opt.exclude.empty())
          for (int64_t e : opt.exclude[q0 + r])
            if (e >= static_cast<int64_t>(c0) && e < static_cast<int64_t>(c0 + cn))
              row[e - static_cast<int64_t>(c0)] = std::numeric_limits<float>::quiet_NaN();
        auto& heap = heaps[r];
        auto consider = [&](size_t j) {
          const float sc = row[j];
          const int64_t id = static_cast<int64_t>(c0 + j);
          if (std::isnan(sc) || (!allowed.empty() && !allowed[c0 + j])) return;
          if (heap.size() < k) {
            heap.push_back({sc, id});
            std::push_heap(heap.begin(), heap.end(), worse_first);
          } else if (better({sc, id}, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), worse_first);
            heap.back() = {sc, id};
            std::push_heap(heap.begin(), heap.end(), worse_first);
          }
        };
        size_t j = 0;
        for (; j < cn && heap.size() < k; ++j) consider(j);
        // Once the heap is full only scores above its worst can enter (a tie loses to the lower
        // position already held), so a vector filter skips almost every score. The filter runs
        // on short runs so that its threshold follows the heap as it improves.
        constexpr size_t run = 512;
        for (; j < cn; j += run) {
          const size_t len = std::min(run, cn - j);
          const size_t m = row_select_greater(row + j, len, heap.front().score, selected.data());
          for (size_t i = 0; i < m; ++i) consider(j + selected[i]);
        }
      }
    }
    // NaN scores (excluded candidates, or a diverged model) never enter a heap.
    std::vector<Hit> out;
    for (size_t r = 0; r < qn; ++r) {
      std::sort(heaps[r].begin(), heaps[r].end(), better);
      out.insert(out.end(), heaps[r].begin(), heaps[r].end());
      out.push_back({std::numeric_limits<float>::quiet_NaN(), -1});  // row separator
    }
    partial[t] = std::move(out);
  });
  // Merge the slices of each query row.
  std::vector<Hit> merged;
  for (size_t b = 0; b < qblocks; ++b) {
    const size_t q0 = b * qblock, qn = std::min(qblock, n - q0);
    std::vector<size_t> pos(slices, 0);
    for (size_t r = 0; r < qn; ++r) {
      merged.clear();
      for (size_t sl = 0; sl < slices; ++sl) {
        const auto& p = partial[b * slices + sl];
        size_t& i = pos[sl];
        for (; p[i].id >= 0; ++i) merged.push_back(p[i]);
        ++i;  // separator
      }
      std::sort(merged.begin(), merged.end(), better);
      int64_t* out_ids = ids + (q0 + r) * k;
      float* out_scores = scores + (q0 + r) * k;
      size_t m = 0;
      for (size_t i = 0; i < merged.size() && m < k; ++i) {
        out_ids[m] = merged[i].id;
        out_scores[m] = merged[i].score;
        ++m;
      }
      for (; m < k; ++m) { out_ids[m] = -1; out_scores[m] = -std::numeric_limits<float>::infinity(); }
    }
  }
}

}  // namespace tt
