// Reading a table from a file of either kind the library accepts: a columnar data file
// (data/columnar.h, recognised by its magic bytes, whatever its name) or CSV/TSV text.
#pragma once

#include <string>
#include <vector>

#include "data/delimited.h"
#include "data/table.h"

namespace tt {

// The requested columns with their types, in that order. A columnar file's column stored with
// another type is ErrorKind::parse naming the file, the column and both types.
Table read_table_file(const std::string& path, const std::vector<ColumnSpec>& columns);

// "clicks.csv:17" (the line where data row `row` starts) or "clicks.ttc row 16", for messages.
std::string describe_table_file_row(const std::string& path, size_t row);

// The header's column names of a CSV/TSV file, or a columnar file's column names.
std::vector<std::string> table_file_columns(const std::string& path);

}  // namespace tt
