// Text helpers shared by the loaders: line splitting, encodings, and quoting input for messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tt {

// Iterates the lines of a buffer. '\n' ends a line and a '\r' just before it is dropped, so
// CRLF files read like LF files; a last line without '\n' still counts; the empty remainder
// after a final '\n' is not a line.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view& line);
  // 1-based number of the line last returned by next().
  size_t line_number() const { return line_number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_number_ = 0;
};

// Splits on every `separator` (no quoting); `out` is reused to avoid reallocating per line.
void split_fields(std::string_view line, char separator, std::vector<std::string_view>& out);

// Byte offset of the first byte that does not belong to a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are malformed), or npos.
size_t find_invalid_utf8(std::string_view text);

// ISO-8859-1 maps byte b to code point U+00b, so every byte string decodes.
std::string latin1_to_utf8(std::string_view text);

// `text` for an error message, so that it stays one readable line whatever the input was:
// control characters (C0, DEL, C1, U+2028, U+2029) and bytes that are not well-formed UTF-8
// as \xNN, backslash and every other character as they are.
std::string escape_for_message(std::string_view text);

// `text` escaped as above, in single quotes, and cut short after 60 bytes (at a character
// boundary) with its length: "'a long val'... (1234 bytes)".
std::string quote_for_message(std::string_view text);

}  // namespace tt
