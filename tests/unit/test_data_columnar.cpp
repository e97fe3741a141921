// The columnar data file: round trips of every column type (blocks of several sizes, empty
// tables, strings with a shared dictionary), row ranges, typed reads, and damage refused with
// ErrorKind::corrupt naming the file: truncation, flipped bytes in the header, directory,
// dictionary and a block, a newer format version; CSV and columnar files read alike.
#include <doctest/doctest.h>
#include <xxhash.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "data/table_file.h"
#include "data_test_helpers.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;
using tt::test::TempDir;

namespace {

Table sample(size_t rows) {
  std::vector<int64_t> ids;
  std::vector<std::string> titles;
  std::vector<float> w;
  for (size_t i = 0; i < rows; ++i) {
    ids.push_back(static_cast<int64_t>(i * 7919 % 1000) - 500);
    titles.push_back(i % 5 == 0 ? "" : "title " + std::to_string(i % 17) + " caf\xC3\xA9");
    w.push_back(i % 11 == 0 ? std::numeric_limits<float>::infinity() : 0.25f * static_cast<float>(i));
  }
  Table t;
  t.add(Column("item_id", ids));
  t.add(Column("title", titles));
  t.add(Column("weight", w));
  return t;
}

void check_same(const Table& a, const Table& b) {
  REQUIRE(a.num_rows() == b.num_rows());
  REQUIRE(a.num_columns() == b.num_columns());
  for (size_t i = 0; i < a.num_columns(); ++i) {
    const Column& x = a.columns()[i];
    const Column& y = b.columns()[i];
    CHECK(x.name() == y.name());
    REQUIRE(x.dtype() == y.dtype());
    if (x.dtype() == DType::string) CHECK(x.strings() == y.strings());
    if (x.dtype() == DType::int64) CHECK(x.ints() == y.ints());
    if (x.dtype() == DType::float32) CHECK(x.floats() == y.floats());
  }
}

ColumnarWriteOptions blocks_of(uint32_t n) {
  ColumnarWriteOptions o;
  o.block_rows = n;
  return o;
}

}  // namespace

TEST_CASE("columnar: tables round-trip for every block size, including empty and one-row tables") {
  for (size_t rows : {0, 1, 5, 100, 1000}) {
    for (uint32_t block : {1u, 3u, 64u, kDefaultBlockRows}) {
      CAPTURE(rows);
      CAPTURE(block);
      const Table t = sample(rows);
      const std::vector<uint8_t> bytes = columnar_bytes(t, blocks_of(block));
      CHECK(is_columnar(bytes));
      const ColumnarFile f = ColumnarFile::from_bytes(bytes, "t.ttc");
      CHECK(f.num_rows() == rows);
      CHECK(f.block_rows() == block);
      CHECK(f.num_blocks() == (rows + block - 1) / block);
      check_same(f.read_rows(0, rows), t);
      // The same table gives the same bytes.
      CHECK(columnar_bytes(t, blocks_of(block)) == bytes);
    }
  }
}

TEST_CASE("columnar: strings are stored once each; row ranges and typed reads") {
  const Table t = sample(1000);
  const std::vector<uint8_t> bytes = columnar_bytes(t, blocks_of(64));
  const ColumnarFile f = ColumnarFile::from_bytes(bytes, "t.ttc");
  CHECK(f.column("title").dictionary_count == 18);  // 17 titles and the empty string
  // 1000 titles of ~14 bytes would take 14 kB as text; codes take 4 kB.
  CHECK(bytes.size() < 1000 * (8 + 4 + 4) + 4096);
  std::vector<size_t> range(870);
  for (size_t i = 0; i < range.size(); ++i) range[i] = 130 + i;
  Table expected;
  expected.add(t.column("weight").take(range));
  expected.add(t.column("item_id").take(range));
  check_same(f.read_rows(130, 1000, {"weight", "item_id"}), expected);
  CHECK(f.read_rows(5, 5).num_rows() == 0);
  Error e = expect_error([&] { (void)f.read_rows(10, 1001); });
  check_message_has(e, {"t.ttc: rows 10..1001", "1000 rows"});
  e = expect_error([&] { (void)f.read_rows(0, 1, {"nope"}); });
  check_message_has(e, {"t.ttc: no column 'nope'", "'item_id', 'title', 'weight'"});
  e = expect_error([&] { (void)f.read({{"title", DType::int64}}); });
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, {"t.ttc: column 'title' is stored as string, expected int64"});
  CHECK(f.read({{"title", DType::string}}).column("title").strings() == t.column("title").strings());
}

TEST_CASE("columnar: damage anywhere is refused naming the file") {
  const Table t = sample(300);
  const std::vector<uint8_t> good = columnar_bytes(t, blocks_of(64));
  auto refused = [&](std::vector<uint8_t> bytes, std::initializer_list<std::string_view> parts) {
    Error e = expect_error([&] {
      const ColumnarFile f = ColumnarFile::from_bytes(bytes, "bad.ttc");
      (void)f.read_rows(0, f.num_rows());
    });
    CHECK(e.kind() == ErrorKind::corrupt);
    check_message_has(e, parts);
  };
  refused(std::vector<uint8_t>(good.begin(), good.begin() + 40), {"bad.ttc: only 40 bytes"});
  refused(std::vector<uint8_t>(good.begin(), good.end() - 1), {"bad.ttc: the directory"});
  std::vector<uint8_t> b = good;
  b[0] = 'X';
  refused(b, {"bad.ttc: the file does not start with the columnar magic"});
  b = good;
  b[17] ^= 1;  // the row count
  refused(b, {"bad.ttc: the header checksum does not match"});
  b = good;
  b[good.size() - 3] ^= 0x40;  // in the directory's block checksums
  refused(b, {"bad.ttc: the directory checksum does not match"});
  const ColumnarFile f = ColumnarFile::from_bytes(good, "good.ttc");
  b = good;
  b[f.column("title").dictionary_bytes + 2] ^= 0x20;
  refused(b, {"bad.ttc: column 'title': the dictionary checksum does not match"});
  b = good;
  b[f.column("weight").data_offset + 4 * 100] ^= 0x01;  // row 100: the second block
  refused(b, {"bad.ttc: column 'weight', rows 64..: the block checksum does not match"});
  b = good;
  b[f.column("item_id").data_offset + 300 * 8 + 1] = 7;  // between the int64 values and the codes
  refused(b, {"bad.ttc: padding byte"});
  // A newer version with an intact header: "newer", not "damaged".
  b = good;
  const uint32_t v2 = 2;
  std::memcpy(b.data() + 8, &v2, 4);
  Error e = expect_error([&] { (void)ColumnarFile::from_bytes(b, "new.ttc"); });
  CHECK(e.kind() == ErrorKind::corrupt);  // the header checksum no longer matches: damage
  const uint64_t sum = XXH64(b.data(), 56, 0);
  std::memcpy(b.data() + 56, &sum, 8);
  e = expect_error([&] { (void)ColumnarFile::from_bytes(b, "new.ttc"); });
  CHECK(e.kind() == ErrorKind::unsupported);
  check_message_has(e, {"new.ttc: columnar format version 2 is newer than this reader's (1)"});
  // Rows of a damaged block elsewhere still read: blocks are checked as they are touched.
  b = good;
  b[f.column("weight").data_offset + 4 * 100] ^= 0x01;
  const ColumnarFile partial = ColumnarFile::from_bytes(b, "bad.ttc");
  CHECK(partial.read_rows(0, 64).num_rows() == 64);
}

TEST_CASE("columnar: files on disk; CSV and columnar files read alike") {
  TempDir dir;
  const std::string csv = dir.write(
      "clicks.csv", "user_id,item_id,title,unused\n1,10,\"Red, fish\",x\n2,20,Blue dog,y\n1,10,\"Red, fish\",z\n");
  const std::vector<ColumnSpec> cols = {{"user_id", DType::int64}, {"item_id", DType::int64}, {"title", DType::string}};
  const Table from_csv = read_table_file(csv, cols);
  const std::string ttc = dir.path() + "/clicks.ttc";
  write_columnar(ttc, from_csv);
  CHECK(is_columnar_file(ttc));
  CHECK_FALSE(is_columnar_file(csv));
  check_same(read_table_file(ttc, cols), from_csv);
  const ColumnarFile f = ColumnarFile::open(ttc);
  CHECK(f.file_size() == std::filesystem::file_size(ttc));
  CHECK(table_file_columns(ttc) == std::vector<std::string>{"user_id", "item_id", "title"});
  CHECK(table_file_columns(csv) == std::vector<std::string>{"user_id", "item_id", "title", "unused"});
  CHECK(describe_table_file_row(csv, 2) == csv + ":4");
  CHECK(describe_table_file_row(ttc, 2) == ttc + " row 2");
  f.release_rows_before(3);  // no effect on what reads
  check_same(f.read_rows(0, 3), from_csv);
  Error e = expect_error([&] { (void)read_table_file(ttc, {{"user_id", DType::string}}); });
  check_message_has(e, {ttc + ": column 'user_id' is stored as int64, expected string"});
}
