#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "data/delimited.h"
#include "data_test_helpers.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;
using tt::test::TempDir;

namespace {

const std::vector<ColumnSpec> kRatingSpecs{
    {"user_id", DType::string}, {"timestamp", DType::int64}, {"rating", DType::float32}};

Table read_csv(const std::string& text, const std::vector<ColumnSpec>& specs = kRatingSpecs) {
  return read_delimited_text(text, "ratings.csv", specs);
}

// The CSV must fail with a parse error whose message contains each of `parts`.
void check_bad_csv(const std::string& text, std::initializer_list<std::string_view> parts,
                   const std::vector<ColumnSpec>& specs = kRatingSpecs) {
  INFO("csv: ", text);
  const Error e = expect_error([&] { read_csv(text, specs); });
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, parts);
}

}  // namespace

TEST_CASE("delimited: CSV columns are chosen by header name and typed") {
  const Table t = read_csv("rating,extra,user_id,timestamp\n4.5,x,u1,100\n1,y,u2,-7\n");
  REQUIRE(t.num_columns() == 3);
  CHECK(t.columns()[0].name() == "user_id");  // the order of the specs, not the file
  CHECK(t.columns()[2].name() == "rating");
  CHECK_FALSE(t.has("extra"));
  CHECK(t.column("user_id").strings() == Column::Strings{"u1", "u2"});
  CHECK(t.column("timestamp").ints() == Column::Ints{100, -7});
  CHECK(t.column("rating").floats() == Column::Floats{4.5f, 1.0f});
}

TEST_CASE("delimited: RFC 4180 quoting, escapes, embedded newlines and CRLF") {
  const std::string csv =
      "user_id,timestamp,rating,title\r\n"
      "\"a,b\",1,2,\"He said \"\"hi\"\"\"\r\n"
      "\"multi\nline\",2,3,\"x\r\ny\"\r\n"
      "\"\",3,4,plain\r\n";
  const std::vector<ColumnSpec> specs{
      {"user_id", DType::string}, {"title", DType::string}, {"timestamp", DType::int64}};
  const Table t = read_csv(csv, specs);
  CHECK(t.column("user_id").strings() == Column::Strings{"a,b", "multi\nline", ""});
  CHECK(t.column("title").strings() == Column::Strings{"He said \"hi\"", "x\r\ny", "plain"});
  CHECK(t.column("timestamp").ints() == Column::Ints{1, 2, 3});
}

TEST_CASE("delimited: empty lines, a missing final newline, a BOM and empty trailing fields") {
  const std::vector<ColumnSpec> specs{{"a", DType::string}, {"b", DType::string}};
  const Table t = read_csv(
      "\xEF\xBB\xBF"
      "a,b\n\nx,\n\r\n,y",
      specs);
  CHECK(t.column("a").strings() == Column::Strings{"x", ""});
  CHECK(t.column("b").strings() == Column::Strings{"", "y"});
  CHECK(read_csv("user_id,timestamp,rating\n").num_rows() == 0);
}

TEST_CASE("delimited: numbers allow spaces, signs and exponents but nothing else") {
  const Table t = read_csv("user_id,timestamp,rating\nu, +12 ,1e-3\nv,-9223372036854775808, -2.5e2\nw,0,1e-50\n");
  CHECK(t.column("timestamp").ints() == Column::Ints{12, INT64_MIN, 0});
  CHECK(t.column("rating").floats()[0] == doctest::Approx(0.001f));
  CHECK(t.column("rating").floats()[1] == -250.0f);
  CHECK(t.column("rating").floats()[2] == 0.0f);  // underflow rounds to zero
}

TEST_CASE("delimited: TSV splits on tabs and treats quotes as text") {
  const DelimitedOptions tsv{'\t', false};
  const Table t =
      read_delimited_text("user_id\ttimestamp\trating\n\"q\"\t5\t2\nx,y\t6\t3\r\n", "r.tsv", kRatingSpecs, tsv);
  CHECK(t.column("user_id").strings() == Column::Strings{"\"q\"", "x,y"});
  CHECK(t.column("timestamp").ints() == Column::Ints{5, 6});
}

TEST_CASE("delimited: options follow the file extension") {
  CHECK(delimited_options_for_path("a/b.tsv").delimiter == '\t');
  CHECK_FALSE(delimited_options_for_path("a/b.TSV").quoting);
  CHECK(delimited_options_for_path("b.tab").delimiter == '\t');
  CHECK(delimited_options_for_path("b.csv").delimiter == ',');
  CHECK(delimited_options_for_path("b.csv").quoting);
  CHECK(delimited_options_for_path("tsv").delimiter == ',');
}

TEST_CASE("delimited: reading files picks CSV or TSV by extension") {
  TempDir dir;
  const std::string tsv = dir.write("r.tsv", "user_id\ttimestamp\trating\nu,1\t7\t1.5\n");
  const Table t = read_delimited(tsv, kRatingSpecs);
  CHECK(t.column("user_id").strings() == Column::Strings{"u,1"});
  const std::string csv = dir.write("r.csv", "user_id,timestamp,rating\n\"u\t1\",7,1.5\n");
  CHECK(read_delimited(csv, kRatingSpecs).column("user_id").strings() == Column::Strings{"u\t1"});

  const Error missing = expect_error([&] { read_delimited(dir.path() + "/absent.csv", kRatingSpecs); });
  CHECK(missing.kind() == ErrorKind::io);
  check_message_has(missing, {"absent.csv"});
  const Error bad =
      expect_error([&] { read_delimited(dir.write("bad.csv", "user_id,timestamp,rating\nu,x,1\n"), kRatingSpecs); });
  check_message_has(bad, {"bad.csv:2:", "column 'timestamp'"});
}

TEST_CASE("delimited: a declared column missing from the header is named with the header") {
  check_bad_csv("user_id,time,rating\nu,1,2\n",
                {"ratings.csv:1:", "'timestamp' not found", "'user_id', 'time', 'rating'"});
  // A TSV read as CSV shows up the same way, its tabs escaped (as every control byte in a message).
  check_bad_csv("user_id\ttimestamp\trating\n", {"'user_id\\x09timestamp\\x09rating'"});
  check_bad_csv("user_id,timestamp,rating,timestamp\n", {"'timestamp' appears more than once"});
  // Every missing column is named at once, not only the first.
  check_bad_csv("user_id,time,score\nu,1,2\n",
                {"ratings.csv:1:", "columns 'timestamp', 'rating' not found", "'user_id', 'time', 'score'"});
}

TEST_CASE("delimited: CR-only line breaks are refused, not read as one header line") {
  check_bad_csv("user_id,timestamp,rating\ru,1,2\rv,3,4\r",
                {"ratings.csv:1:", "field 3", "CR-only line breaks", "convert them to LF or CRLF"});
  // Mixed: LF records with a stray CR-only break inside.
  check_bad_csv("user_id,timestamp,rating\nu,1,2\rv,3,4\n", {"ratings.csv:2:", "column 'rating'", "carriage return"});
  // CRLF and a quoted CR stay fine.
  const Table t = read_csv("user_id,timestamp,rating\r\n\"a\rb\",1,2\r\n", kRatingSpecs);
  CHECK(t.column("user_id").strings() == Column::Strings{"a\rb"});
}

TEST_CASE("delimited: wrong field counts name the line and the column") {
  check_bad_csv("user_id,timestamp,rating\nu,1,2\nv,3\n",
                {"ratings.csv:3:", "expected 3 fields", "found 2", "'rating'"});
  check_bad_csv("user_id,timestamp,rating\nu,1,2,9\n", {"ratings.csv:2:", "found 4", "'rating'"});
  // Line numbers count the physical lines of an earlier multi-line field.
  check_bad_csv("user_id,timestamp,rating\n\"a\nb\nc\",1,2\nv,3\n", {"ratings.csv:5:", "found 2"});
}

TEST_CASE("delimited: unparsable and overflowing numbers are errors") {
  check_bad_csv("user_id,timestamp,rating\nu,12abc,1\n",
                {"ratings.csv:2:", "column 'timestamp'", "'12abc' is not a valid int64"});
  check_bad_csv("user_id,timestamp,rating\nu,9223372036854775808,1\n",
                {"ratings.csv:2:", "column 'timestamp'", "out of range for int64"});
  check_bad_csv("user_id,timestamp,rating\nu,1.0,1\n", {"column 'timestamp'", "not a valid int64"});
  check_bad_csv("user_id,timestamp,rating\nu,1,1e39\n",
                {"ratings.csv:2:", "column 'rating'", "out of range for float32"});
  check_bad_csv("user_id,timestamp,rating\nu,1,nan\n", {"column 'rating'", "not a finite float32"});
  check_bad_csv("user_id,timestamp,rating\nu,1,-inf\n", {"column 'rating'", "not a finite float32"});
  check_bad_csv("user_id,timestamp,rating\nu,1,0x10\n", {"column 'rating'", "not a valid float32"});
  check_bad_csv("user_id,timestamp,rating\nu,1,\n", {"ratings.csv:2:", "column 'rating'", "empty value"});
  check_bad_csv("user_id,timestamp,rating\nu,1,2\nu,2,3\nu,,4\n",
                {"ratings.csv:4:", "column 'timestamp'", "empty value"});
}

TEST_CASE("delimited: an unterminated quote names the line where it opened") {
  check_bad_csv("user_id,timestamp,rating\nu,1,2\n\"v,1,2\nw,3,4\n",
                {"ratings.csv:3:", "column 'user_id'", "unterminated"});
  check_bad_csv("user_id,timestamp,rating\nu,1,\"2", {"ratings.csv:2:", "column 'rating'", "unterminated"});
  check_bad_csv("user_id,timestamp,rating\n\"u\"x,1,2\n",
                {"ratings.csv:2:", "column 'user_id'", "after a closing quote"});
}

TEST_CASE("delimited: invalid UTF-8 names the line and column") {
  check_bad_csv("user_id,timestamp,rating\nok,1,2\nMis\xE9rables,1,2\n",
                {"ratings.csv:3:", "column 'user_id'", "invalid UTF-8", "\\xE9"});
  // Also in columns that are not read, and in the header.
  check_bad_csv("user_id,timestamp,rating,note\nu,1,2,\xC3\x28\n",
                {"ratings.csv:2:", "column 'note'", "invalid UTF-8"});
  check_bad_csv("user_id,timestamp,rating,n\xFFte\nu,1,2,3\n", {"ratings.csv:1:", "invalid UTF-8"});
  // Valid multi-byte text is kept as is.
  const Table t = read_csv("user_id,timestamp,rating\nMis\xC3\xA9rables \xF0\x9F\x8E\xAC,1,2\n");
  CHECK(t.column("user_id").strings()[0] == "Mis\xC3\xA9rables \xF0\x9F\x8E\xAC");
}

TEST_CASE("delimited: an empty file has no header") {
  check_bad_csv("", {"ratings.csv:1:", "empty file", "header"});
  check_bad_csv("\n\r\n\n", {"ratings.csv:1:", "empty file"});
}

TEST_CASE("delimited: bad specs and options are the caller's error") {
  const auto check_invalid = [](auto&& f) { CHECK(expect_error(f).kind() == ErrorKind::invalid_argument); };
  check_invalid([] { read_csv("a\n1\n", {}); });
  check_invalid([] { read_csv("a\n1\n", {{"a", DType::int64}, {"a", DType::string}}); });
  check_invalid([] { read_delimited_text("a\n", "x", {{"a", DType::string}}, DelimitedOptions{'"', true}); });
  check_invalid([] { read_delimited_text("a\n", "x", {{"a", DType::string}}, DelimitedOptions{'\n', false}); });
}
