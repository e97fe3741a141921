#include "index/topk_merge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"

namespace tt {

namespace {

struct Entry {
  float score;
  int64_t id;
  size_t list;
};

// CandidateIndex::search's order: higher score first, ties to the lower id.
bool better(const Entry& a, const Entry& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

}  // namespace

void merge_topk(std::span<const int64_t* const> ids, std::span<const float* const> scores, size_t rows, size_t k_in,
                size_t k, int64_t* out_ids, float* out_scores) {
  if (ids.size() != scores.size())
    fail(ErrorKind::invalid_argument, "top-k merge: " + std::to_string(ids.size()) + " id lists and " +
                                          std::to_string(scores.size()) + " score lists");
  if (k == 0) fail(ErrorKind::invalid_argument, "top-k merge: k must be positive");
  (void)checked_mul(checked_mul(rows, k, "top-k merge: rows x k"), sizeof(int64_t), "top-k merge: rows x k x 8 bytes");
  (void)checked_mul(checked_mul(rows, k_in, "top-k merge: rows x k_in"), sizeof(int64_t),
                    "top-k merge: rows x k_in x 8 bytes");
  for (size_t s = 0; s < ids.size(); ++s)
    if (rows && k_in && (!ids[s] || !scores[s]))
      fail(ErrorKind::invalid_argument, "top-k merge: list " + std::to_string(s) + " is NULL");
  // Written at the end, so that bad input leaves the outputs untouched.
  std::vector<int64_t> merged_ids(rows * k);
  std::vector<float> merged_scores(rows * k);
  std::vector<Entry> row;
  for (size_t r = 0; r < rows; ++r) {
    row.clear();
    for (size_t s = 0; s < ids.size(); ++s)
      for (size_t j = 0; j < k_in; ++j) {
        const int64_t id = ids[s][r * k_in + j];
        const float score = scores[s][r * k_in + j];
        auto where = [&] {
          return "top-k merge: list " + std::to_string(s) + ", row " + std::to_string(r) + ", slot " +
                 std::to_string(j);
        };
        if (id == -1) continue;  // an empty slot
        if (id < -1)
          fail(ErrorKind::invalid_argument, where() + ": id " + std::to_string(id) + " (ids are >= 0, -1 empty)");
        if (std::isnan(score))
          fail(ErrorKind::invalid_argument, where() + ": the score of id " + std::to_string(id) + " is NaN");
        row.push_back({score, id, s});
      }
    std::sort(row.begin(), row.end(),
              [](const Entry& a, const Entry& b) { return a.id < b.id || (a.id == b.id && a.list < b.list); });
    for (size_t i = 1; i < row.size(); ++i)
      if (row[i].id == row[i - 1].id) {
        const std::string lists = row[i].list == row[i - 1].list ? "twice in list " + std::to_string(row[i].list)
                                                                 : "in list " + std::to_string(row[i - 1].list) +
                                                                       " and list " + std::to_string(row[i].list);
        fail(ErrorKind::invalid_argument, "top-k merge: row " + std::to_string(r) + ": id " +
                                              std::to_string(row[i].id) + " is " + lists +
                                              "; merge the answers of disjoint shards");
      }
    const size_t m = std::min(k, row.size());
    std::partial_sort(row.begin(), row.begin() + static_cast<ptrdiff_t>(m), row.end(), better);
    for (size_t i = 0; i < k; ++i) {
      merged_ids[r * k + i] = i < m ? row[i].id : -1;
      merged_scores[r * k + i] = i < m ? row[i].score : -std::numeric_limits<float>::infinity();
    }
  }
  std::copy(merged_ids.begin(), merged_ids.end(), out_ids);
  std::copy(merged_scores.begin(), merged_scores.end(), out_scores);
}

}  // namespace tt
