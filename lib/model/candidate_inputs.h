// Where the candidate tower reads an interaction's inputs: from the interaction's own columns
// when they hold every column the candidate tower reads (MovieLens's ratings do, as in TFRS),
// else from the catalogue row with the interaction's candidate id (the catalogue join: the
// interactions then carry the id and the query columns only).
#pragma once

#include <cstdint>
#include <vector>

#include "data/table.h"
#include "model/two_tower_model.h"

namespace tt {

// True when some column the candidate tower reads is not among the interactions' columns.
bool reads_catalogue(const ModelSpec& spec, const Table& interactions);

// Per interaction row, the catalogue row with its candidate id. Throws
// ErrorKind::invalid_argument on duplicate catalogue ids and on an id missing from the catalogue
// (naming the row and the id; the file loaders check earlier, naming file and line).
std::vector<uint32_t> catalogue_rows(const ModelSpec& spec, const Table& interactions, const Table& catalogue);

// The candidate tower's encoded inputs for a table of interactions: `encoded` holds the rows to
// gather from and row(i) is interaction i's row there (the catalogue's rows, encoded once, when
// joined; the interactions' own rows otherwise).
struct CandidateInputs {
  EncodedBatch encoded;
  std::vector<uint32_t> row_of;  // empty: the identity
  size_t row(size_t interaction) const { return row_of.empty() ? interaction : row_of[interaction]; }
};
CandidateInputs encode_candidate_inputs(const TwoTowerModel& model, const Table& interactions, const Table& catalogue);

// A table holding, for every interaction, the catalogue's values of `columns` (for fitting
// candidate features on the interactions when they are joined).
Table joined_columns(const Table& catalogue, const std::vector<uint32_t>& rows,
                     const std::vector<std::string>& columns);

}  // namespace tt
