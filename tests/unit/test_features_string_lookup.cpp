#include <doctest/doctest.h>

#include "features/string_lookup.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

TEST_CASE("StringLookup::fit sorts the distinct values by bytes and reserves row 0 for OOV") {
  std::vector<std::string> values = {"2", "10", "1", "100", "10", "b", "B", "é", "2"};
  auto lookup = StringLookup::fit(values);
  CHECK(lookup.vocabulary() == std::vector<std::string>{"1", "10", "100", "2", "B", "b", "é"});
  CHECK(lookup.vocab_size() == 7);
  CHECK(lookup.table_rows() == 8);
  CHECK(lookup.lookup("1") == 1);
  CHECK(lookup.lookup("é") == 7);
  CHECK(lookup.lookup("unknown") == 0);
  CHECK(lookup.lookup("") == 0);
}

TEST_CASE("StringLookup::apply maps a batch, unknown values to 0") {
  auto lookup = StringLookup::fit(std::vector<std::string>{"a", "b", "c"});
  std::vector<std::string> in = {"c", "x", "a", "", "b", "A"};
  std::vector<int32_t> out(in.size(), -1);
  lookup.apply(in, out);
  CHECK(out == std::vector<int32_t>{3, 0, 1, 0, 2, 0});

  std::vector<int32_t> too_short(2);
  CHECK(thrown_kind([&] { lookup.apply(in, too_short); }) == kInvalid);
}

TEST_CASE("StringLookup::from_vocabulary keeps the order and rejects duplicates") {
  auto lookup = StringLookup::from_vocabulary({"z", "a", "m"});
  CHECK(lookup.lookup("z") == 1);
  CHECK(lookup.lookup("m") == 3);
  CHECK(thrown_kind([] { (void)StringLookup::from_vocabulary({"a", "b", "a"}); }) == kInvalid);
}

TEST_CASE("StringLookup empty vocabulary maps everything to OOV") {
  StringLookup empty;
  CHECK(empty.vocab_size() == 0);
  CHECK(empty.table_rows() == 1);
  CHECK(empty.lookup("x") == 0);
  auto fitted = StringLookup::fit(std::vector<std::string>{});
  CHECK(fitted.vocab_size() == 0);
}

TEST_CASE("StringLookup copies stay valid after the original is gone") {
  StringLookup copy;
  {
    auto original = StringLookup::fit(std::vector<std::string>{"a short one", std::string(100, 'x')});
    copy = original;
  }
  CHECK(copy.lookup(std::string(100, 'x')) == 2);
  CHECK(copy.lookup("a short one") == 1);
}

TEST_CASE("StringLookup save/load round trip") {
  auto lookup = StringLookup::from_vocabulary({"zeta", "", "alpha", "ü"});
  auto blob = save_blob(lookup);
  auto loaded = load_blob<StringLookup>(blob);
  CHECK(loaded.vocabulary() == lookup.vocabulary());
  std::vector<std::string> in = {"alpha", "", "ü", "nope", "zeta"};
  std::vector<int32_t> a(in.size()), b(in.size());
  lookup.apply(in, a);
  loaded.apply(in, b);
  CHECK(a == b);
  CHECK(save_blob(loaded) == blob);
}

TEST_CASE("StringLookup load rejects truncated and damaged state as corrupt") {
  auto blob = save_blob(StringLookup::fit(std::vector<std::string>{"a", "bb", "ccc"}));
  check_truncations_are_corrupt<StringLookup>(blob);
  check_bit_flips_never_crash<StringLookup>(blob);

  // A duplicate entry written by hand.
  ByteWriter w;
  w.u8(1);
  w.strings(std::vector<std::string>{"a", "b", "a"});
  CHECK(thrown_kind([&] { (void)load_blob<StringLookup>(w.bytes()); }) == kCorrupt);

  // An unknown format version.
  auto bad_version = blob;
  bad_version[0] = 99;
  CHECK(thrown_kind([&] { (void)load_blob<StringLookup>(bad_version); }) == kCorrupt);
}
