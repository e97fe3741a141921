#include "data/delimited_records.h"

#include <algorithm>

#include "base/error.h"
#include "data/text.h"

namespace tt {

RecordReader::RecordReader(std::string_view text, std::string source_name, DelimitedOptions options, size_t first_line)
    : text_(text), source_name_(std::move(source_name)), options_(options), line_(first_line) {
  const char d = options_.delimiter;
  if (d == '\n' || d == '\r' || (options_.quoting && d == '"'))
    fail(ErrorKind::invalid_argument,
         "delimiter cannot be a line break" + std::string(options_.quoting ? " or '\"' when quoting is on" : ""));
}

std::string RecordReader::describe_field(size_t i) const {
  if (i < column_names_.size()) return "column " + quote_for_message(column_names_[i]);
  return "field " + std::to_string(i + 1);
}

void RecordReader::fail_at(size_t line, size_t field, const std::string& msg) const {
  fail(ErrorKind::parse, source_name_ + ":" + std::to_string(line) + ": " + describe_field(field) + ": " + msg);
}

std::string& RecordReader::start_field() {
  if (num_fields_ == fields_.size()) {
    fields_.emplace_back();
    field_lines_.push_back(0);
  }
  field_lines_[num_fields_] = line_;
  std::string& f = fields_[num_fields_++];
  f.clear();
  return f;
}

bool RecordReader::next() {
  // Skip empty lines (LF or CRLF) between records.
  for (;;) {
    if (pos_ < text_.size() && text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (pos_ + 1 < text_.size() && text_[pos_] == '\r' && text_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
      continue;
    }
    break;
  }
  num_fields_ = 0;
  if (pos_ >= text_.size()) return false;
  for (;;) {
    std::string& field = start_field();
    // A delimiter as the input's last byte leaves pos_ at the end: an empty last field.
    const bool quoted = options_.quoting && pos_ < text_.size() && text_[pos_] == '"';
    const bool record_ends = quoted ? read_quoted(field) : read_unquoted(field);
    if (record_ends) return true;
  }
}

// A file with CR-only line breaks (classic Mac OS, some spreadsheet exports) would otherwise read
// as one long header line whose "columns" hold whole rows: a CR outside quotes that does not
// start a CRLF is refused.
void RecordReader::check_no_bare_cr(std::string_view value) const {
  if (value.find('\r') == std::string_view::npos) return;
  fail_at(line_, num_fields_ - 1,
          "carriage return (CR) not followed by a line feed: the file seems to use CR-only line breaks; convert "
          "them to LF or CRLF (a CR inside a value must be quoted)");
}

// Consumes the end of a field: a delimiter (false: more fields follow), or a line break or the
// end of the input (true).
bool RecordReader::read_unquoted(std::string& out) {
  const char d = options_.delimiter;
  size_t end = pos_;
  while (end < text_.size() && text_[end] != d && text_[end] != '\n') ++end;
  std::string_view value = text_.substr(pos_, end - pos_);
  const bool record_ends = end == text_.size() || text_[end] == '\n';
  if (record_ends && !value.empty() && value.back() == '\r') value.remove_suffix(1);  // CRLF
  check_no_bare_cr(value);
  if (end == text_.size()) {
    pos_ = end;
    out.assign(value);
    return true;
  }
  pos_ = end + 1;
  if (text_[end] == d) {
    out.assign(value);
    return false;
  }
  out.assign(value);
  ++line_;
  return true;
}

bool RecordReader::read_quoted(std::string& out) {
  const size_t open_line = line_;
  const size_t field = num_fields_ - 1;
  ++pos_;  // the opening quote
  for (;;) {
    const size_t close = text_.find('"', pos_);
    if (close == std::string_view::npos)
      fail_at(open_line, field, "unterminated quoted field (the quote opened on this line is never closed)");
    const std::string_view chunk = text_.substr(pos_, close - pos_);
    line_ += static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
    out.append(chunk);
    pos_ = close + 1;
    if (pos_ < text_.size() && text_[pos_] == '"') {  // "" stands for one quote
      out.push_back('"');
      ++pos_;
      continue;
    }
    break;
  }
  if (pos_ == text_.size()) return true;
  const char c = text_[pos_];
  if (c == options_.delimiter) {
    ++pos_;
    return false;
  }
  if (c == '\n') {
    ++pos_;
    ++line_;
    return true;
  }
  if (c == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n')) {
    pos_ += pos_ + 1 == text_.size() ? 1 : 2;
    ++line_;
    return true;
  }
  fail_at(line_, field,
          "unexpected " + quote_for_message(std::string_view(&c, 1)) +
              " after a closing quote (a quote inside a quoted field must be doubled)");
}

}  // namespace tt
