#include <doctest/doctest.h>

#include <vector>

#include "data/table.h"
#include "data_test_helpers.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;

namespace {

Table small_table() {
  Table t;
  t.add(Column("user_id", Column::Strings{"a", "b", "c"}));
  t.add(Column("timestamp", Column::Ints{10, 20, 30}));
  t.add(Column("rating", Column::Floats{1.5f, 2.5f, 3.5f}));
  return t;
}

}  // namespace

TEST_CASE("table: columns keep names, types and values") {
  const Table t = small_table();
  CHECK(t.num_rows() == 3);
  CHECK(t.num_columns() == 3);
  CHECK(t.has("timestamp"));
  CHECK_FALSE(t.has("missing"));
  CHECK(t.column("user_id").dtype() == DType::string);
  CHECK(t.column("timestamp").ints() == Column::Ints{10, 20, 30});
  CHECK(t.column("rating").floats()[1] == 2.5f);
  CHECK(Column("empty", DType::float32).size() == 0);
}

TEST_CASE("table: adding a column of another length or a taken name fails") {
  Table t = small_table();
  const Error length = expect_error([&] { t.add(Column("extra", Column::Ints{1, 2})); });
  CHECK(length.kind() == ErrorKind::invalid_argument);
  check_message_has(length, {"extra", "2 rows", "3"});
  const Error duplicate = expect_error([&] { t.add(Column("rating", Column::Floats{0, 0, 0})); });
  check_message_has(duplicate, {"duplicate column 'rating'"});
}

TEST_CASE("table: unknown column and wrong type name what exists") {
  const Table t = small_table();
  const Error unknown = expect_error([&] { (void)t.column("title"); });
  CHECK(unknown.kind() == ErrorKind::invalid_argument);
  check_message_has(unknown, {"'title'", "user_id, timestamp, rating"});
  const Error type = expect_error([&] { (void)t.column("timestamp").floats(); });
  check_message_has(type, {"'timestamp'", "int64", "float32"});
}

TEST_CASE("table: take picks rows in the given order and checks bounds") {
  const Table t = small_table();
  const std::vector<size_t> rows{2, 0, 2};
  const Table picked = t.take(rows);
  CHECK(picked.num_rows() == 3);
  CHECK(picked.column("user_id").strings() == Column::Strings{"c", "a", "c"});
  CHECK(picked.column("timestamp").ints() == Column::Ints{30, 10, 30});
  const std::vector<size_t> bad{3};
  CHECK_THROWS_AS(t.take(bad), Error);
}

TEST_CASE("table: append matches columns by name") {
  Table t = small_table();
  Table other;
  other.add(Column("rating", Column::Floats{4.5f}));
  other.add(Column("user_id", Column::Strings{"d"}));
  other.add(Column("timestamp", Column::Ints{40}));
  t.append(other);
  CHECK(t.num_rows() == 4);
  CHECK(t.column("user_id").strings().back() == "d");
  CHECK(t.column("timestamp").ints().back() == 40);

  Table empty;
  empty.append(other);
  CHECK(empty.num_rows() == 1);

  Table narrow;
  narrow.add(Column("user_id", Column::Strings{"e"}));
  CHECK_THROWS_AS(t.append(narrow), Error);
}

TEST_CASE("table: dtype names parse and print") {
  CHECK(parse_dtype("string") == DType::string);
  CHECK(parse_dtype("int") == DType::int64);
  CHECK(parse_dtype("float32") == DType::float32);
  CHECK(std::string(dtype_name(DType::int64)) == "int64");
  const Error e = expect_error([] { parse_dtype("double"); });
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, {"'double'"});
}
