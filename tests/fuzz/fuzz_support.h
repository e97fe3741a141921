// What every fuzz target checks besides "no crash": an input either parses or is refused with a
// tt::Error whose message is one printable line of UTF-8 naming the input (the name each target passes
// as the source), and whose kind says it was the input's fault (never ErrorKind::internal). Any
// other exception escapes to libFuzzer, which reports it as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/error.h"
#include "data/text.h"

namespace tt::fuzz {

// Reports a broken property (a finding) and aborts, so that libFuzzer saves the input.
[[noreturn]] inline void finding(const char* target, const std::string& what) {
  std::fprintf(stderr, "%s: FINDING: %s\n", target, what.c_str());
  std::abort();
}

// `source` empty: the message need not start with a name (errors past parsing, say fitting).
inline void check_error(const char* target, const Error& e, std::string_view source) {
  const std::string_view m = e.what();
  if (e.kind() == ErrorKind::internal) finding(target, "input reached an internal error: " + std::string(m));
  if (!source.empty() && !m.starts_with(source))
    finding(target,
            "the message does not start with the input's name '" + std::string(source) + "': " + std::string(m));
  if (escape_for_message(m) != m)
    finding(target, "the message holds control characters or bytes that are not UTF-8 (escape input text): " +
                        escape_for_message(m));
}

// Runs `parse`; a tt::Error is an accepted refusal once its message passes check_error.
// Returns whether `parse` completed.
template <class F>
bool parses(const char* target, std::string_view source, F&& parse) {
  try {
    parse();
    return true;
  } catch (const Error& e) {
    check_error(target, e, source);
    return false;
  }
}

}  // namespace tt::fuzz
