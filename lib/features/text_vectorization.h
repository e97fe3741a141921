// Turns free text (movie titles) into padded rows of token ids, like Keras TextVectorization with
// its defaults: standardize "lower_and_strip_punctuation", split "whitespace", output "int".
//
// Standardisation is byte-wise and ASCII only: 'A'-'Z' are lowercased, the 32 ASCII punctuation
// characters !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ are deleted (so "Se7en-Seven" is one token), and
// the text is split on runs of ASCII whitespace (space \t \n \v \f \r) with no empty tokens. All
// other bytes, including every byte of a multi-byte UTF-8 character, pass through untouched.
//
// Ids: 0 is padding (""), 1 is out-of-vocabulary ("[UNK]"), learned tokens start at 2, ordered
// by count descending and ties by token bytes descending (Keras sorts with np.lexsort and then
// reverses, which is where the descending tie-break comes from).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "features/vocabulary_index.h"

namespace tt {

// `rows` rows of `width` ids each, row-major, every row padded with 0 after its tokens. width is
// the longest row of the batch and at least 1, so a text without tokens is a row of zeros.
struct TokenBatch {
  size_t rows = 0;
  size_t width = 0;
  std::vector<int32_t> ids;

  std::span<const int32_t> row(size_t r) const { return {ids.data() + r * width, width}; }
};

class TextVectorization;

// Token counts gathered text by text (a streamed file's rows, or each distinct text with its
// number of rows); fit() gives TextVectorization::fit of those texts exactly.
class TokenCounter {
 public:
  TokenCounter();
  ~TokenCounter();
  TokenCounter(TokenCounter&&) noexcept;
  TokenCounter& operator=(TokenCounter&&) noexcept;
  void add(std::string_view text, uint64_t times = 1);
  TextVectorization fit(size_t max_tokens) const;

 private:
  struct Counts;
  std::unique_ptr<Counts> counts_;
};

class TextVectorization {
 public:
  static constexpr int32_t padding_id = 0;
  static constexpr int32_t oov_id = 1;
  static constexpr size_t default_max_tokens = 10000;
  // Token ids are int32.
  static constexpr size_t max_max_tokens = size_t{std::numeric_limits<int32_t>::max()} + 1;

  // No learned tokens (every token is OOV), max_tokens() = default_max_tokens.
  TextVectorization();

  // Counts the tokens of every text (repeats included) and keeps the max_tokens - 2 most frequent.
  // max_tokens counts the two reserved ids and must be in [2, max_max_tokens], else
  // ErrorKind::invalid_argument.
  static TextVectorization fit(std::span<const std::string> texts, size_t max_tokens = default_max_tokens);

  // The standardised tokens of `text`, for inspection; apply() does the same without allocating
  // per token.
  static std::vector<std::string> tokenize(std::string_view text);

  TokenBatch apply(std::span<const std::string> texts) const;
  // Same, reusing the capacity of `out`.
  void apply(std::span<const std::string> texts, TokenBatch& out) const;
  // The id of one already-standardised token: 1 when unknown.
  int32_t token_id(std::string_view token) const;

  // Learned tokens + 2 (the ids actually used).
  size_t vocab_size() const { return index_.size(); }
  // The rows of the token embedding table (>= vocab_size(); the tail rows are never looked up).
  size_t max_tokens() const { return max_tokens_; }
  // Indexed by id: "", "[UNK]", then the learned tokens.
  const std::vector<std::string>& vocabulary() const { return index_.items(); }
  // Parallel to vocabulary(): how often each token occurred in the fitted texts (0 for the two
  // reserved entries).
  const std::vector<uint64_t>& token_counts() const { return counts_; }

  void save(ByteWriter& out) const;
  // Throws ErrorKind::corrupt on a truncated blob, an unknown format version, a max_tokens out
  // of range, more learned tokens than max_tokens allows, a token that standardisation could not
  // produce (empty, upper case, punctuation, whitespace), a zero count, or tokens out of the
  // (count descending, bytes descending) order.
  static TextVectorization load(ByteReader& in);

 private:
  friend class TokenCounter;
  TextVectorization(std::vector<std::string> learned, std::vector<uint64_t> counts, size_t max_tokens,
                    ErrorKind error_kind, const std::string& what);

  VocabularyIndex index_;
  std::vector<uint64_t> counts_;
  size_t max_tokens_;
};

}  // namespace tt
