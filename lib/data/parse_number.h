// Strict number parsing for text inputs: the whole string must be the number, so "12abc",
// " 12" and "" are rejected rather than read as 12 or 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tt {

enum class NumberStatus { ok, empty, not_a_number, out_of_range, not_finite };

// Decimal integer with an optional '+' or '-' sign.
NumberStatus parse_int64(std::string_view text, int64_t& out);
// Decimal or scientific notation with an optional sign. NaN and infinities are rejected (a
// single one would poison training); values too small for float32 round to zero or a
// subnormal, values too large are out of range.
NumberStatus parse_float32(std::string_view text, float& out);

// "'12abc' is not a valid int64" and the like; `type_name` is "int64", "float32", ...
std::string describe_number_error(NumberStatus status, std::string_view text, std::string_view type_name);

}  // namespace tt
