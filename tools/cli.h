// Shared pieces of the twotower command-line tool.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <type_traits>

#include "model/dataset.h"
#include "model/evaluation.h"
#include "model/spec.h"

namespace tt::cli {

// Where the training data comes from: MovieLens (--data or the default locations) or the user's
// own files (--interactions and --candidates).
struct DataFlags {
  std::string data_dir;
  std::string interactions;
  std::string candidates;
  bool skip_unknown_candidates = false;
  void add_to(CLI::App& cmd);
  Dataset load(const ModelSpec* spec) const;
};

void register_data(CLI::App& app);
void register_train(CLI::App& app);
void register_query(CLI::App& app);
void register_inspect(CLI::App& app);
void register_eval(CLI::App& app);
void register_convert(CLI::App& app);
void register_search(CLI::App& app);
void register_index(CLI::App& app);

bool stdout_is_terminal();
// "twotower: commands: data train ..." for an unknown or missing command.
std::string list_commands(const CLI::App& app);

// Numeric options. CLI11 2.1 reads "-1" into an unsigned option as 18446744073709551615 and
// clamps an integer that overflows, so every numeric option is taken as text and parsed here:
// a whole decimal number within [lo, hi], else an error naming the option and its range.
int64_t parse_int_option(const std::string& text, const std::string& option, int64_t lo, int64_t hi);
uint64_t parse_uint_option(const std::string& text, const std::string& option, uint64_t lo, uint64_t hi);

template <class T>
CLI::Option* add_number_option(CLI::App& cmd, const std::string& name, T& target, T lo, T hi, const std::string& help) {
  static_assert(std::is_integral_v<T>);
  auto parse = [&target, name, lo, hi](const std::string& text) {
    if constexpr (std::is_signed_v<T>)
      target = static_cast<T>(parse_int_option(text, name, lo, hi));
    else
      target = static_cast<T>(parse_uint_option(text, name, lo, hi));
  };
  return cmd.add_option_function<std::string>(name, parse, help)
      ->type_name(std::to_string(lo) + ".." + std::to_string(hi));
}

// A real number within [lo, hi] (no NaN or infinity), else an error naming the option.
double parse_real_option(const std::string& text, const std::string& option, double lo, double hi);
CLI::Option* add_real_option(CLI::App& cmd, const std::string& name, double& target, double lo, double hi,
                             const std::string& help);

// A size in bytes: a whole number with an optional unit, K/M/G/T (also KiB.. : powers of 1024)
// or KB/MB/GB/TB (powers of 1000), e.g. "4GiB", "512M", "1500000000"; at least `lo`.
uint64_t parse_byte_size_option(const std::string& text, const std::string& option, uint64_t lo);
CLI::Option* add_byte_size_option(CLI::App& cmd, const std::string& name, uint64_t& target, uint64_t lo,
                                  const std::string& help);

// "top-1 0.0123  top-5 ..." for a metrics line, and the most-popular baseline's line with the
// summary that flags a model not beating it at some k ("" without a baseline).
std::string metrics_line(const TopKMetrics& m);
std::string baseline_lines(const TopKMetrics& m);

// --threads: 0 (all cores) or 1..kMaxThreads.
CLI::Option* add_threads_option(CLI::App& cmd, int& target);

}  // namespace tt::cli
