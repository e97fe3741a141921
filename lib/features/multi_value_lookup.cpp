#include "features/multi_value_lookup.h"

#include <algorithm>

namespace tt {

namespace {

// Calls emit(std::string_view) for each non-empty piece of `cell` between separators.
template <class Emit>
void for_each_value(std::string_view cell, char separator, Emit&& emit) {
  size_t start = 0;
  while (start <= cell.size()) {
    size_t end = cell.find(separator, start);
    if (end == std::string_view::npos) end = cell.size();
    if (end > start) emit(cell.substr(start, end - start));
    start = end + 1;
  }
}

size_t count_values(std::string_view cell, char separator) {
  size_t n = 0;
  for_each_value(cell, separator, [&](std::string_view) { ++n; });
  return n;
}

}  // namespace

MultiValueLookup::MultiValueLookup(StringLookup lookup, ErrorKind kind, const std::string& what)
    : lookup_(std::move(lookup)) {
  if (vocab_size() > max_vocab_size)
    fail(kind, what + ": vocabulary of " + std::to_string(vocab_size()) + " entries exceeds the int32 id limit");
  const auto& v = vocabulary();
  if (auto it = std::find(v.begin(), v.end(), std::string()); it != v.end())
    fail(kind, what + ": entry " + std::to_string(it - v.begin()) + " is empty (an empty piece is not a value)");
}

MultiValueLookup MultiValueLookup::fit(std::span<const std::string> cells, char separator) {
  std::vector<std::string> values;
  for (const std::string& cell : cells)
    for_each_value(cell, separator, [&](std::string_view v) { values.emplace_back(v); });
  return MultiValueLookup(StringLookup::fit(values), ErrorKind::invalid_argument, "MultiValueLookup::fit");
}

MultiValueLookup MultiValueLookup::from_vocabulary(std::vector<std::string> vocabulary) {
  return MultiValueLookup(StringLookup::from_vocabulary(std::move(vocabulary)), ErrorKind::invalid_argument,
                          "MultiValueLookup::from_vocabulary");
}

void MultiValueLookup::apply(std::span<const std::string> cells, char separator, TokenBatch& out) const {
  size_t width = 1;
  for (const std::string& cell : cells) width = std::max(width, count_values(cell, separator));
  out.rows = cells.size();
  out.width = width;
  out.ids.assign(out.rows * width, padding_id);
  for (size_t r = 0; r < cells.size(); ++r) {
    int32_t* row = out.ids.data() + r * width;
    for_each_value(cells[r], separator, [&](std::string_view v) { *row++ = lookup(v); });
  }
}

MultiValueLookup MultiValueLookup::load(ByteReader& in) {
  return MultiValueLookup(StringLookup::load(in), ErrorKind::corrupt, in.what() + ": MultiValueLookup");
}

}  // namespace tt
