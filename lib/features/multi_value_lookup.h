// Maps a multi-valued string column (genres "Action|Comedy", tags) to padded rows of value ids,
// for a pooled embedding: each value is looked up in a vocabulary, like StringLookup, but ids are
// shifted by one so that 0 can mark "no value" (padding), as in text features.
//
// Ids: 0 is padding, 1 is out-of-vocabulary, vocabulary item i is id i + 2. A cell is split on
// the separator byte; empty pieces ("A||B", a trailing '|', an empty cell) are not values, so an
// empty cell is a row of padding and pools to a zero vector. A value repeated in one cell counts
// as often as it appears.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "features/string_lookup.h"
#include "features/text_vectorization.h"

namespace tt {

class MultiValueLookup {
 public:
  static constexpr int32_t padding_id = 0;
  static constexpr int32_t oov_id = 1;
  static constexpr size_t max_vocab_size = StringLookup::max_vocab_size - 1;  // ids are int32

  MultiValueLookup() = default;

  // Vocabulary = the distinct values of every cell, sorted by their bytes (as StringLookup::fit).
  static MultiValueLookup fit(std::span<const std::string> cells, char separator);
  // Keeps the given order. Throws ErrorKind::invalid_argument on a duplicate or an empty value.
  static MultiValueLookup from_vocabulary(std::vector<std::string> vocabulary);

  // rows x width ids (width = most values in one cell of `cells`, at least 1), padded with 0.
  void apply(std::span<const std::string> cells, char separator, TokenBatch& out) const;
  // 1 when `value` is not in the vocabulary, else its position + 2.
  int32_t lookup(std::string_view value) const { return lookup_.lookup(value) + 1; }

  size_t vocab_size() const { return lookup_.vocab_size(); }
  // Rows of the embedding table: the vocabulary, the OOV row and the padding row (never read).
  size_t table_rows() const { return vocab_size() + 2; }
  const std::vector<std::string>& vocabulary() const { return lookup_.vocabulary(); }

  // The same bytes as StringLookup's state (a format version, then the vocabulary).
  void save(ByteWriter& out) const { lookup_.save(out); }
  // Throws ErrorKind::corrupt as StringLookup::load does, and on an empty value.
  static MultiValueLookup load(ByteReader& in);

 private:
  explicit MultiValueLookup(StringLookup lookup, ErrorKind kind, const std::string& what);
  StringLookup lookup_;
};

}  // namespace tt
