// Maps strings (user ids, movie titles) to embedding rows, like Keras StringLookup with one OOV
// bucket and no mask: row 0 is out-of-vocabulary, vocabulary item i is row i + 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "features/vocabulary_index.h"

namespace tt {

class StringLookup {
 public:
  // Row ids are int32, and row 0 is taken by OOV.
  static constexpr size_t max_vocab_size = std::numeric_limits<int32_t>::max() - 1;

  // An empty vocabulary: every value maps to the OOV row 0.
  StringLookup() = default;

  // Vocabulary = the distinct values sorted by their bytes (std::string operator<), as TFRS does
  // with np.unique; so user ids run "1", "10", "100", ...
  static StringLookup fit(std::span<const std::string> values);
  // Keeps the given order. Throws ErrorKind::invalid_argument on a duplicate.
  static StringLookup from_vocabulary(std::vector<std::string> vocabulary);

  // out[i] = lookup(in[i]); the spans must have the same length (ErrorKind::invalid_argument).
  void apply(std::span<const std::string> in, std::span<int32_t> out) const;
  // 0 when `value` is not in the vocabulary, else its position + 1.
  int32_t lookup(std::string_view value) const { return static_cast<int32_t>(index_.find(value) + 1); }

  size_t vocab_size() const { return index_.size(); }
  // Rows of the embedding table this feeds: the vocabulary plus the OOV row.
  size_t table_rows() const { return vocab_size() + 1; }
  const std::vector<std::string>& vocabulary() const { return index_.items(); }

  void save(ByteWriter& out) const;
  // Throws ErrorKind::corrupt on a truncated blob, an unknown format version, a vocabulary too
  // large for int32 rows, or a duplicate entry.
  static StringLookup load(ByteReader& in);

 private:
  explicit StringLookup(VocabularyIndex index) : index_(std::move(index)) {}
  VocabularyIndex index_;
};

}  // namespace tt
