// Splits delimited text into records of fields, handling RFC 4180 quoting. Knows nothing about
// headers or types; delimited.cpp builds tables on top of it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/delimited.h"

namespace tt {

class RecordReader {
 public:
  // `text` must outlive the reader. `source_name` is used in messages; `first_line` is the line
  // number of text's first byte (a reader of one piece of a file counts from where it starts).
  RecordReader(std::string_view text, std::string source_name, DelimitedOptions options, size_t first_line = 1);

  // Names used in messages for fields by position (set once the header is read).
  void set_column_names(std::vector<std::string> names) { column_names_ = std::move(names); }

  // Reads the next record, skipping empty lines; false at the end of the input. Throws
  // ErrorKind::parse for an unterminated quote or text after a closing quote.
  bool next();

  size_t num_fields() const { return num_fields_; }
  // Unquoted, unescaped content; valid until the next call to next().
  std::string_view field(size_t i) const { return fields_[i]; }
  // 1-based line where field i starts (a quoted field may span lines).
  size_t field_line(size_t i) const { return field_lines_[i]; }
  // 1-based line where the current record starts.
  size_t line() const { return field_lines_.empty() ? line_ : field_lines_[0]; }
  // The offset just past the current record (where the next one, or empty lines, begin) and
  // the line number there.
  size_t position() const { return pos_; }
  size_t position_line() const { return line_; }
  // "column 'name'" for field i, or "field 7" past the known names.
  std::string describe_field(size_t i) const;

 private:
  std::string& start_field();
  bool read_quoted(std::string& out);  // true if the record ends after this field
  bool read_unquoted(std::string& out);
  void check_no_bare_cr(std::string_view value) const;
  [[noreturn]] void fail_at(size_t line, size_t field, const std::string& msg) const;

  std::string_view text_;
  std::string source_name_;
  DelimitedOptions options_;
  std::vector<std::string> column_names_;
  size_t pos_ = 0;
  size_t line_ = 1;  // line of text_[pos_]
  // Reused across records so that reading does not allocate per field once warmed up.
  std::vector<std::string> fields_;
  std::vector<size_t> field_lines_;
  size_t num_fields_ = 0;
};

}  // namespace tt
