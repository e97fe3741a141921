#include <doctest/doctest.h>

#include "features/text_vectorization.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

using Tokens = std::vector<std::string>;

TEST_CASE("TextVectorization::tokenize lowercases ASCII, deletes punctuation, splits on whitespace") {
  CHECK(TextVectorization::tokenize("Toy Story (1995)") == Tokens{"toy", "story", "1995"});
  // Punctuation is deleted, not turned into a separator.
  CHECK(TextVectorization::tokenize("Se7en-Seven: Don't!") == Tokens{"se7enseven", "dont"});
  CHECK(TextVectorization::tokenize("  a \t\n\v\f\r b  ") == Tokens{"a", "b"});
  CHECK(TextVectorization::tokenize("a - b") == Tokens{"a", "b"});
  CHECK(TextVectorization::tokenize("").empty());
  CHECK(TextVectorization::tokenize("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").empty());
  CHECK(TextVectorization::tokenize("[UNK]") == Tokens{"unk"});
}

TEST_CASE("TextVectorization leaves UTF-8 and other non-ASCII bytes untouched") {
  // "É" (C3 89) is not lowercased; U+00A0 (C2 A0) is not whitespace.
  CHECK(TextVectorization::tokenize("CAFÉ Señor") == Tokens{"cafÉ", "señor"});
  CHECK(TextVectorization::tokenize("a\xC2\xA0"
                                    "b") == Tokens{"a\xC2\xA0"
                                                   "b"});
  CHECK(TextVectorization::tokenize(std::string("x\0y", 3)) == Tokens{std::string("x\0y", 3)});
}

TEST_CASE("TextVectorization::fit orders by count descending, ties by bytes descending") {
  std::vector<std::string> texts = {"b a c", "a b", "d", "B!", "zz yy"};
  auto tv = TextVectorization::fit(texts);
  // b:3, a:2, then d, c, zz, yy once each -> bytes descending: zz, yy, d, c.
  CHECK(tv.vocabulary() == Tokens{"", "[UNK]", "b", "a", "zz", "yy", "d", "c"});
  CHECK(tv.token_counts() == std::vector<uint64_t>{0, 0, 3, 2, 1, 1, 1, 1});
  CHECK(tv.vocab_size() == 8);
  CHECK(tv.max_tokens() == 10000);
  CHECK(tv.token_id("b") == 2);
  CHECK(tv.token_id("nope") == 1);
  CHECK(tv.token_id("") == 1);
  CHECK(tv.token_id("[UNK]") == 1);
}

TEST_CASE("TextVectorization max_tokens counts the two reserved ids") {
  std::vector<std::string> texts = {"a a a b b c"};
  auto tv = TextVectorization::fit(texts, 4);
  CHECK(tv.vocabulary() == Tokens{"", "[UNK]", "a", "b"});
  CHECK(tv.max_tokens() == 4);
  CHECK(TextVectorization::fit(texts, 2).vocab_size() == 2);
  CHECK(thrown_kind([&] { (void)TextVectorization::fit(texts, 1); }) == kInvalid);
  auto batch = tv.apply(std::vector<std::string>{"c a b"});
  CHECK(batch.ids == std::vector<int32_t>{1, 2, 3});
}

TEST_CASE("TextVectorization::apply pads rows to the longest and empty texts are all padding") {
  auto tv = TextVectorization::fit(std::vector<std::string>{"the cat sat", "the dog"});
  // the:2 -> 2; then sat, dog, cat -> 3, 4, 5.
  std::vector<std::string> in = {"The Cat", "", "?!...", "the unknown dog sat", "cat"};
  auto batch = tv.apply(in);
  CHECK(batch.rows == 5);
  CHECK(batch.width == 4);
  CHECK(batch.ids == std::vector<int32_t>{2, 5, 0, 0,  //
                                          0, 0, 0, 0,  //
                                          0, 0, 0, 0,  //
                                          2, 1, 4, 3,  //
                                          5, 0, 0, 0});
  CHECK(batch.row(3)[1] == 1);

  auto only_empty = tv.apply(std::vector<std::string>{"", "  "});
  CHECK(only_empty.width == 1);
  CHECK(only_empty.ids == std::vector<int32_t>{0, 0});
  auto none = tv.apply(std::span<const std::string>());
  CHECK(none.rows == 0);
  CHECK(none.ids.empty());
}

TEST_CASE("TextVectorization::apply reuses a batch and agrees with tokenize") {
  auto tv = TextVectorization::fit(std::vector<std::string>{"x y z"});
  std::vector<std::string> in = {" -x- ,y", "z\tz z!", "\"\" x", "a.b c"};
  TokenBatch batch;
  tv.apply(in, batch);
  tv.apply(in, batch);
  REQUIRE(batch.rows == in.size());
  for (size_t r = 0; r < in.size(); ++r) {
    auto tokens = TextVectorization::tokenize(in[r]);
    auto row = batch.row(r);
    CAPTURE(r);
    for (size_t j = 0; j < batch.width; ++j) CHECK(row[j] == (j < tokens.size() ? tv.token_id(tokens[j]) : 0));
  }
}

TEST_CASE("TextVectorization save/load round trip") {
  auto tv = TextVectorization::fit(std::vector<std::string>{"Héllo world", "hello World!", "bye"}, 50);
  auto blob = save_blob(tv);
  auto loaded = load_blob<TextVectorization>(blob);
  CHECK(loaded.vocabulary() == tv.vocabulary());
  CHECK(loaded.token_counts() == tv.token_counts());
  CHECK(loaded.max_tokens() == 50);
  std::vector<std::string> in = {"hello héllo", "", "world bye unknown"};
  CHECK(loaded.apply(in).ids == tv.apply(in).ids);
  CHECK(save_blob(loaded) == blob);
}

TEST_CASE("TextVectorization load rejects truncated, damaged and inconsistent state as corrupt") {
  auto blob = save_blob(TextVectorization::fit(std::vector<std::string>{"aa bb bb"}, 10));
  check_truncations_are_corrupt<TextVectorization>(blob);
  check_bit_flips_never_crash<TextVectorization>(blob);

  auto state = [](uint64_t max_tokens, Tokens tokens, std::vector<uint64_t> counts) {
    ByteWriter w;
    w.u8(1);
    w.u64(max_tokens);
    w.strings(tokens);
    w.array(counts);
    return w.take();
  };
  auto kind = [](const std::vector<uint8_t>& b) { return thrown_kind([&] { (void)load_blob<TextVectorization>(b); }); };
  CHECK(kind(state(10, {"bb", "aa"}, {2, 1})) == 0);
  CHECK(kind(state(10, {"aa", "bb"}, {1, 2})) == kCorrupt);   // count order
  CHECK(kind(state(10, {"aa", "bb"}, {1, 1})) == kCorrupt);   // tie order
  CHECK(kind(state(10, {"bb", "bb"}, {1, 1})) == kCorrupt);   // duplicate
  CHECK(kind(state(10, {"Bb"}, {1})) == kCorrupt);            // upper case
  CHECK(kind(state(10, {"b b"}, {1})) == kCorrupt);           // whitespace
  CHECK(kind(state(10, {"[unk]"}, {1})) == kCorrupt);         // punctuation
  CHECK(kind(state(10, {""}, {1})) == kCorrupt);              // empty
  CHECK(kind(state(10, {"bb"}, {0})) == kCorrupt);            // zero count
  CHECK(kind(state(10, {"bb"}, {1, 1})) == kCorrupt);         // length mismatch
  CHECK(kind(state(3, {"bb", "aa"}, {2, 1})) == kCorrupt);    // more than max_tokens - 2
  CHECK(kind(state(1, {}, {})) == kCorrupt);                  // max_tokens < 2
  CHECK(kind(state(uint64_t{1} << 40, {}, {})) == kCorrupt);  // max_tokens beyond int32
}
