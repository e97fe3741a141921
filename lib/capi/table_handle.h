// tt_table: columns appended in batches, in any order; made into a tt::Table (which requires
// equal lengths) when a call consumes it.
#pragma once

#include <vector>

#include "data/table.h"
#include "twotower/twotower.h"

struct tt_table {
  std::vector<tt::Column> columns;

  tt::Column& column_for_append(const char* name, tt::DType type);
  // Checks equal lengths and returns a copy as a tt::Table (throws invalid_argument otherwise).
  tt::Table to_table() const;
};
