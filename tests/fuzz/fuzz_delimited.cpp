// libFuzzer target for the CSV/TSV reader (data/delimited.h, data/delimited_records.h): records,
// RFC 4180 quoting, both separators, typed columns. Two control bytes choose the delimiter,
// quoting and the column types (tests/fuzz/delimited_input.h); the columns asked for are the
// header's first fields. Beyond "no crash, a clear error": a table that reads has columns of one
// length, finite floats and UTF-8 strings; it reads as strings too; and with quoting on, its
// strings written back as CSV (every field quoted) read back the same.
// Run: tests/fuzz/run-fuzzer.sh SECONDS delimited
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "data/delimited.h"
#include "data/delimited_records.h"
#include "delimited_input.h"
#include "fuzz_support.h"

using namespace tt;
using namespace tt::fuzz;

namespace {

constexpr const char* kTarget = "fuzz_delimited";
constexpr const char* kSource = "fuzz.csv";
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

std::vector<std::string> header_fields(const DelimitedInput& in) {
  std::string_view text = in.text;
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  RecordReader records(text, kSource, in.options);
  std::vector<std::string> header;
  if (records.next())
    for (size_t i = 0; i < records.num_fields(); ++i) header.emplace_back(records.field(i));
  return header;
}

std::vector<ColumnSpec> columns_to_ask(const DelimitedInput& in, const std::vector<std::string>& header) {
  std::vector<ColumnSpec> cols;
  for (size_t i = 0; i < in.types.size() && i < header.size(); ++i) {
    const bool asked = std::any_of(cols.begin(), cols.end(), [&](const ColumnSpec& c) { return c.name == header[i]; });
    if (!asked) cols.push_back({header[i], in.types[i]});
  }
  if (in.ask_missing || cols.empty()) {
    std::string absent = "absent";
    while (std::find(header.begin(), header.end(), absent) != header.end()) absent += "_";
    cols.push_back({absent, DType::string});
  }
  return cols;
}

void check_table(const Table& t, const std::vector<ColumnSpec>& cols) {
  if (t.num_columns() != cols.size()) finding(kTarget, "the table does not hold the columns asked for");
  for (size_t c = 0; c < cols.size(); ++c) {
    const Column& col = t.columns()[c];
    if (col.name() != cols[c].name || col.dtype() != cols[c].type || col.size() != t.num_rows())
      finding(kTarget, "column " + std::to_string(c) + " has the wrong name, type or length");
    if (col.dtype() == DType::float32)
      for (float v : col.floats())
        if (!std::isfinite(v)) finding(kTarget, "a non-finite float was accepted");
    if (col.dtype() == DType::string)
      for (const std::string& s : col.strings())
        if (find_invalid_utf8(s) != std::string::npos) finding(kTarget, "an invalid UTF-8 string was accepted");
  }
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

// The string table as CSV with every field quoted. The byte-order mark keeps a header name
// that itself starts with one (the reader strips only the first).
std::string write_csv(const Table& t, char delimiter) {
  std::string out(kByteOrderMark);
  for (size_t c = 0; c < t.num_columns(); ++c)
    out += (c ? std::string(1, delimiter) : "") + quoted(t.columns()[c].name());
  out += "\n";
  for (size_t r = 0; r < t.num_rows(); ++r) {
    for (size_t c = 0; c < t.num_columns(); ++c)
      out += (c ? std::string(1, delimiter) : "") + quoted(t.columns()[c].strings()[r]);
    out += "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const DelimitedInput in = decode_delimited(data, size);
  std::vector<std::string> header;
  if (!parses(kTarget, kSource, [&] { header = header_fields(in); })) return 0;
  const std::vector<ColumnSpec> cols = columns_to_ask(in, header);
  Table typed;
  if (!parses(kTarget, kSource, [&] { typed = read_delimited_text(in.text, kSource, cols, in.options); })) return 0;
  check_table(typed, cols);

  std::vector<ColumnSpec> as_strings = cols;
  for (auto& c : as_strings) c.type = DType::string;
  Table strings;
  if (!parses(kTarget, kSource, [&] { strings = read_delimited_text(in.text, kSource, as_strings, in.options); }))
    finding(kTarget, "a file that reads with typed columns does not read as strings");
  if (strings.num_rows() != typed.num_rows()) finding(kTarget, "typed and string reads disagree on the row count");
  if (!in.options.quoting) return 0;

  const std::string again = write_csv(strings, in.options.delimiter);
  Table back;
  if (!parses(kTarget, kSource, [&] { back = read_delimited_text(again, kSource, as_strings, in.options); }))
    finding(kTarget, "the table written back as quoted CSV does not read: " + escape_for_message(again));
  if (back.num_rows() != strings.num_rows()) finding(kTarget, "the quoted CSV written back has another row count");
  for (size_t c = 0; c < strings.num_columns(); ++c)
    if (back.columns()[c].strings() != strings.columns()[c].strings())
      finding(kTarget, "column '" + escape_for_message(strings.columns()[c].name()) + "' changed through quoted CSV");
  return 0;
}
