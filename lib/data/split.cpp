#include "data/split.h"

#include <span>

#include "base/error.h"
#include "base/random.h"

namespace tt {

std::vector<size_t> shuffled_rows(size_t n, uint64_t seed) {
  Rng rng(seed);
  return permutation(n, rng);
}

Split shuffle_split(const Table& table, size_t n_train, size_t n_test, uint64_t seed) {
  const size_t rows = table.num_rows();
  if (n_train > rows || n_test > rows - n_train)
    fail(ErrorKind::invalid_argument, "cannot split " + std::to_string(rows) + " rows into " + std::to_string(n_train) +
                                          " train and " + std::to_string(n_test) + " test rows");
  const std::vector<size_t> order = shuffled_rows(rows, seed);
  const std::span<const size_t> all(order);
  return Split{table.take(all.subspan(0, n_train)), table.take(all.subspan(n_train, n_test)), Table()};
}

void split_validation(Split& split, size_t n) {
  if (n == 0) return;
  const size_t rows = split.train.num_rows();
  if (n >= rows)
    fail(ErrorKind::invalid_argument,
         "validation_rows " + std::to_string(n) + " must be fewer than the " + std::to_string(rows) + " training rows");
  std::vector<size_t> order(rows);
  for (size_t i = 0; i < rows; ++i) order[i] = i;
  const std::span<const size_t> all(order);
  split.validation = split.train.take(all.subspan(rows - n));
  split.train = split.train.take(all.subspan(0, rows - n));
}

}  // namespace tt
