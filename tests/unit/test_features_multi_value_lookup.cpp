#include <doctest/doctest.h>

#include "features/multi_value_lookup.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

TEST_CASE("MultiValueLookup::fit splits cells and sorts the distinct values; ids start at 2") {
  const std::vector<std::string> cells = {"Comedy|Action", "Drama", "", "Action||Drama|", "Comedy"};
  const auto lookup = MultiValueLookup::fit(cells, '|');
  CHECK(lookup.vocabulary() == std::vector<std::string>{"Action", "Comedy", "Drama"});
  CHECK(lookup.table_rows() == 5);  // padding, OOV, 3 values
  CHECK(lookup.lookup("Action") == 2);
  CHECK(lookup.lookup("Drama") == 4);
  CHECK(lookup.lookup("Western") == MultiValueLookup::oov_id);
  CHECK(lookup.lookup("") == MultiValueLookup::oov_id);
}

TEST_CASE("MultiValueLookup::apply pads rows to the most values; empty pieces are no values") {
  const auto lookup = MultiValueLookup::from_vocabulary({"a", "b", "c"});
  TokenBatch out;
  lookup.apply(std::vector<std::string>{"a;c", "", "b;b;zz", ";;", "c;"}, ';', out);
  CHECK(out.rows == 5);
  CHECK(out.width == 3);
  CHECK(out.ids == std::vector<int32_t>{2, 4, 0,  //
                                        0, 0, 0,  // an empty cell: all padding (a zero embedding)
                                        3, 3, 1,  // a repeated value counts twice; unknown -> OOV
                                        0, 0, 0,  // only separators
                                        4, 0, 0});
  // A batch without any value still has width 1.
  lookup.apply(std::vector<std::string>{"", ""}, ';', out);
  CHECK(out.width == 1);
  CHECK(out.ids == std::vector<int32_t>{0, 0});
  // The separator is the caller's: with '|' the whole cell "a;c" is one (unknown) value.
  lookup.apply(std::vector<std::string>{"a;c"}, '|', out);
  CHECK(out.ids == std::vector<int32_t>{1});
}

TEST_CASE("MultiValueLookup::from_vocabulary rejects duplicates and empty values") {
  CHECK(thrown_kind([] { (void)MultiValueLookup::from_vocabulary({"a", "b", "a"}); }) == kInvalid);
  CHECK(thrown_kind([] { (void)MultiValueLookup::from_vocabulary({"a", ""}); }) == kInvalid);
}

TEST_CASE("MultiValueLookup save/load round trip, damaged state is corrupt") {
  const auto lookup = MultiValueLookup::fit(std::vector<std::string>{"x|y", "z"}, '|');
  const auto blob = save_blob(lookup);
  const auto loaded = load_blob<MultiValueLookup>(blob);
  CHECK(loaded.vocabulary() == lookup.vocabulary());
  CHECK(save_blob(loaded) == blob);
  check_truncations_are_corrupt<MultiValueLookup>(blob);
  check_bit_flips_never_crash<MultiValueLookup>(blob);
  // An empty value written by hand (fit never produces one).
  ByteWriter w;
  w.u8(1);
  w.strings(std::vector<std::string>{"a", ""});
  CHECK(thrown_kind([&] { (void)load_blob<MultiValueLookup>(w.bytes()); }) == kCorrupt);
}
