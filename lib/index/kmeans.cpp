#include "index/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "nn/gemm.h"

namespace tt {

namespace {

constexpr size_t kBlockRows = 2048;  // rows per task: fixed, so sums do not depend on threads

// Nearest centroid of rows [r0, r0 + m): argmin |c|^2 - 2 x.c, one GEMM per block of rows.
void assign_block(const Matrix& c, const std::vector<float>& norms, const float* x, size_t r0, size_t m, size_t d,
                  uint32_t* out, std::vector<float>& scratch) {
  const size_t k = c.rows();
  scratch.resize(m * k);
  sgemm(false, true, static_cast<long>(m), static_cast<long>(k), static_cast<long>(d), 1.0f, x + r0 * d,
        static_cast<long>(d), c.data(), static_cast<long>(d), 0.0f, scratch.data(), static_cast<long>(k));
  for (size_t i = 0; i < m; ++i) {
    const float* s = scratch.data() + i * k;
    float best = std::numeric_limits<float>::infinity();
    uint32_t arg = 0;
    for (size_t j = 0; j < k; ++j) {
      const float dist = norms[j] - 2.0f * s[j];
      if (dist < best) {
        best = dist;
        arg = static_cast<uint32_t>(j);
      }
    }
    out[i] = arg;
  }
}

std::vector<float> squared_norms(const Matrix& c) {
  std::vector<float> n(c.rows());
  for (size_t j = 0; j < c.rows(); ++j) {
    double s = 0.0;
    for (size_t i = 0; i < c.cols(); ++i) s += double(c.at(j, i)) * c.at(j, i);
    n[j] = static_cast<float>(s);
  }
  return n;
}

}  // namespace

std::vector<uint32_t> nearest_centroids(const Matrix& centroids, const float* x, size_t n, ThreadPool& pool) {
  std::vector<uint32_t> out(n);
  if (n == 0 || centroids.rows() == 0) return out;
  const size_t d = centroids.cols();
  const std::vector<float> norms = squared_norms(centroids);
  const size_t blocks = (n + kBlockRows - 1) / kBlockRows;
  pool.for_each(blocks, [&](size_t b) {
    std::vector<float> scratch;
    const size_t r0 = b * kBlockRows, m = std::min(kBlockRows, n - r0);
    assign_block(centroids, norms, x, r0, m, d, out.data() + r0, scratch);
  });
  return out;
}

Matrix kmeans(const float* x, size_t n, size_t d, const KMeansOptions& o, ThreadPool& pool) {
  Rng rng(o.seed, 0x6b6d65616e73ull);  // "kmeans"
  // The training rows: all of them, or a seeded sample (in their original order).
  std::vector<float> sample;
  const float* rows = x;
  size_t m = n;
  if (o.max_rows && n > o.max_rows) {
    std::vector<size_t> pick = permutation(n, rng);
    pick.resize(o.max_rows);
    std::sort(pick.begin(), pick.end());
    m = pick.size();
    sample.resize(m * d);
    for (size_t i = 0; i < m; ++i) std::copy(x + pick[i] * d, x + (pick[i] + 1) * d, sample.begin() + i * d);
    rows = sample.data();
  }
  const size_t k = o.clusters;
  if (k == 0 || k > m)
    fail(ErrorKind::invalid_argument,
         "k-means: " + std::to_string(k) + " clusters for " + std::to_string(m) + " rows (need 1 .. rows)");
  // Initial centroids: k distinct rows chosen at random.
  Matrix c(k, d);
  {
    std::vector<size_t> pick = permutation(m, rng);
    for (size_t j = 0; j < k; ++j) std::copy(rows + pick[j] * d, rows + (pick[j] + 1) * d, c.row(j));
  }
  const size_t blocks = (m + kBlockRows - 1) / kBlockRows;
  std::vector<uint32_t> assign(m);
  std::vector<std::vector<double>> sums(blocks);
  std::vector<std::vector<uint32_t>> counts(blocks);
  for (size_t it = 0; it < o.iterations; ++it) {
    const std::vector<float> norms = squared_norms(c);
    pool.for_each(blocks, [&](size_t b) {
      std::vector<float> scratch;
      const size_t r0 = b * kBlockRows, len = std::min(kBlockRows, m - r0);
      assign_block(c, norms, rows, r0, len, d, assign.data() + r0, scratch);
      // Per-block sums in double, added in block order below: deterministic for any thread count.
      std::vector<double>& s = sums[b];
      std::vector<uint32_t>& cnt = counts[b];
      s.assign(k * d, 0.0);
      cnt.assign(k, 0);
      for (size_t i = 0; i < len; ++i) {
        const uint32_t a = assign[r0 + i];
        ++cnt[a];
        const float* r = rows + (r0 + i) * d;
        double* dst = s.data() + a * d;
        for (size_t e = 0; e < d; ++e) dst[e] += r[e];
      }
    });
    std::vector<double> total(k * d, 0.0);
    std::vector<uint64_t> size(k, 0);
    for (size_t b = 0; b < blocks; ++b) {
      for (size_t j = 0; j < k; ++j) size[j] += counts[b][j];
      for (size_t e = 0; e < k * d; ++e) total[e] += sums[b][e];
    }
    for (size_t j = 0; j < k; ++j)
      if (size[j])
        for (size_t e = 0; e < d; ++e) c.at(j, e) = static_cast<float>(total[j * d + e] / double(size[j]));
    // An empty cluster takes half of the largest one: its centroid, nudged apart in opposite
    // directions (Faiss's rule), so the next assignment splits it.
    for (size_t j = 0; j < k; ++j) {
      if (size[j]) continue;
      const size_t big = static_cast<size_t>(std::max_element(size.begin(), size.end()) - size.begin());
      if (size[big] < 2) break;
      for (size_t e = 0; e < d; ++e) {
        const float v = c.at(big, e), eps = (std::fabs(v) + 1e-6f) * 1e-3f;
        const bool up = (rng.next() >> 63) != 0;
        c.at(j, e) = up ? v + eps : v - eps;
        c.at(big, e) = up ? v - eps : v + eps;
      }
      size[j] = size[big] / 2;
      size[big] -= size[j];
    }
  }
  return c;
}

}  // namespace tt
