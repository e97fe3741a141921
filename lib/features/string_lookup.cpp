#include "features/string_lookup.h"

#include <algorithm>

namespace tt {

namespace {
constexpr uint8_t kFormatVersion = 1;

void check_size(size_t n, ErrorKind kind, const std::string& what) {
  if (n > StringLookup::max_vocab_size)
    fail(kind, what + ": vocabulary of " + std::to_string(n) + " entries exceeds the int32 row limit");
}
}  // namespace

StringLookup StringLookup::fit(std::span<const std::string> values) {
  std::vector<std::string> vocabulary(values.begin(), values.end());
  std::sort(vocabulary.begin(), vocabulary.end());
  vocabulary.erase(std::unique(vocabulary.begin(), vocabulary.end()), vocabulary.end());
  check_size(vocabulary.size(), ErrorKind::invalid_argument, "StringLookup::fit");
  return StringLookup(VocabularyIndex(std::move(vocabulary)));
}

StringLookup StringLookup::from_vocabulary(std::vector<std::string> vocabulary) {
  check_size(vocabulary.size(), ErrorKind::invalid_argument, "StringLookup::from_vocabulary");
  return StringLookup(
      VocabularyIndex(std::move(vocabulary), ErrorKind::invalid_argument, "StringLookup::from_vocabulary"));
}

void StringLookup::apply(std::span<const std::string> in, std::span<int32_t> out) const {
  if (in.size() != out.size())
    fail(ErrorKind::invalid_argument, "StringLookup::apply: " + std::to_string(in.size()) + " inputs but " +
                                          std::to_string(out.size()) + " outputs");
  for (size_t i = 0; i < in.size(); ++i) out[i] = lookup(in[i]);
}

void StringLookup::save(ByteWriter& out) const {
  out.u8(kFormatVersion);
  out.strings(vocabulary());
}

StringLookup StringLookup::load(ByteReader& in) {
  const std::string what = in.what() + ": StringLookup";
  uint8_t version = in.u8();
  if (version != kFormatVersion) in.corrupt("StringLookup: unknown format version " + std::to_string(version));
  std::vector<std::string> vocabulary = in.strings();
  check_size(vocabulary.size(), ErrorKind::corrupt, what);
  return StringLookup(VocabularyIndex(std::move(vocabulary), ErrorKind::corrupt, what));
}

}  // namespace tt
