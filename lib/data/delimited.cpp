#include "data/delimited.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <iterator>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/parallel.h"
#include "data/delimited_records.h"
#include "data/parse_number.h"
#include "data/read_file.h"
#include "data/text.h"

namespace tt {
namespace {

// Inputs under this size parse on the calling thread: starting threads costs more.
constexpr size_t kParallelBytes = 4u << 20;
// Pieces are small enough for a few per thread, so that one descheduled thread delays little.
constexpr size_t kPieceBytes = 2u << 20;

// `suffix` is lowercase.
bool ends_with_ignoring_case(const std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                    [](char lower, char c) { return std::tolower(static_cast<unsigned char>(c)) == lower; });
}

// Spaces around a number ("1, 2, 3") are common and unambiguous; inside strings they are data.
std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + quote_for_message(n);
  return out;
}

// One requested column: where it is in each row and the values read so far.
struct Target {
  size_t field;
  Column column;
};

void check_specs(const std::vector<ColumnSpec>& columns) {
  if (columns.empty()) fail(ErrorKind::invalid_argument, "no columns requested");
  for (size_t i = 0; i < columns.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (columns[i].name == columns[j].name)
        fail(ErrorKind::invalid_argument, "column " + quote_for_message(columns[i].name) + " requested twice");
}

void check_utf8(const RecordReader& records, const std::string& source_name) {
  for (size_t i = 0; i < records.num_fields(); ++i) {
    const std::string_view value = records.field(i);
    const size_t bad = find_invalid_utf8(value);
    if (bad != std::string_view::npos)
      fail(ErrorKind::parse, source_name + ":" + std::to_string(records.field_line(i)) + ": " +
                                 records.describe_field(i) + ": invalid UTF-8 (byte " +
                                 quote_for_message(value.substr(bad, 1)) + " at offset " + std::to_string(bad) +
                                 " of the value); convert the file to UTF-8");
  }
}

std::vector<Target> match_header(const std::vector<std::string>& header, const std::vector<ColumnSpec>& columns,
                                 const std::string& source_name, size_t header_line) {
  const std::string where = source_name + ":" + std::to_string(header_line) + ": ";
  // Every missing column at once: fixing a file one error message at a time is tedious.
  std::vector<std::string> missing;
  for (const auto& spec : columns)
    if (std::find(header.begin(), header.end(), spec.name) == header.end()) missing.push_back(spec.name);
  if (!missing.empty())
    fail(ErrorKind::parse, where + (missing.size() == 1 ? "column " : "columns ") + join(missing) +
                               " not found in the header (" + join(header) + ")");
  std::vector<Target> targets;
  for (const auto& spec : columns) {
    const auto found = std::find(header.begin(), header.end(), spec.name);
    if (std::find(found + 1, header.end(), spec.name) != header.end())
      fail(ErrorKind::parse,
           where + "column " + quote_for_message(spec.name) + " appears more than once in the header");
    targets.push_back({static_cast<size_t>(found - header.begin()), Column(spec.name, spec.type)});
  }
  return targets;
}

void check_field_count(const RecordReader& records, const std::vector<std::string>& header,
                       const std::string& source_name) {
  const size_t n = records.num_fields();
  if (n == header.size()) return;
  std::string detail = n < header.size() ? "column " + quote_for_message(header[n]) + " and any after it are missing"
                                         : "extra fields after the last column " + quote_for_message(header.back()) +
                                               " (an unquoted delimiter inside a value?)";
  fail(ErrorKind::parse, source_name + ":" + std::to_string(records.line()) + ": expected " +
                             std::to_string(header.size()) + " fields as in the header, found " + std::to_string(n) +
                             ": " + detail);
}

void append_value(Target& target, const RecordReader& records, const std::string& source_name) {
  const std::string_view text = records.field(target.field);
  const auto fail_value = [&](NumberStatus status) {
    fail(ErrorKind::parse, source_name + ":" + std::to_string(records.field_line(target.field)) + ": " +
                               records.describe_field(target.field) + ": " +
                               describe_number_error(status, text, dtype_name(target.column.dtype())));
  };
  switch (target.column.dtype()) {
    case DType::string:
      target.column.strings().emplace_back(text);
      break;
    case DType::int64: {
      int64_t v = 0;
      if (const NumberStatus s = parse_int64(trim_spaces(text), v); s != NumberStatus::ok) fail_value(s);
      target.column.ints().push_back(v);
      break;
    }
    case DType::float32: {
      float v = 0;
      if (const NumberStatus s = parse_float32(trim_spaces(text), v); s != NumberStatus::ok) fail_value(s);
      target.column.floats().push_back(v);
      break;
    }
  }
}

// Where a piece of the records starts: its offset and the line number there.
struct PieceStart {
  size_t pos;
  size_t line;
};

// Cuts text[begin, end) into pieces of whole records of about `piece_bytes` each: one pass that
// follows the reader's quoting rules (a quote opens a quoted field only at a field's start;
// inside, "" is a quote and a line break is data), so that each cut falls on a line break
// outside quotes. On malformed input the cuts after the first bad record may be wrong; that
// record's piece reports it first, which is all the caller reports.
std::vector<PieceStart> cut_records(std::string_view text, size_t begin, size_t first_line,
                                    const DelimitedOptions& options, size_t piece_bytes) {
  std::vector<PieceStart> out{{begin, first_line}};
  size_t line = first_line;
  size_t next_cut = begin + piece_bytes;
  const char* p = text.data();
  const size_t n = text.size();
  // Without a quote character anywhere, quoting cannot hide a line break: cut at any line break
  // (memchr and count are vectorised; the quote-following loop below reads one byte at a time).
  if (!options.quoting || !std::memchr(p + begin, '"', n - begin)) {
    // No quotes: any line break ends a record, and lines are counted only up to each cut.
    size_t from = begin;
    while (next_cut < n) {
      const void* nl = std::memchr(p + next_cut, '\n', n - next_cut);
      if (!nl) break;
      const size_t cut = static_cast<size_t>(static_cast<const char*>(nl) - p) + 1;
      if (cut >= n) break;
      line += static_cast<size_t>(std::count(p + from, p + cut, '\n'));
      out.push_back({cut, line});
      from = cut;
      next_cut = cut + piece_bytes;
    }
    return out;
  }
  const char d = options.delimiter;
  bool field_start = true;
  for (size_t i = begin; i < n; ++i) {
    const char c = p[i];
    if (c == '\n') {
      ++line;
      field_start = true;
      if (i + 1 >= next_cut && i + 1 < n) {
        out.push_back({i + 1, line});
        next_cut = i + 1 + piece_bytes;
      }
    } else if (c == '"' && field_start) {
      // A quoted field: skip to its closing quote, counting its line breaks.
      for (++i; i < n; ++i) {
        if (p[i] == '"') {
          if (i + 1 < n && p[i + 1] == '"') {
            ++i;
            continue;
          }
          break;
        }
        if (p[i] == '\n') ++line;
      }
      field_start = false;
    } else {
      field_start = c == d;
    }
  }
  return out;
}

// The requested columns of records [begin, end) of `text`.
std::vector<Target> parse_records(std::string_view text, const PieceStart& start, size_t end,
                                  const std::string& source_name, const std::vector<std::string>& header,
                                  const std::vector<Target>& shape, const DelimitedOptions& options) {
  std::vector<Target> targets;
  for (const Target& t : shape) targets.push_back({t.field, Column(t.column.name(), t.column.dtype())});
  const std::string_view piece = text.substr(start.pos, end - start.pos);
  // Fields are substrings of the piece cut at ASCII bytes, so the piece is valid UTF-8 exactly
  // when every field is: one pass over it, and the per-field check (which names the field) only
  // when it fails.
  const bool all_utf8 = find_invalid_utf8(piece) == std::string_view::npos;
  // Columns grow once, from the piece's size and its first record's length; capped at what a
  // piece of whole records can hold (a record has at least a byte per field), so a short first
  // line cannot make a large input reserve far more than it fills.
  const size_t guess_rows = std::min(piece.size() / std::max<size_t>(1, piece.find('\n') + 1) + 1,
                                     kPieceBytes / std::max<size_t>(1, header.size()));
  for (auto& target : targets) target.column.reserve(guess_rows);
  RecordReader records(piece, source_name, options, start.line);
  records.set_column_names(header);
  while (records.next()) {
    check_field_count(records, header, source_name);
    if (!all_utf8) check_utf8(records, source_name);
    for (auto& target : targets) append_value(target, records, source_name);
  }
  return targets;
}

// Appends `from`'s values to `to`, moving strings.
void move_append(Column& to, Column& from) {
  if (to.dtype() == DType::string) {
    auto& src = from.strings();
    to.strings().insert(to.strings().end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
  } else {
    to.append(from);
  }
}

}  // namespace

DelimitedOptions delimited_options_for_path(const std::string& path) {
  if (ends_with_ignoring_case(path, ".tsv") || ends_with_ignoring_case(path, ".tab"))
    return DelimitedOptions{'\t', false};
  return DelimitedOptions{};
}

Table read_delimited(const std::string& path, const std::vector<ColumnSpec>& columns, const DelimitedOptions& options) {
  check_specs(columns);  // before touching the file: a bad call is the caller's error first
  // Mapped, not read: no copy of the file and no fresh pages to fault in (a quarter of the
  // ingest time of a 100 MB file went to the kernel when it was read into a string).
  const MappedFile file = MappedFile::open(path, "data file");
  const auto bytes = file.bytes();
  return read_delimited_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path, columns,
                             options);
}

Table read_delimited(const std::string& path, const std::vector<ColumnSpec>& columns) {
  return read_delimited(path, columns, delimited_options_for_path(path));
}

Table read_delimited_text(std::string_view text, const std::string& source_name, const std::vector<ColumnSpec>& columns,
                          const DelimitedOptions& options) {
  check_specs(columns);
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());

  RecordReader records(text, source_name, options);
  if (!records.next()) fail(ErrorKind::parse, source_name + ":1: empty file, expected a header row naming the columns");
  check_utf8(records, source_name);
  std::vector<std::string> header;
  for (size_t i = 0; i < records.num_fields(); ++i) header.emplace_back(records.field(i));
  std::vector<Target> targets = match_header(header, columns, source_name, records.line());
  records.set_column_names(header);

  const int threads = checked_threads(options.threads, "threads");
  const size_t data_begin = records.position();
  if (text.size() - data_begin < kParallelBytes || threads == 1) {
    targets =
        parse_records(text, {data_begin, records.position_line()}, text.size(), source_name, header, targets, options);
  } else {
    // Pieces of whole records parse on all threads; their columns join in file order, and the
    // first piece that fails (so the first bad record in the file) gives the error.
    const std::vector<PieceStart> pieces = cut_records(text, data_begin, records.position_line(), options, kPieceBytes);
    std::vector<std::vector<Target>> parsed(pieces.size());
    std::vector<std::exception_ptr> errors(pieces.size());
    ThreadPool pool(threads);
    pool.for_each(pieces.size(), [&](size_t i) {
      const size_t end = i + 1 < pieces.size() ? pieces[i + 1].pos : text.size();
      try {
        parsed[i] = parse_records(text, pieces[i], end, source_name, header, targets, options);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
    for (size_t c = 0; c < targets.size(); ++c) {
      Column& column = targets[c].column;
      size_t rows = 0;
      for (const auto& piece : parsed) rows += piece[c].column.size();
      column.reserve(rows);
      for (auto& piece : parsed) {
        move_append(column, piece[c].column);
        piece[c].column = Column(column.name(), column.dtype());
      }
    }
  }
  Table table;
  for (auto& target : targets) table.add(std::move(target.column));
  return table;
}

size_t delimited_row_line(const std::string& path, size_t row) {
  const std::string text = read_file(path, "data file");
  RecordReader records(text, path, delimited_options_for_path(path));
  for (size_t r = 0; r <= row + 1; ++r)
    if (!records.next()) fail(ErrorKind::internal, path + ": has no data row " + std::to_string(row));
  return records.line();
}

}  // namespace tt
