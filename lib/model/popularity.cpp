#include "model/popularity.h"

#include <algorithm>
#include <numeric>

#include "model/retrieval_model.h"

namespace tt {

CandidateCounts count_candidates(const Table& rows, const std::string& id_column) {
  CandidateCounts c;
  for (const std::string& key : candidate_keys(rows, id_column)) ++c.count[key];
  c.total = rows.num_rows();
  return c;
}

std::vector<double> most_popular_accuracy(const CandidateCounts& counts, const Table& test, const Table& catalogue,
                                          const std::string& id_column, bool distinct, const std::vector<size_t>& ks) {
  std::vector<std::string> keys = candidate_keys(catalogue, id_column);
  if (distinct) {
    std::unordered_map<std::string, char> seen;
    std::erase_if(keys, [&](const std::string& k) { return !seen.emplace(k, 0).second; });
  }
  std::vector<uint64_t> n(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) n[i] = counts.of(keys[i]);
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return n[a] > n[b]; });
  // A key's position: that of its first catalogue row in the list.
  std::unordered_map<std::string, size_t> position;
  for (size_t r = 0; r < order.size(); ++r) position.emplace(keys[order[r]], r);
  std::vector<uint64_t> sorted(order.size());
  for (size_t r = 0; r < order.size(); ++r) sorted[r] = n[order[r]];

  std::vector<double> hits(ks.size(), 0.0);
  const std::vector<std::string> wanted = candidate_keys(test, id_column);
  for (const std::string& key : wanted) {
    size_t pos;
    if (auto it = position.find(key); it != position.end()) {
      pos = it->second;
    } else {  // after every catalogue row counted at least as often
      const uint64_t c = counts.of(key);
      pos = static_cast<size_t>(std::upper_bound(sorted.begin(), sorted.end(), c, std::greater<uint64_t>()) -
                                sorted.begin());
    }
    for (size_t j = 0; j < ks.size(); ++j)
      if (pos < ks[j]) hits[j] += 1.0;
  }
  if (!wanted.empty())
    for (double& h : hits) h /= static_cast<double>(wanted.size());
  return hits;
}

}  // namespace tt
