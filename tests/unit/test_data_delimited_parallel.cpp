// Parallel CSV/TSV parsing: inputs above the parallel threshold (4 MiB) are cut into pieces of
// whole records and parsed on several threads. Every thread count must give the table a single
// thread gives, and for bad input the same error (the first in the file, with its line), with
// quoted fields holding delimiters, line breaks and doubled quotes, CRLF and empty lines
// anywhere, including across the cuts.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/random.h"
#include "data/delimited.h"
#include "data_test_helpers.h"

using namespace tt;
using tt::test::expect_error;

namespace {

// About `bytes` of CSV: id, a text field (quoted with separators, line breaks and "" in some
// rows), a float; CRLF line ends and empty lines now and then.
std::string make_csv(size_t bytes, uint64_t seed) {
  Rng rng(seed);
  std::string s = "id,text,score\n";
  size_t row = 0;
  while (s.size() < bytes) {
    s += std::to_string(row) + ",";
    switch (rng.below(6)) {
      case 0:
        s += "\"a, b\nc \"\"quoted\"\" " + std::to_string(row) + "\"";
        break;
      case 1:
        s += "\"\"";
        break;
      case 2:
        s += "plain \"inner\" quote";
        break;
      default:
        s += "word" + std::to_string(rng.below(1000));
    }
    s += "," + std::to_string(static_cast<float>(rng.below(100000)) / 8.0f);
    s += rng.below(10) == 0 ? "\r\n" : "\n";
    if (rng.below(50) == 0) s += "\n";
    ++row;
  }
  return s;
}

const std::vector<ColumnSpec> kColumns = {{"score", DType::float32}, {"id", DType::int64}, {"text", DType::string}};

Table parse(const std::string& text, int threads, bool quoting = true, char delimiter = ',') {
  DelimitedOptions o;
  o.threads = threads;
  o.quoting = quoting;
  o.delimiter = delimiter;
  return read_delimited_text(text, "big.csv", kColumns, o);
}

void check_same(const Table& a, const Table& b) {
  REQUIRE(a.num_rows() == b.num_rows());
  CHECK(a.column("id").ints() == b.column("id").ints());
  CHECK(a.column("text").strings() == b.column("text").strings());
  CHECK(a.column("score").floats() == b.column("score").floats());
}

}  // namespace

TEST_CASE("delimited, parallel: every thread count reads the table one thread reads") {
  const std::string csv = make_csv(9u << 20, 1);
  const Table one = parse(csv, 1);
  CHECK(one.num_rows() > 200000);
  CHECK(one.column("id").ints().back() == static_cast<int64_t>(one.num_rows()) - 1);
  for (int threads : {2, 3, 8}) {
    CAPTURE(threads);
    check_same(parse(csv, threads), one);
  }
  // TSV: no quoting, so every line break ends a record.
  std::string tsv = "id\ttext\tscore\n";
  for (int i = 0; tsv.size() < (6u << 20); ++i) tsv += std::to_string(i) + "\t\"x\" y\t" + std::to_string(i % 7) + "\n";
  check_same(parse(tsv, 4, false, '\t'), parse(tsv, 1, false, '\t'));
}

TEST_CASE("delimited, parallel: the error is the first in the file, with its line, at any thread count") {
  std::string csv = make_csv(9u << 20, 2);
  // A bad id three quarters in, and a second one later (a record starts after a line break
  // followed by a digit: quoted line breaks here are followed by a letter).
  auto record_start = [&](size_t from) {
    size_t at = from;
    while ((at = csv.find('\n', at + 1)) != std::string::npos)
      if (at + 1 < csv.size() && csv[at + 1] >= '0' && csv[at + 1] <= '9') return at + 1;
    FAIL("no record start");
    return size_t{0};
  };
  csv.insert(record_start(csv.size() * 3 / 4), "x");
  csv.insert(record_start(csv.size() * 7 / 8), "y");
  const std::string one = expect_error([&] { (void)parse(csv, 1); }).what();
  CHECK(one.find("big.csv:") == 0);
  CHECK(one.find("column 'id'") != std::string::npos);
  for (int threads : {2, 5}) CHECK(std::string(expect_error([&] { (void)parse(csv, threads); }).what()) == one);
  // An unterminated quote near the end: everything after it is one field.
  std::string open = make_csv(9u << 20, 3);
  open.insert(open.rfind("\n", open.size() - 20) + 1, "1,\"never closed,");
  const std::string open_one = expect_error([&] { (void)parse(open, 1); }).what();
  CHECK(std::string(expect_error([&] { (void)parse(open, 4); }).what()) == open_one);
}

TEST_CASE("delimited, parallel: a CSV without quotes cuts at line breaks and reads as on one thread") {
  // No '"' anywhere: the cut skips the quote-following scan (quoting stays on for the parse).
  std::string csv = "id,text,score\n";
  for (int i = 0; csv.size() < (6u << 20); ++i)
    csv += std::to_string(i) + ",w" + std::to_string(i % 97) + "," + std::to_string(i % 13) + (i % 9 ? "\n" : "\r\n");
  const Table one = parse(csv, 1);
  CHECK(one.column("id").ints().back() == static_cast<int64_t>(one.num_rows()) - 1);
  for (int threads : {2, 7}) check_same(parse(csv, threads), one);
}

TEST_CASE("delimited, parallel: invalid UTF-8 deep in a large file names its line and column at any thread count") {
  // The whole-piece UTF-8 pass must find it (a long ASCII run before it, at every alignment of
  // the 8-byte fast path) and the per-field check must then name it as before.
  for (size_t shift : {0u, 1u, 5u, 7u}) {
    CAPTURE(shift);
    std::string csv = make_csv(6u << 20, 4);
    const size_t at = csv.find(",word", csv.size() / 2 + shift) + 1;
    csv.insert(at + 4, "\xC3(");  // a lead byte followed by ASCII: invalid
    const size_t line =
        1 + static_cast<size_t>(std::count(csv.begin(), csv.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    const std::string one = expect_error([&] { (void)parse(csv, 1); }).what();
    CAPTURE(one);
    CHECK(one.find("invalid UTF-8") != std::string::npos);
    CHECK(one.find("column 'text'") != std::string::npos);
    CHECK(one.find(":" + std::to_string(line) + ":") != std::string::npos);  // quoted line breaks before it count
    for (int threads : {2, 4}) CHECK(std::string(expect_error([&] { (void)parse(csv, threads); }).what()) == one);
  }
}
