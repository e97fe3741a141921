#include "data/parse_number.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "data/text.h"

namespace tt {
namespace {

// std::from_chars takes no '+'; accept one, but not "+-1" or a lone "+".
std::string_view strip_plus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

}  // namespace

NumberStatus parse_int64(std::string_view text, int64_t& out) {
  if (text.empty()) return NumberStatus::empty;
  const std::string_view digits = strip_plus(text);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) return NumberStatus::out_of_range;
  if (ec != std::errc() || end != digits.data() + digits.size()) return NumberStatus::not_a_number;
  out = value;
  return NumberStatus::ok;
}

NumberStatus parse_float32(std::string_view text, float& out) {
  if (text.empty()) return NumberStatus::empty;
  const std::string_view number = strip_plus(text);
  const char* first = number.data();
  const char* last = first + number.size();
  float value = 0;
  auto [end, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow like overflow; tell them apart through double.
    double wide = 0;
    auto [wend, wec] = std::from_chars(first, last, wide, std::chars_format::general);
    if (wec != std::errc() || wend != last || !(std::fabs(wide) < 1.0)) return NumberStatus::out_of_range;
    value = static_cast<float>(wide);
  } else if (ec != std::errc() || end != last) {
    return NumberStatus::not_a_number;
  }
  if (!std::isfinite(value)) return NumberStatus::not_finite;
  out = value;
  return NumberStatus::ok;
}

std::string describe_number_error(NumberStatus status, std::string_view text, std::string_view type_name) {
  const std::string type(type_name);
  switch (status) {
    case NumberStatus::ok:
      return "ok";
    case NumberStatus::empty:
      return "empty value, expected " + type;
    case NumberStatus::not_a_number:
      return quote_for_message(text) + " is not a valid " + type;
    case NumberStatus::out_of_range:
      return quote_for_message(text) + " is out of range for " + type;
    case NumberStatus::not_finite:
      return quote_for_message(text) + " is not a finite " + type;
  }
  return "invalid " + type;
}

}  // namespace tt
