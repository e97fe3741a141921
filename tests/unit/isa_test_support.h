// Runs a test body once per ISA level this process may use (base/cpu_isa.h's test hook), so the
// kernels' tests cover every build of them the machine can execute. A level the CPU lacks (or
// TWOTOWER_MAX_ISA excludes) is reported with a doctest MESSAGE, not a failure.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "base/cpu_isa.h"

namespace tt::isatest {

template <class F>
void for_each_isa(F&& f) {
  for_each_allowed_isa(
      [&](Isa level) {
        INFO("ISA level: ", std::string(isa_name(level)));
        REQUIRE(active_isa() == level);
        f(level);
      },
      [](Isa level) {
        MESSAGE("ISA level ", std::string(isa_name(level)), " is not available here (", isa_report(), "): skipped");
      });
}

}  // namespace tt::isatest
