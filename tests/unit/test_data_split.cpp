#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "data/movielens.h"
#include "data/split.h"
#include "data_test_helpers.h"
#include "test_support.h"

using namespace tt;
using tt::test::expect_error;

namespace {

// Built with append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
std::string label_of(int64_t row) { return std::string("r").append(std::to_string(row)); }

// A table whose "row" column holds each row's original index, so a split shows where rows went.
Table indexed_table(size_t n) {
  Column::Ints index(n);
  std::iota(index.begin(), index.end(), 0);
  Column::Strings labels;
  for (size_t i = 0; i < n; ++i) labels.push_back(label_of(static_cast<int64_t>(i)));
  Table t;
  t.add(Column("row", std::move(index)));
  t.add(Column("label", std::move(labels)));
  return t;
}

}  // namespace

TEST_CASE("split: shuffled_rows is a seeded permutation") {
  const auto a = shuffled_rows(1000, 42);
  CHECK(a == shuffled_rows(1000, 42));
  CHECK(a != shuffled_rows(1000, 43));
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> identity(1000);
  std::iota(identity.begin(), identity.end(), size_t{0});
  CHECK(sorted == identity);
  CHECK(a != identity);
  CHECK(shuffled_rows(0, 1).empty());
}

TEST_CASE("split: sizes are exact and rows follow one permutation") {
  const Table t = indexed_table(100);
  const Split s = shuffle_split(t, 70, 20, 7);
  CHECK(s.train.num_rows() == 70);
  CHECK(s.test.num_rows() == 20);
  CHECK(s.train.num_columns() == 2);
  const auto order = shuffled_rows(100, 7);
  const auto& train_rows = s.train.column("row").ints();
  const auto& test_rows = s.test.column("row").ints();
  for (size_t i = 0; i < 70; ++i) REQUIRE(train_rows[i] == static_cast<int64_t>(order[i]));
  for (size_t i = 0; i < 20; ++i) REQUIRE(test_rows[i] == static_cast<int64_t>(order[70 + i]));
  // Columns stay aligned.
  for (size_t i = 0; i < 70; ++i) REQUIRE(s.train.column("label").strings()[i] == label_of(train_rows[i]));
}

TEST_CASE("split: train and test are disjoint and together complete") {
  const Table t = indexed_table(500);
  const Split s = shuffle_split(t, 400, 100, 42);
  const auto& train = s.train.column("row").ints();
  const auto& test = s.test.column("row").ints();
  const std::set<int64_t> train_set(train.begin(), train.end()), test_set(test.begin(), test.end());
  CHECK(train_set.size() == 400);
  CHECK(test_set.size() == 100);
  std::vector<int64_t> both;
  std::set_intersection(train_set.begin(), train_set.end(), test_set.begin(), test_set.end(), std::back_inserter(both));
  CHECK(both.empty());
  std::set<int64_t> all = train_set;
  all.insert(test_set.begin(), test_set.end());
  CHECK(all.size() == 500);
}

TEST_CASE("split: same seed same split, different seed different split") {
  const Table t = indexed_table(300);
  const Split a = shuffle_split(t, 200, 100, 42);
  const Split b = shuffle_split(t, 200, 100, 42);
  const Split c = shuffle_split(t, 200, 100, 43);
  CHECK(a.train.column("row").ints() == b.train.column("row").ints());
  CHECK(a.test.column("row").ints() == b.test.column("row").ints());
  CHECK(a.train.column("row").ints() != c.train.column("row").ints());
}

TEST_CASE("split: asking for more rows than the table has is an error") {
  const Table t = indexed_table(10);
  const Error e = expect_error([&] { shuffle_split(t, 8, 3, 1); });
  CHECK(e.kind() == ErrorKind::invalid_argument);
  tt::test::check_message_has(e, {"10 rows", "8 train", "3 test"});
  CHECK_THROWS_AS(shuffle_split(t, SIZE_MAX, 2, 1), Error);  // no overflow in n_train + n_test
  const Split partial = shuffle_split(t, 3, 2, 1);           // leftover rows are simply not used
  CHECK(partial.train.num_rows() + partial.test.num_rows() == 5);
  CHECK(shuffle_split(t, 10, 0, 1).test.num_rows() == 0);
}

TEST_CASE("split: MovieLens default split is 80,000 / 20,000") {
  const std::string dir = tt::test::movielens_dir();
  if (dir.empty()) {
    MESSAGE("MovieLens 100k not found; skipping");
    return;
  }
  const MovieLens ml = load_movielens(dir);
  const Split s = shuffle_split(ml.ratings, kDefaultTrainRows, kDefaultTestRows, kDefaultSplitSeed);
  CHECK(s.train.num_rows() == 80'000);
  CHECK(s.test.num_rows() == 20'000);
  CHECK(s.train.num_columns() == 11);
  // Reproducible: the first training row is the same every run.
  const Split again = shuffle_split(ml.ratings, kDefaultTrainRows, kDefaultTestRows, kDefaultSplitSeed);
  CHECK(s.train.column("timestamp").ints() == again.train.column("timestamp").ints());
}
