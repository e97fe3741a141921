#include "data/table_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/regular_file.h"
#include "data/columnar.h"
#include "data/delimited_records.h"

namespace tt {

Table read_table_file(const std::string& path, const std::vector<ColumnSpec>& columns) {
  if (!is_columnar_file(path)) return read_delimited(path, columns);
  std::vector<std::pair<std::string, DType>> wanted;
  for (const auto& c : columns) wanted.emplace_back(c.name, c.type);
  return ColumnarFile::open(path).read(wanted);
}

std::string describe_table_file_row(const std::string& path, size_t row) {
  if (is_columnar_file(path)) return path + " row " + std::to_string(row);
  return path + ":" + std::to_string(delimited_row_line(path, row));
}

std::vector<std::string> table_file_columns(const std::string& path) {
  std::vector<std::string> names;
  if (is_columnar_file(path)) {
    const ColumnarFile file = ColumnarFile::open(path);
    for (const auto& c : file.columns()) names.push_back(c.name);
    return names;
  }
  // The header only: the first 4 MiB hold it (a longer header line reads as unterminated).
  const InputFile file = InputFile::open(path, "data file");
  std::string text(std::min<uint64_t>(file.size(), 4u << 20), '\0');
  const ssize_t got = ::pread(file.fd(), text.data(), text.size(), 0);
  if (got < 0) fail(ErrorKind::io, "cannot read data file '" + path + "': " + std::strerror(errno));
  text.resize(static_cast<size_t>(got));
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  std::string_view view(text);
  if (view.starts_with(kByteOrderMark)) view.remove_prefix(kByteOrderMark.size());
  RecordReader records(view, path, delimited_options_for_path(path));
  if (!records.next()) fail(ErrorKind::parse, path + ":1: empty file, expected a header row naming the columns");
  for (size_t i = 0; i < records.num_fields(); ++i) names.emplace_back(records.field(i));
  return names;
}

}  // namespace tt
