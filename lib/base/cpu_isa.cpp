#include "base/cpu_isa.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace tt {

namespace {

// -1 until resolved; the levels are small integers so that the hot path is one relaxed load.
std::atomic<int> g_allowed{-1};
std::atomic<int> g_test_cap{static_cast<int>(Isa::avx512)};

Isa detect() {
#if defined(__x86_64__) && defined(__GNUC__) && TT_HAVE_ISA_UNITS
  // The checks include the OS's support for the wider register state (XGETBV).
#if defined(__clang__)
  // Feature by feature: older clang knows no "x86-64-v3"/"x86-64-v4" here. F16C, LZCNT and
  // MOVBE come with every CPU that has AVX2 and BMI2.
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                  __builtin_cpu_supports("bmi2");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512cd");
#else
  const bool v4 = __builtin_cpu_supports("x86-64-v4"), v3 = __builtin_cpu_supports("x86-64-v3");
#endif
  if (v4) return Isa::avx512;
  if (v3) return Isa::avx2;
#endif
  return Isa::baseline;
}

Isa env_cap(bool warn) {
  const char* text = std::getenv("TWOTOWER_MAX_ISA");
  if (!text || !*text) return Isa::avx512;
  Isa level;
  if (parse_isa(text, level)) return level;
  if (warn)
    std::fprintf(stderr,
                 "twotower: ignoring TWOTOWER_MAX_ISA=%s (expected baseline, avx2 or avx512); using the best the CPU "
                 "supports\n",
                 text);
  return Isa::avx512;
}

Isa resolve_allowed() {
  int l = g_allowed.load(std::memory_order_acquire);
  if (l >= 0) return static_cast<Isa>(l);
  // Two threads may get here at once; both compute the same value, and only the one that
  // stores it first warns about a bad environment value.
  const Isa allowed = std::min(isa_supported(), env_cap(false));
  int expected = -1;
  if (g_allowed.compare_exchange_strong(expected, static_cast<int>(allowed), std::memory_order_acq_rel)) {
    env_cap(true);
    return allowed;
  }
  return static_cast<Isa>(expected);
}

}  // namespace

const char* isa_name(Isa level) {
  switch (level) {
    case Isa::baseline:
      return "baseline";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
  }
  return "unknown";
}

bool parse_isa(const std::string& text, Isa& level) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "baseline" || t == "default" || t == "sse2" || t == "x86-64") {
    level = Isa::baseline;
  } else if (t == "avx2" || t == "x86-64-v3") {
    level = Isa::avx2;
  } else if (t == "avx512" || t == "avx512_core" || t == "x86-64-v4") {
    level = Isa::avx512;
  } else {
    return false;
  }
  return true;
}

Isa isa_supported() {
  static const Isa level = detect();
  return level;
}

Isa isa_allowed() { return resolve_allowed(); }

Isa active_isa() {
  int l = g_allowed.load(std::memory_order_relaxed);
  if (l < 0) l = static_cast<int>(resolve_allowed());
  return static_cast<Isa>(std::min(l, g_test_cap.load(std::memory_order_relaxed)));
}

std::string isa_report() {
  std::string s = isa_name(active_isa());
  s += " (CPU: ";
  s += isa_name(isa_supported());
#if defined(__x86_64__) && defined(__GNUC__)
  // Reported: only the approximate index's 4-bit scan uses VNNI (same bits as without it);
  // docs/architecture.md ("Instruction sets") says why the exact scans use neither.
  if (__builtin_cpu_supports("avx512bf16")) s += " +bf16";
  if (__builtin_cpu_supports("avx512vnni")) s += " +vnni";
#endif
  if (const char* text = std::getenv("TWOTOWER_MAX_ISA"); text && *text) {
    s += "; TWOTOWER_MAX_ISA=";
    s += text;
  }
  if (active_isa() < isa_allowed()) s += "; capped by a test";
  s += ")";
  return s;
}

Isa set_isa_cap_for_testing(Isa cap) {
  return static_cast<Isa>(g_test_cap.exchange(static_cast<int>(cap), std::memory_order_relaxed));
}

}  // namespace tt
