// The train/test split: one seeded shuffle of all rows, cut in two. tt::permutation makes the
// split identical on every platform for the same seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/table.h"

namespace tt {

// The TFRS deep-retrieval tutorial's split of the 100,000 MovieLens ratings.
inline constexpr size_t kDefaultTrainRows = 80'000;
inline constexpr size_t kDefaultTestRows = 20'000;
inline constexpr uint64_t kDefaultSplitSeed = 42;

struct Split {
  Table train;
  Table test;
  Table validation;  // empty unless asked for (split_validation)
};

// A permutation of 0..n-1 determined by `seed`.
std::vector<size_t> shuffled_rows(size_t n, uint64_t seed);

// Rows shuffled_rows(t.num_rows(), seed)[0, n_train) form train, the next n_test form test;
// rows beyond are left out. Throws ErrorKind::invalid_argument if n_train + n_test exceeds
// the table's rows.
Split shuffle_split(const Table& table, size_t n_train, size_t n_test, uint64_t seed);

// Moves the last n rows of split.train to split.validation, leaving the test rows as they are.
// Throws ErrorKind::invalid_argument unless n is below the training rows.
void split_validation(Split& split, size_t n);

}  // namespace tt
