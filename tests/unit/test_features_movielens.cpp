// The preprocessing reference numbers of the TFRS deep-retrieval tutorial on the real MovieLens
// 100k files (see shared/reference/tfrs-deep-retrieval.md, "Preprocessing semantics").
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "data/movielens.h"
#include "features/discretization.h"
#include "features/normalization.h"
#include "features/string_lookup.h"
#include "features/text_vectorization.h"
#include "features_test_support.h"
#include "test_support.h"

using namespace tt;
using namespace tt::test;

namespace {
// Loaded once for all the tests below; null when the data set is absent (outside CI).
const MovieLens* movielens() {
  static const auto data = []() -> std::unique_ptr<MovieLens> {
    std::string dir = movielens_dir();
    if (dir.empty()) return nullptr;
    return std::make_unique<MovieLens>(load_movielens(dir));
  }();
  if (!data) MESSAGE("MovieLens 100k not found: skipped");
  return data.get();
}

const std::vector<int64_t>& timestamps() { return movielens()->ratings.column("timestamp").ints(); }

// float32 semantics, as TensorFlow's CPU Bucketize: boundaries stored as float, input cast to float.
int32_t float32_bucket(const std::vector<float>& boundaries, int64_t x) {
  float v = static_cast<float>(x);
  return static_cast<int32_t>(std::upper_bound(boundaries.begin(), boundaries.end(), v) - boundaries.begin());
}
}  // namespace

TEST_CASE("MovieLens features: user ids: 943 users, 944 embedding rows, sorted by bytes") {
  if (!movielens()) return;
  auto users = StringLookup::fit(movielens()->ratings.column("user_id").strings());
  CHECK(users.vocab_size() == 943);
  CHECK(users.table_rows() == 944);
  CHECK(std::vector<std::string>(users.vocabulary().begin(), users.vocabulary().begin() + 4) ==
        std::vector<std::string>{"1", "10", "100", "101"});
  CHECK(users.lookup("1") == 1);
  CHECK(users.lookup("944") == 0);
}

TEST_CASE("MovieLens features: titles: 1664 distinct of 1682 rows, 1665 embedding rows") {
  if (!movielens()) return;
  const auto& titles = movielens()->catalogue.column("movie_title").strings();
  CHECK(titles.size() == 1682);
  auto lookup = StringLookup::fit(titles);
  CHECK(lookup.vocab_size() == 1664);
  CHECK(lookup.table_rows() == 1665);
  std::vector<int32_t> ids(titles.size());
  lookup.apply(titles, ids);
  CHECK(std::count(ids.begin(), ids.end(), 0) == 0);
  // Every rating's title is a catalogue title.
  const auto& rated = movielens()->ratings.column("movie_title").strings();
  std::vector<int32_t> rated_ids(rated.size());
  lookup.apply(rated, rated_ids);
  CHECK(std::count(rated_ids.begin(), rated_ids.end(), 0) == 0);
}

TEST_CASE("MovieLens features: title text vocabulary: 2468 entries in count then bytes-descending order") {
  if (!movielens()) return;
  const auto& titles = movielens()->catalogue.column("movie_title").strings();
  auto tv = TextVectorization::fit(titles, 10000);
  CHECK(tv.vocab_size() == 2468);
  CHECK(tv.max_tokens() == 10000);
  const std::vector<std::pair<std::string, uint64_t>> expected = {
      {"the", 503}, {"1996", 298}, {"1995", 296}, {"1994", 237}, {"1997", 235}, {"of", 139}, {"1993", 130},
      {"a", 83},    {"in", 75},    {"and", 66},   {"1998", 53},  {"to", 41},    {"1992", 41}};
  REQUIRE(tv.vocab_size() >= 2 + expected.size());
  CHECK(tv.vocabulary()[0] == "");
  CHECK(tv.vocabulary()[1] == "[UNK]");
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(tv.vocabulary()[i + 2] == expected[i].first);
    CHECK(tv.token_counts()[i + 2] == expected[i].second);
  }
  auto batch = tv.apply(titles);
  CHECK(batch.rows == 1682);
  CHECK(batch.width == 16);
  // Every catalogue token was learned, so no OOV ids; every title has at least one token.
  CHECK(std::count(batch.ids.begin(), batch.ids.end(), TextVectorization::oov_id) == 0);
  for (size_t r = 0; r < batch.rows; ++r) CHECK(batch.row(r)[0] != 0);

  auto round_trip = load_blob<TextVectorization>(save_blob(tv));
  CHECK(round_trip.apply(titles).ids == batch.ids);
}

TEST_CASE("MovieLens features: timestamp buckets: linspace boundaries match numpy, 1001 buckets") {
  if (!movielens()) return;
  auto d = Discretization::fit_linspace(timestamps(), 1000);
  REQUIRE(d.boundaries().size() == 1000);
  CHECK(d.num_buckets() == 1001);
  CHECK(d.boundaries().front() == 874724710.0);
  CHECK(d.boundaries().back() == 893286638.0);
  // Values of numpy.linspace(874724710, 893286638, 1000), printed with float.hex().
  CHECK(d.boundaries()[1] == 0x1.a11c2fd4116cfp+29);
  CHECK(d.boundaries()[2] == 0x1.a11e747822d9dp+29);
  CHECK(d.boundaries()[499] == 0x1.a585b6fdf7499p+29);
  CHECK(d.boundaries()[998] == 0x1.a9f182cbee931p+29);
  // Sum of the 1000 IEEE bit patterns modulo 2^64, computed from the numpy array.
  uint64_t bit_sum = 0;
  for (double b : d.boundaries()) {
    uint64_t bits;
    std::memcpy(&bits, &b, sizeof bits);
    bit_sum += bits;
  }
  CHECK(bit_sum == 0xfe696c0e08000000ull);

  std::vector<int32_t> buckets(timestamps().size());
  d.apply(timestamps(), buckets);
  CHECK(*std::min_element(buckets.begin(), buckets.end()) == 1);  // the minimum equals boundary 0
  CHECK(*std::max_element(buckets.begin(), buckets.end()) == 1000);
}

TEST_CASE("MovieLens features: timestamps: float32 and float64 bucket semantics differ on 159 ratings") {
  if (!movielens()) return;
  auto d = Discretization::fit_linspace(timestamps(), 1000);
  std::vector<float> boundaries32(d.boundaries().begin(), d.boundaries().end());
  std::vector<int32_t> buckets(timestamps().size());
  d.apply(timestamps(), buckets);
  size_t differ = 0;
  for (size_t i = 0; i < buckets.size(); ++i) differ += buckets[i] != float32_bucket(boundaries32, timestamps()[i]);
  CHECK(differ == 159);
}

TEST_CASE("MovieLens features: timestamp normalization: float64 population statistics") {
  if (!movielens()) return;
  auto n = Normalization::fit(timestamps());
  CHECK(std::abs(n.mean() - 883528851.4886) < 1e-3);
  CHECK(std::abs(std::sqrt(n.variance()) - 5343829.4702) < 1e-3);
  std::vector<int64_t> one = {879024327};
  std::vector<float> out(1);
  n.apply(one, out);
  CHECK(std::abs(out[0] - -0.842939) < 1e-5);
}
