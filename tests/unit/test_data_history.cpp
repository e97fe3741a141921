// data/history.h: each row's earlier items of the same user, from the known rows only.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/history.h"
#include "data_test_helpers.h"
#include "test_support.h"

using namespace tt;
using tt::test::expect_error;

namespace {

Table events(std::vector<std::string> user, std::vector<std::string> item, Column::Ints time) {
  Table t;
  t.add(Column("user", std::move(user)));
  t.add(Column("item", std::move(item)));
  t.add(Column("time", std::move(time)));
  return t;
}

HistoryOptions options(size_t max_items = 0) {
  HistoryOptions o;
  o.column = "history";
  o.user_column = "user";
  o.item_column = "item";
  o.time_column = "time";
  o.max_items = max_items;
  return o;
}

}  // namespace

TEST_CASE("history: earlier items of the same user, oldest first, ties excluded") {
  // u1 rated a at 1, b and c at 2 (b first in the file), d at 3; u2 rated x at 1.
  const Table known = events({"u1", "u1", "u2", "u1", "u1"}, {"d", "b", "x", "c", "a"}, {3, 2, 1, 2, 1});
  const Table rows = events({"u1", "u1", "u1", "u2", "u3"}, {"q", "q", "q", "q", "q"}, {2, 3, 10, 1, 5});
  const Column h = history_column(known, rows, options());
  CHECK(h.name() == "history");
  CHECK(h.strings() == std::vector<std::string>{"a", "a|b|c", "a|b|c|d", "", ""});
  // The most recent max_items.
  CHECK(history_column(known, rows, options(2)).strings() == std::vector<std::string>{"a", "b|c", "c|d", "", ""});
}

TEST_CASE("history: a row of the known rows is never in its own history") {
  const Table known = events({"u", "u", "u"}, {"a", "b", "c"}, {5, 5, 7});
  const Column h = history_column(known, known, options());
  // b shares a's second: neither is before the other.
  CHECK(h.strings() == std::vector<std::string>{"", "", "a|b"});
  for (size_t r = 0; r < known.num_rows(); ++r)
    CHECK(h.strings()[r].find(known.column("item").strings()[r]) == std::string::npos);
}

TEST_CASE("history: with_history adds or replaces the column; ids and types are checked") {
  const Table known = events({"u"}, {"a"}, {1});
  Table rows = events({"u"}, {"z"}, {2});
  rows = with_history(rows, known, options());
  CHECK(rows.column("history").strings() == std::vector<std::string>{"a"});
  rows = with_history(rows, Table(), options());
  CHECK(rows.num_columns() == 4);
  CHECK(rows.column("history").strings() == std::vector<std::string>{""});
  // int64 users and items read as their decimal text.
  Table ints;
  ints.add(Column("user", Column::Ints{7, 7}));
  ints.add(Column("item", Column::Ints{42, 43}));
  ints.add(Column("time", Column::Floats{1.5f, 2.5f}));
  CHECK(history_column(ints, ints, options()).strings() == std::vector<std::string>{"", "42"});
  const Error sep = expect_error([&] { history_column(events({"u"}, {"a|b"}, {1}), rows, options()); });
  CHECK(sep.kind() == ErrorKind::invalid_argument);
  test::check_message_has(sep, {"'a|b'", "contains the history separator"});
  Table strings_time = events({"u"}, {"a"}, {1});
  strings_time.add(Column("when", Column::Strings{"x"}));
  HistoryOptions o = options();
  o.time_column = "when";
  test::check_message_has(expect_error([&] { history_column(strings_time, strings_time, o); }),
                          {"'when'", "must be int64 or float32"});
}
