// One table value as text, the key by which ids of either type are compared (an int64 id 42
// matches the string id "42").
#pragma once

#include <cstddef>
#include <string>

#include "data/table.h"

namespace tt {

// A string as it is, an int64 as its decimal text, a float32 by std::to_string.
inline std::string cell_text(const Column& c, size_t row) {
  switch (c.dtype()) {
    case DType::string:
      return c.strings()[row];
    case DType::int64:
      return std::to_string(c.ints()[row]);
    case DType::float32:
      return std::to_string(c.floats()[row]);
  }
  return "";
}

}  // namespace tt
