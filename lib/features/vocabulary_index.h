// An immutable list of distinct strings with a hash index from string to position, shared by the
// lookup transforms. The index keys are string_views into the owned strings, so both live together
// behind one shared_ptr: copies share the index and a key can never point into a moved string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"

namespace tt {

class VocabularyIndex {
 public:
  VocabularyIndex();
  // Throws `duplicate_error` ("<what>: duplicate entry 'x' at positions i and j") when an item
  // repeats: from a caller that is invalid_argument, from a state blob it is corrupt.
  explicit VocabularyIndex(std::vector<std::string> items, ErrorKind duplicate_error = ErrorKind::invalid_argument,
                           std::string_view what = "vocabulary");

  // Position of `s` in items(), or -1 when absent.
  int64_t find(std::string_view s) const {
    auto it = state_->index.find(s);
    return it == state_->index.end() ? -1 : static_cast<int64_t>(it->second);
  }
  const std::vector<std::string>& items() const { return state_->items; }
  size_t size() const { return state_->items.size(); }

 private:
  struct State {
    std::vector<std::string> items;
    std::unordered_map<std::string_view, size_t> index;
  };
  std::shared_ptr<const State> state_;
};

}  // namespace tt
