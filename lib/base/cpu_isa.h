// Which instruction-set level the library's own kernels run at (docs/architecture.md, "ISA").
// The row kernels (nn/row_kernels.h) and the index's scans (index/compact_scan.h,
// index/float_scan.h) are compiled once per level, each build in its own translation unit and
// namespace with that level's -march; every call goes through the table of the active level.
// The level is resolved once, at first use: the best the CPU (and OS) supports, capped by the
// environment variable TWOTOWER_MAX_ISA (baseline, avx2 or avx512; modelled on oneDNN's
// ONEDNN_MAX_CPU_ISA). An unknown value is ignored with one warning on stderr: a library must
// not refuse to serve because of a typo in its host's environment.
#pragma once

#include <string>

namespace tt {

// Ordered: a higher level may use everything a lower one does.
enum class Isa : int {
  baseline = 0,  // x86-64 (SSE2), or the architecture's default on other machines
  avx2 = 1,      // x86-64-v3: AVX2, FMA, BMI1/2, F16C
  avx512 = 2,    // x86-64-v4: AVX-512 F, BW, VL, DQ, CD
};
inline constexpr int kIsaLevels = 3;

const char* isa_name(Isa level);
// Parses "baseline", "avx2" or "avx512" (case-insensitive; also "x86-64-v3"/"x86-64-v4", and
// "sse2"/"default" for baseline). Returns false on anything else.
bool parse_isa(const std::string& text, Isa& level);

// The best level this CPU and OS support (x86-64-v4 / v3 as GCC's __builtin_cpu_supports
// defines them; baseline on other architectures or when the library was built without them).
Isa isa_supported();
// isa_supported() capped by TWOTOWER_MAX_ISA: the highest level this process may use.
Isa isa_allowed();
// The level the kernels run at: isa_allowed() capped by the test hook below. Cheap (one relaxed
// atomic load after the first call).
Isa active_isa();
// The one of three per-level objects (kernel tables) that the active level selects.
template <class T>
const T& isa_pick(const T& baseline, const T& avx2, const T& avx512) {
  switch (active_isa()) {
    case Isa::avx512:
      return avx512;
    case Isa::avx2:
      return avx2;
    case Isa::baseline:
      break;
  }
  return baseline;
}

// One line for --version and benchmark headers, e.g. "avx512 (CPU: avx512 +bf16 +vnni)" or
// "avx2 (CPU: avx512; TWOTOWER_MAX_ISA=avx2)".
std::string isa_report();

// Test hook: caps the active level (in addition to the environment) and returns the previous
// cap; Isa::avx512 removes it. Not thread-safe against kernels running at the same moment:
// tests call it between kernel calls only.
Isa set_isa_cap_for_testing(Isa cap);

// Restores the test cap it found when it goes out of scope (also when a test throws).
class IsaCapScope {
 public:
  explicit IsaCapScope(Isa cap) : previous_(set_isa_cap_for_testing(cap)) {}
  ~IsaCapScope() { set_isa_cap_for_testing(previous_); }
  IsaCapScope(const IsaCapScope&) = delete;
  IsaCapScope& operator=(const IsaCapScope&) = delete;

 private:
  Isa previous_;
};

// Calls f(level) once per level this process may use (baseline first, isa_allowed() last) with
// the kernels running at that level, then restores the previous cap; the levels above
// isa_allowed() are passed to skipped(level) instead.
template <class F, class Skip>
void for_each_allowed_isa(F&& f, Skip&& skipped) {
  for (int l = 0; l < kIsaLevels; ++l) {
    const Isa level = static_cast<Isa>(l);
    if (level > isa_allowed()) {
      skipped(level);
      continue;
    }
    IsaCapScope cap(level);
    f(level);
  }
}

}  // namespace tt
