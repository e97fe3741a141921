// Helpers shared by the model tests.
#pragma once

#include <doctest/doctest.h>

#include <cstring>

#include "model/two_tower_model.h"

namespace tt::test {

// Every weight of `a` equals `b`'s bit for bit.
inline void check_same_weights(const TwoTowerModel& a, const TwoTowerModel& b) {
  const auto pa = a.parameters();
  const auto pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    REQUIRE(pa[i]->value.span().size() == pb[i]->value.span().size());
    CHECK(std::memcmp(pa[i]->value.data(), pb[i]->value.data(), pa[i]->value.span().size_bytes()) == 0);
  }
}

}  // namespace tt::test
