#include "features/vocabulary_index.h"

namespace tt {

VocabularyIndex::VocabularyIndex() : state_(std::make_shared<const State>()) {}

VocabularyIndex::VocabularyIndex(std::vector<std::string> items, ErrorKind duplicate_error, std::string_view what) {
  auto state = std::make_shared<State>();
  state->items = std::move(items);
  state->index.reserve(state->items.size());
  for (size_t i = 0; i < state->items.size(); ++i) {
    auto [it, inserted] = state->index.emplace(state->items[i], i);
    if (!inserted)
      fail(duplicate_error, std::string(what) + ": duplicate entry '" + state->items[i] + "' at positions " +
                                std::to_string(it->second) + " and " + std::to_string(i));
  }
  state_ = std::move(state);
}

}  // namespace tt
