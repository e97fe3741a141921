// Interactions joined to the candidate catalogue: each interaction names a candidate by its id,
// and the candidate's features live once, in the catalogue row with that id.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/table.h"

namespace tt {

// Describes a row for messages ("clicks.csv:17", "interactions row 16").
using RowLocator = std::function<std::string(size_t row)>;

struct CatalogueJoin {
  // Per interaction row: its catalogue row, or kNoCatalogueRow when the id is not in the catalogue.
  std::vector<uint32_t> catalogue_row;
  size_t missing = 0;  // rows whose id is not in the catalogue
  size_t first_missing = SIZE_MAX;
  static constexpr uint32_t kNoCatalogueRow = UINT32_MAX;
};

// Looks up column `id_column` of every interaction in the same column of the catalogue. Both
// must be string or int64, of the same type. Throws ErrorKind::invalid_argument when a
// catalogue id appears twice (naming both rows through `where_catalogue`) or the catalogue has
// 2^32-1 rows or more. Missing ids are counted, not refused: the caller decides.
CatalogueJoin join_catalogue(const Table& interactions, const Table& catalogue, const std::string& id_column,
                             const RowLocator& where_catalogue);

// The id of interaction row `row` as text, for messages.
std::string id_for_message(const Table& interactions, const std::string& id_column, size_t row);

}  // namespace tt
