#include "features/text_vectorization.h"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace tt {

namespace {
constexpr uint8_t kFormatVersion = 1;
constexpr std::string_view kPadding = "";
constexpr std::string_view kOov = "[UNK]";

enum class ByteClass : uint8_t { keep, upper, punctuation, space };

constexpr std::array<ByteClass, 256> make_byte_classes() {
  std::array<ByteClass, 256> classes{};
  for (int c = 'A'; c <= 'Z'; ++c) classes[c] = ByteClass::upper;
  for (unsigned char c : std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) classes[c] = ByteClass::punctuation;
  for (unsigned char c : std::string_view(" \t\n\v\f\r")) classes[c] = ByteClass::space;
  return classes;
}
constexpr std::array<ByteClass, 256> kByteClass = make_byte_classes();

ByteClass byte_class(char c) { return kByteClass[static_cast<unsigned char>(c)]; }

// Calls emit(std::string_view) for each standardised token of `text`, built in `buf`.
template <class Emit>
void for_each_token(std::string_view text, std::string& buf, Emit&& emit) {
  buf.clear();
  for (char c : text) {
    switch (byte_class(c)) {
      case ByteClass::keep:
        buf.push_back(c);
        break;
      case ByteClass::upper:
        buf.push_back(static_cast<char>(c - 'A' + 'a'));
        break;
      case ByteClass::punctuation:
        break;
      case ByteClass::space:
        if (!buf.empty()) {
          emit(std::string_view(buf));
          buf.clear();
        }
        break;
    }
  }
  if (!buf.empty()) emit(std::string_view(buf));
}

// The number of tokens for_each_token would emit, without building them.
size_t count_tokens(std::string_view text) {
  size_t n = 0;
  bool in_token = false;
  for (char c : text) {
    ByteClass k = byte_class(c);
    if (k == ByteClass::space) {
      n += in_token;
      in_token = false;
    } else if (k != ByteClass::punctuation) {
      in_token = true;
    }
  }
  return n + in_token;
}

bool is_standardised_token(std::string_view token) {
  if (token.empty()) return false;
  return std::all_of(token.begin(), token.end(), [](char c) { return byte_class(c) == ByteClass::keep; });
}

// Sort order of the vocabulary: count descending, then bytes descending.
bool ranks_before(uint64_t count_a, std::string_view a, uint64_t count_b, std::string_view b) {
  return count_a != count_b ? count_a > count_b : a > b;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace

TextVectorization::TextVectorization() : TextVectorization({}, {}, default_max_tokens, ErrorKind::internal, "") {}

TextVectorization::TextVectorization(std::vector<std::string> learned, std::vector<uint64_t> counts, size_t max_tokens,
                                     ErrorKind error_kind, const std::string& what)
    : max_tokens_(max_tokens) {
  if (max_tokens < 2 || max_tokens > max_max_tokens)
    fail(error_kind, what + ": max_tokens must be in [2, " + std::to_string(max_max_tokens) + "], got " +
                         std::to_string(max_tokens));
  if (learned.size() != counts.size())
    fail(error_kind,
         what + ": " + std::to_string(learned.size()) + " tokens but " + std::to_string(counts.size()) + " counts");
  if (learned.size() > max_tokens - 2)
    fail(error_kind, what + ": " + std::to_string(learned.size()) +
                         " learned tokens exceed max_tokens - 2 = " + std::to_string(max_tokens - 2));
  for (size_t i = 0; i < learned.size(); ++i) {
    if (!is_standardised_token(learned[i]))
      fail(error_kind, what + ": token " + std::to_string(i) + " '" + learned[i] +
                           "' is not a standardised token (empty, upper case, punctuation or whitespace)");
    if (counts[i] == 0) fail(error_kind, what + ": token '" + learned[i] + "' has a zero count");
    if (i > 0 && !ranks_before(counts[i - 1], learned[i - 1], counts[i], learned[i]))
      fail(error_kind, what + ": tokens '" + learned[i - 1] + "' and '" + learned[i] +
                           "' are not ordered by count descending, then bytes descending");
  }
  std::vector<std::string> vocabulary;
  vocabulary.reserve(learned.size() + 2);
  vocabulary.emplace_back(kPadding);
  vocabulary.emplace_back(kOov);
  std::move(learned.begin(), learned.end(), std::back_inserter(vocabulary));
  counts.insert(counts.begin(), 2, 0);
  counts_ = std::move(counts);
  index_ = VocabularyIndex(std::move(vocabulary), error_kind, what);
}

TextVectorization TextVectorization::fit(std::span<const std::string> texts, size_t max_tokens) {
  TokenCounter counter;
  for (const std::string& text : texts) counter.add(text);
  return counter.fit(max_tokens);
}

struct TokenCounter::Counts {
  std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> map;
  std::string buf;
};

TokenCounter::TokenCounter() : counts_(std::make_unique<Counts>()) {}
TokenCounter::~TokenCounter() = default;
TokenCounter::TokenCounter(TokenCounter&&) noexcept = default;
TokenCounter& TokenCounter::operator=(TokenCounter&&) noexcept = default;

void TokenCounter::add(std::string_view text, uint64_t times) {
  for_each_token(text, counts_->buf, [&](std::string_view token) {
    auto it = counts_->map.find(token);
    if (it == counts_->map.end()) it = counts_->map.emplace(std::string(token), 0).first;
    it->second += times;
  });
}

TextVectorization TokenCounter::fit(size_t max_tokens) const {
  const std::string what = "TextVectorization::fit";
  if (max_tokens < 2 || max_tokens > TextVectorization::max_max_tokens)
    fail(ErrorKind::invalid_argument, what + ": max_tokens must be in [2, " +
                                          std::to_string(TextVectorization::max_max_tokens) + "], got " +
                                          std::to_string(max_tokens));
  std::vector<std::pair<std::string_view, uint64_t>> ranked(counts_->map.begin(), counts_->map.end());
  std::sort(ranked.begin(), ranked.end(),
            [](const auto& a, const auto& b) { return ranks_before(a.second, a.first, b.second, b.first); });
  ranked.resize(std::min(ranked.size(), max_tokens - 2));
  std::vector<std::string> learned;
  std::vector<uint64_t> learned_counts;
  learned.reserve(ranked.size());
  learned_counts.reserve(ranked.size());
  for (const auto& [token, count] : ranked) {
    learned.emplace_back(token);
    learned_counts.push_back(count);
  }
  return TextVectorization(std::move(learned), std::move(learned_counts), max_tokens, ErrorKind::internal, what);
}

std::vector<std::string> TextVectorization::tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string buf;
  for_each_token(text, buf, [&](std::string_view token) { tokens.emplace_back(token); });
  return tokens;
}

int32_t TextVectorization::token_id(std::string_view token) const {
  int64_t id = index_.find(token);
  // "" and "[UNK]" are never produced by standardisation; looking them up is not a hit.
  return id <= oov_id ? oov_id : static_cast<int32_t>(id);
}

TokenBatch TextVectorization::apply(std::span<const std::string> texts) const {
  TokenBatch out;
  apply(texts, out);
  return out;
}

void TextVectorization::apply(std::span<const std::string> texts, TokenBatch& out) const {
  // Two passes so the output is allocated once at its final width: count, then look up.
  size_t width = 1;
  for (const std::string& text : texts) width = std::max(width, count_tokens(text));
  out.rows = texts.size();
  out.width = width;
  out.ids.assign(out.rows * width, padding_id);
  std::string buf;
  for (size_t r = 0; r < texts.size(); ++r) {
    int32_t* row = out.ids.data() + r * width;
    for_each_token(texts[r], buf, [&](std::string_view token) { *row++ = token_id(token); });
  }
}

void TextVectorization::save(ByteWriter& out) const {
  out.u8(kFormatVersion);
  out.u64(max_tokens_);
  const auto& vocabulary = index_.items();
  out.strings(std::span<const std::string>(vocabulary).subspan(2));
  out.array(std::span<const uint64_t>(counts_).subspan(2));
}

TextVectorization TextVectorization::load(ByteReader& in) {
  uint8_t version = in.u8();
  if (version != kFormatVersion) in.corrupt("TextVectorization: unknown format version " + std::to_string(version));
  uint64_t max_tokens = in.u64();
  std::vector<std::string> learned = in.strings();
  std::vector<uint64_t> counts = in.array<uint64_t>();
  return TextVectorization(std::move(learned), std::move(counts), max_tokens, ErrorKind::corrupt,
                           in.what() + ": TextVectorization");
}

}  // namespace tt
