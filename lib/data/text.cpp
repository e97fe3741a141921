#include "data/text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace tt {

bool LineReader::next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  size_t next = end == std::string_view::npos ? text_.size() : end + 1;
  if (end == std::string_view::npos) end = text_.size();
  line = text_.substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = next;
  ++line_number_;
  return true;
}

void split_fields(std::string_view line, char separator, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  for (;;) {
    size_t end = line.find(separator, start);
    if (end == std::string_view::npos) {
      out.push_back(line.substr(start));
      return;
    }
    out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i], or 0 if there is none
// (overlong forms, surrogates and code points above U+10FFFF are malformed).
size_t utf8_length_at(const unsigned char* s, size_t n, size_t i) {
  const unsigned char c = s[i];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c == 0xE0) {
    len = 3;
    lo = 0xA0;
  }  // no overlong 3-byte forms
  else if (c == 0xED) {
    len = 3;
    hi = 0x9F;
  }  // no UTF-16 surrogates
  else if (c >= 0xE1 && c <= 0xEF)
    len = 3;
  else if (c == 0xF0) {
    len = 4;
    lo = 0x90;
  }  // no overlong 4-byte forms
  else if (c >= 0xF1 && c <= 0xF3)
    len = 4;
  else if (c == 0xF4) {
    len = 4;
    hi = 0x8F;
  }  // nothing above U+10FFFF
  else
    return 0;
  if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
  return len;
}

// Characters that would break a one-line message or hide what it says: C0 controls and DEL,
// C1 controls (U+0080-U+009F) and the Unicode line and paragraph separators.
bool breaks_a_line(const unsigned char* s, size_t len) {
  if (len == 1) return s[0] < 0x20 || s[0] == 0x7F;
  if (len == 2) return s[0] == 0xC2 && s[1] < 0xA0;
  return len == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9);
}

// Escapes text[0..) until at least `limit` bytes are consumed (whole characters); returns the
// number of bytes consumed.
size_t escape_into(std::string& out, std::string_view text, size_t limit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = 0;
  while (i < text.size() && i < limit) {
    const size_t len = utf8_length_at(s, text.size(), i);
    if (len == 0 || breaks_a_line(s + i, len)) {
      for (size_t k = 0; k < std::max<size_t>(len, 1); ++k) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\x%02X", s[i + k]);
        out += buf;
      }
      i += std::max<size_t>(len, 1);
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return i;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    // Data files are mostly ASCII: skip 8 bytes at a time while none has its high bit set.
    while (i + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, s + i, sizeof word);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= text.size()) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8_length_at(s, text.size(), i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string escape_for_message(std::string_view text) {
  std::string out;
  escape_into(out, text, text.size());
  return out;
}

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string out = "'";
  const size_t shown = escape_into(out, text, kMaxShown);
  out += "'";
  if (shown < text.size()) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace tt
