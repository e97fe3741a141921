// Seeded k-means (Lloyd's iterations on squared L2 distance), the partitioning behind the
// partition index (index/partition_index.h). Small and deterministic: the same rows, options
// and seed give the same centroids bit for bit whatever the thread count, because work is cut
// into fixed blocks of rows whose partial sums are added in block order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nn/matrix.h"

namespace tt {

class ThreadPool;

struct KMeansOptions {
  size_t clusters = 0;  // k, at least 1 and at most the number of rows trained on
  size_t iterations = 12;
  size_t max_rows = 0;  // train on a seeded sample of at most this many rows (0: every row)
  uint64_t seed = 0;
};

// Centroids (clusters x d) of the rows x[0..n) (n x d, row-major). An emptied cluster is
// re-seeded by splitting the largest one. Throws invalid_argument for clusters == 0 or > n.
Matrix kmeans(const float* x, size_t n, size_t d, const KMeansOptions& options, ThreadPool& pool);

// For each row, the index of its nearest centroid (squared L2; ties to the lower index).
std::vector<uint32_t> nearest_centroids(const Matrix& centroids, const float* x, size_t n, ThreadPool& pool);

}  // namespace tt
