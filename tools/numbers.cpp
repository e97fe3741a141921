// Parsing of the CLI's numeric options (cli.h): whole decimal numbers within a range, sizes in bytes.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

#include "base/parallel.h"
#include "cli.h"

namespace tt::cli {

namespace {

template <class T>
T parse(const std::string& text, const std::string& option, T lo, T hi) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  T value{};
  const char* end = text.data() + text.size();
  // from_chars reads no '+'; a leading '-' on an unsigned option is out of range, not a wrap.
  const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  if (std::is_unsigned_v<T> && begin != end && *begin == '-') {
    const bool digits = end - begin > 1 && std::all_of(begin + 1, end, [](char c) { return c >= '0' && c <= '9'; });
    if (digits) throw CLI::ValidationError(option, text + " is outside " + range);
  }
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (begin == end || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range))
    throw CLI::ValidationError(option, "'" + text + "' is not a whole number (expected " + range + ")");
  if (ec == std::errc::result_out_of_range || value < lo || value > hi)
    throw CLI::ValidationError(option, text + " is outside " + range);
  return value;
}

}  // namespace

int64_t parse_int_option(const std::string& text, const std::string& option, int64_t lo, int64_t hi) {
  return parse<int64_t>(text, option, lo, hi);
}

uint64_t parse_uint_option(const std::string& text, const std::string& option, uint64_t lo, uint64_t hi) {
  return parse<uint64_t>(text, option, lo, hi);
}

uint64_t parse_byte_size_option(const std::string& text, const std::string& option, uint64_t lo) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string unit = text.substr(digits);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // A table, one power per row: clang-format would put each pair on a line of its own.
  // clang-format off
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},           {"B", 1},
      {"K", 1ull << 10}, {"KIB", 1ull << 10}, {"KB", 1000ull},
      {"M", 1ull << 20}, {"MIB", 1ull << 20}, {"MB", 1000'000ull},
      {"G", 1ull << 30}, {"GIB", 1ull << 30}, {"GB", 1000'000'000ull},
      {"T", 1ull << 40}, {"TIB", 1ull << 40}, {"TB", 1000'000'000'000ull}};
  // clang-format on
  const std::string expected = " (expected a number of bytes with an optional unit: 4GiB, 512M, 1500MB)";
  uint64_t scale = 0;
  for (const auto& [name, value] : kUnits)
    if (unit == name) scale = value;
  if (digits == 0 || scale == 0) throw CLI::ValidationError(option, "'" + text + "' is not a size" + expected);
  const uint64_t n = parse<uint64_t>(text.substr(0, digits), option, 0, UINT64_MAX / scale);
  if (n * scale < lo) throw CLI::ValidationError(option, text + " is less than " + std::to_string(lo) + " bytes");
  return n * scale;
}

CLI::Option* add_byte_size_option(CLI::App& cmd, const std::string& name, uint64_t& target, uint64_t lo,
                                  const std::string& help) {
  return cmd
      .add_option_function<std::string>(
          name, [&target, name, lo](const std::string& text) { target = parse_byte_size_option(text, name, lo); }, help)
      ->type_name("SIZE");
}

double parse_real_option(const std::string& text, const std::string& option, double lo, double hi) {
  std::ostringstream range;
  range << lo << ".." << hi;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || ec == std::errc::invalid_argument || std::isnan(value))
    throw CLI::ValidationError(option, "'" + text + "' is not a number (expected " + range.str() + ")");
  if (ec == std::errc::result_out_of_range || !(value >= lo && value <= hi))
    throw CLI::ValidationError(option, text + " is outside " + range.str());
  return value;
}

CLI::Option* add_real_option(CLI::App& cmd, const std::string& name, double& target, double lo, double hi,
                             const std::string& help) {
  std::ostringstream range;
  range << lo << ".." << hi;
  return cmd
      .add_option_function<std::string>(
          name, [&target, name, lo, hi](const std::string& text) { target = parse_real_option(text, name, lo, hi); },
          help)
      ->type_name(range.str());
}

CLI::Option* add_threads_option(CLI::App& cmd, int& target) {
  return add_number_option(cmd, "--threads", target, 0, kMaxThreads,
                           "threads: 0 for all cores (the default), at most " + std::to_string(kMaxThreads));
}

}  // namespace tt::cli
