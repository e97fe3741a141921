// The input of fuzz_delimited: two control bytes, then the file's text.
//   byte 0: bits 0-1 the delimiter (',', '\t', ';', '|'), bit 2 quoting on, bit 3 also ask for
//           a column the header lacks, bits 4-6 how many header columns to ask for, minus one
//   byte 1: two bits per asked column (the first four): string, int64, float32, string;
//           columns five to eight are strings
// The seed writer encodes with the same functions, so seeds and target agree by construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/delimited.h"

namespace tt::fuzz {

inline constexpr char kDelimiters[4] = {',', '\t', ';', '|'};

struct DelimitedInput {
  DelimitedOptions options;
  bool ask_missing = false;
  std::vector<DType> types;  // of the first header columns, in order (1 to 8 of them)
  std::string_view text;
};

inline DelimitedInput decode_delimited(const uint8_t* data, size_t size) {
  DelimitedInput in;
  const uint8_t flags = size > 0 ? data[0] : 0;
  const uint8_t types = size > 1 ? data[1] : 0;
  in.options.delimiter = kDelimiters[flags & 3];
  in.options.quoting = (flags & 4) != 0;
  in.ask_missing = (flags & 8) != 0;
  const size_t n = ((flags >> 4) & 7) + 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned t = i < 4 ? (types >> (2 * i)) & 3 : 0;
    in.types.push_back(t == 1 ? DType::int64 : t == 2 ? DType::float32 : DType::string);
  }
  const size_t skip = size < 2 ? size : 2;
  in.text = std::string_view(reinterpret_cast<const char*>(data) + skip, size - skip);
  return in;
}

// The two control bytes for these choices, then `text`. `delimiter` must be in kDelimiters and
// `types` hold 1 to 8 entries (only the first four may be other than string).
inline std::string encode_delimited(char delimiter, bool quoting, const std::vector<DType>& types,
                                    std::string_view text, bool ask_missing = false) {
  uint8_t flags = 0, type_bits = 0;
  for (uint8_t d = 0; d < 4; ++d)
    if (kDelimiters[d] == delimiter) flags = d;
  flags |= static_cast<uint8_t>((quoting ? 4 : 0) | (ask_missing ? 8 : 0) | ((types.size() - 1) << 4));
  for (size_t i = 0; i < types.size() && i < 4; ++i)
    type_bits |= static_cast<uint8_t>((types[i] == DType::int64 ? 1 : types[i] == DType::float32 ? 2 : 0) << (2 * i));
  std::string out{static_cast<char>(flags), static_cast<char>(type_bits)};
  out.append(text);
  return out;
}

}  // namespace tt::fuzz
