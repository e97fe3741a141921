// One rank's share of a columnar interactions file in a distributed run (docs/distributed.md,
// "What each rank reads and holds"): the rank keeps in memory only its range of the split's
// training rows and of its test rows, not the whole table. The preprocessing, which must be the
// same on every rank, is fitted by the streamed passes over the file (fit_preprocessing_streamed:
// only distinct values, token counts, ranges and sums are held), in which the rank also picks
// out its rows and counts the training rows' candidates.
#pragma once

#include <string>
#include <vector>

#include "data/columnar.h"
#include "model/popularity.h"
#include "model/two_tower_model.h"

namespace tt {

struct RankShare {
  explicit RankShare(const ModelSpec& spec) : model(spec) {}
  TwoTowerModel model;  // preprocessing fitted on every row, as fit_preprocessing on the whole table
  // Rows [first, last) of rank_rows(...) of the split's training rows and of its test rows, in
  // the order split_for_spec gives them: exactly the rows fit_retrieval_model's distributed
  // path trains and evaluates this rank on, when it loads the whole table.
  Table train, test;
  CandidateCounts counts;  // of all training rows (every rank's)
  std::vector<std::string> warnings;
  size_t train_rows = 0, test_rows = 0;  // of the whole split
};

// Rank `rank` of `ranks`'s share of `file` for `spec` with `catalogue` (every row read
// `chunk_rows` at a time). The split is split_for_spec's (data.validation_rows must be 0, as in
// every distributed run). Errors as fit_streamed's: columns of the wrong type, an id missing from
// the catalogue (joined interactions) or too many missing ids (data.max_unknown_candidates).
RankShare read_rank_share(const ModelSpec& spec, const ColumnarFile& file, const Table& catalogue, size_t rank,
                          size_t ranks, size_t chunk_rows);

}  // namespace tt
