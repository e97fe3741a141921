// Reading users' own rating and catalogue files: CSV (RFC 4180) or TSV with a header row. The
// caller declares which columns it wants and their types; other columns are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/table.h"

namespace tt {

struct ColumnSpec {
  std::string name;  // matched exactly against the header
  DType type;
};

struct DelimitedOptions {
  char delimiter = ',';
  // CSV quoting: a field starting with '"' may hold delimiters, newlines and "" for a quote,
  // and must be followed by a delimiter or line end; a '"' inside an unquoted field is kept as
  // text. Off for TSV, where a quote is always an ordinary character.
  bool quoting = true;
  // Threads parsing the records: 0 means all hardware threads. Any count gives the same table
  // and, for bad input, the same error (the first in the file).
  int threads = 0;
};

// TSV (tab, no quoting) for names ending in .tsv or .tab (any case), CSV otherwise.
DelimitedOptions delimited_options_for_path(const std::string& path);

// Rules: input is UTF-8 (a leading byte-order mark is skipped); lines end in LF or CRLF;
// empty lines are skipped; every row has as many fields as the header; strings are kept
// byte for byte; numbers may have surrounding spaces and must parse completely; there are no
// missing values. Errors are tt::Error (ErrorKind::io for an unreadable file, parse for bad
// content, invalid_argument for bad specs or options) naming source:line and the column.
// The columns of the result follow the order of `columns`.
Table read_delimited(const std::string& path, const std::vector<ColumnSpec>& columns, const DelimitedOptions& options);
// As above with options chosen from the file name by delimited_options_for_path.
Table read_delimited(const std::string& path, const std::vector<ColumnSpec>& columns);

// The 1-based line where data row `row` (0-based, the header not counted) of a delimited file
// starts, for messages about a row found later (it reads the file again: errors only).
size_t delimited_row_line(const std::string& path, size_t row);

// Parses text already in memory; `source_name` stands for the file in messages.
Table read_delimited_text(std::string_view text, const std::string& source_name, const std::vector<ColumnSpec>& columns,
                          const DelimitedOptions& options = {});

}  // namespace tt
