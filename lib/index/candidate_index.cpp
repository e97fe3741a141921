#include "index/candidate_index.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/parallel.h"
#include "nn/dnnl_context.h"

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
// NaN scores (a diverged model, or excluded candidates) are never returned.
void select_top_k(const float* row, size_t n, size_t k, const std::vector<uint8_t>* allowed, std::vector<Hit>& heap, int64_t* ids, float* scores) {
  heap.clear();
  auto worse_first = [](const Hit& a, const Hit& b) { return better(a, b); };
  for (size_t j = 0; j < n; ++j) {
    const float s = row[j];
    if (std::isnan(s)) continue;
    if (allowed && !(*allowed)[j]) continue;
    if (heap.size() < k) {
      heap.push_back({s, static_cast<int64_t>(j)});
      std::push_heap(heap.begin(), heap.end(), worse_first);
    } else if (better({s, static_cast<int64_t>(j)}, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), worse_first);
      heap.back() = {s, static_cast<int64_t>(j)};
      std::push_heap(heap.begin(), heap.end(), worse_first);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  size_t i = 0;
  for (; i < heap.size(); ++i) { ids[i] = heap[i].id; scores[i] = heap[i].score; }
  for (; i < k; ++i) { ids[i] = -1; scores[i] = -std::numeric_limits<float>::infinity(); }
}

}  // namespace

void CandidateIndex::search(const float* queries, size_t n, const SearchOptions& opt, int64_t* ids, float* scores,
                            ThreadPool& pool) const {
  if (opt.k == 0) fail(ErrorKind::invalid_argument, "search: k must be positive");
  if (!opt.exclude.empty() && opt.exclude.size() != n)
    fail(ErrorKind::invalid_argument, "search: " + std::to_string(opt.exclude.size()) + " exclusion lists for " +
                                          std::to_string(n) + " queries");
  const size_t nc = size(), d = dim(), k = opt.k;
  std::vector<uint8_t> allowed;
  if (!opt.allow.empty()) {
    allowed.assign(nc, 0);
    for (int64_t a : opt.allow)
      if (a >= 0 && static_cast<size_t>(a) < nc) allowed[a] = 1;
  }
  const size_t block = 64;  // queries scored together in one GEMM
  const size_t blocks = (n + block - 1) / block;
  pool.for_each(blocks, [&](size_t b) {
    const size_t q0 = b * block, qn = std::min(block, n - q0);
    std::vector<float> s(qn * nc);
    if (nc) sgemm(false, true, qn, nc, d, 1.0f, queries + q0 * d, d, embeddings_.data(), d, 0.0f, s.data(), nc);
    std::vector<Hit> heap;
    for (size_t r = 0; r < qn; ++r) {
      float* row = s.data() + r * nc;
      std::span<const int64_t> ex = opt.exclude.empty() ? std::span<const int64_t>() : opt.exclude[q0 + r];
      for (int64_t e : ex)
        if (e >= 0 && static_cast<size_t>(e) < nc) row[e] = std::numeric_limits<float>::quiet_NaN();
      select_top_k(row, nc, k, allowed.empty() ? nullptr : &allowed, heap, ids + (q0 + r) * k,
                   scores + (q0 + r) * k);
    }
  });
}

}  // namespace tt
