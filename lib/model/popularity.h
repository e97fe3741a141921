// The most-popular baseline: one list for every query, the catalogue ranked by how often each
// candidate occurs in the training rows. A retrieval model that cannot beat it has learnt
// nothing personal, so every evaluation reports it beside the model's numbers.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/table.h"

namespace tt {

// How often each candidate key (the id column's values, int64 ids in decimal) occurs.
struct CandidateCounts {
  std::unordered_map<std::string, uint64_t> count;
  uint64_t total = 0;  // rows counted
  uint64_t of(const std::string& key) const {
    auto it = count.find(key);
    return it == count.end() ? 0 : it->second;
  }
};

CandidateCounts count_candidates(const Table& rows, const std::string& id_column);

// FactorizedTopK of the most-popular list on (query, candidate) rows of `test` against the
// catalogue (distinct ids only if `distinct`), in the order of `ks`: a row is a hit at k when
// its candidate's position in the list is below k. The list is strict (equal counts keep
// catalogue order), so unlike a model's tied scores a tie never counts as a hit; a candidate
// missing from the catalogue is placed after every candidate with its count.
std::vector<double> most_popular_accuracy(const CandidateCounts& counts, const Table& test, const Table& catalogue,
                                          const std::string& id_column, bool distinct, const std::vector<size_t>& ks);

}  // namespace tt
