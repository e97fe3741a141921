// The in-batch softmax retrieval loss: semantics of each TFRS option against a plain double
// implementation written here from the spec (docs: tfrs-deep-retrieval.md, "Loss"), gradients
// against finite differences of the loss, the fused multi-threaded version against the
// reference, determinism, and input validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "nn/matrix.h"
#include "nn/retrieval_loss.h"
#include "nn_test_support.h"

using namespace tt;
using namespace tt::nntest;

namespace {

struct LossCase {
  Matrix q, c;
  std::vector<int32_t> ids;
  std::vector<float> prob, weight;
  std::vector<int32_t> positive;  // distinct-candidate form (else empty)
  std::vector<float> multiplicity;
  RetrievalLossOptions opt;
  RetrievalLossInputs inputs() const {
    RetrievalLossInputs in;
    in.positive_column = positive;
    in.multiplicity = multiplicity;
    in.queries = &q;
    in.candidates = &c;
    in.candidate_ids = ids;
    in.sampling_probability = prob;
    in.sample_weight = weight;
    return in;
  }
};

struct Flags {
  float temperature = 1.0f;
  bool logq = false;
  bool hits = false;
  int hard = 0;
  bool weights = false;
};

LossCase make_case(size_t bq, size_t bc, size_t d, uint64_t seed, const Flags& f) {
  Rng rng(seed);
  LossCase lc;
  lc.q = random_matrix(bq, d, rng);
  lc.c = random_matrix(bc, d, rng);
  lc.opt.temperature = f.temperature;
  lc.opt.remove_accidental_hits = f.hits;
  lc.opt.num_hard_negatives = f.hard;
  if (f.hits) {
    // Few distinct ids, so every row sees repeats of its positive's id among the negatives.
    const uint64_t distinct = std::max<uint64_t>(2, bc / 3);
    for (size_t j = 0; j < bc; ++j) lc.ids.push_back(static_cast<int32_t>(rng.below(distinct)));
  }
  if (f.logq)
    for (size_t j = 0; j < bc; ++j) lc.prob.push_back(rng.uniform(0.01f, 0.9f));
  if (f.weights) {
    for (size_t i = 0; i < bq; ++i) lc.weight.push_back(rng.uniform(0.0f, 2.0f));
    if (bq > 1) lc.weight[1] = 0.0f;
  }
  return lc;
}

// Row i's adjusted scores in double, straight from the spec: divide by the temperature,
// subtract log(clip(p, 1e-6, 1)), add float32.min / 100 to accidental hits. `keep` marks the
// columns left after hard-negative mining (ties go to the lower column, as tf.math.top_k).
std::vector<double> adjusted_scores(const LossCase& lc, size_t i, std::vector<bool>* keep = nullptr) {
  const size_t bc = lc.c.rows(), d = lc.q.cols();
  std::vector<double> s(bc);
  for (size_t j = 0; j < bc; ++j) {
    double dot = 0.0;
    for (size_t k = 0; k < d; ++k) dot += static_cast<double>(lc.q.at(i, k)) * lc.c.at(j, k);
    s[j] = dot / lc.opt.temperature;
    if (!lc.prob.empty()) s[j] -= std::log(std::clamp(static_cast<double>(lc.prob[j]), 1e-6, 1.0));
    if (lc.opt.remove_accidental_hits && j != i && lc.ids[j] == lc.ids[i])
      s[j] += static_cast<double>(std::numeric_limits<float>::lowest()) / 100.0;
  }
  if (keep) {
    keep->assign(bc, true);
    const size_t k = static_cast<size_t>(lc.opt.num_hard_negatives);
    if (k > 0 && k + 1 < bc) {
      std::vector<size_t> neg;
      for (size_t j = 0; j < bc; ++j)
        if (j != i) neg.push_back(j);
      std::stable_sort(neg.begin(), neg.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
      for (size_t r = k; r < neg.size(); ++r) (*keep)[neg[r]] = false;
    }
  }
  return s;
}

double naive_loss(const LossCase& lc) {
  double total = 0.0;
  for (size_t i = 0; i < lc.q.rows(); ++i) {
    std::vector<bool> keep;
    const auto s = adjusted_scores(lc, i, &keep);
    double m = -INFINITY;
    for (size_t j = 0; j < s.size(); ++j)
      if (keep[j]) m = std::max(m, s[j]);
    double sum = 0.0;
    for (size_t j = 0; j < s.size(); ++j)
      if (keep[j]) sum += std::exp(s[j] - m);
    const double w = lc.weight.empty() ? 1.0 : lc.weight[i];
    total += w * (m + std::log(sum) - s[i]);
  }
  return total;
}

// The smallest gap, over rows, between the k-th and (k+1)-th best negative: finite differences
// of a hard-negative loss are only valid if no step changes which negatives are kept.
double hard_negative_margin(const LossCase& lc) {
  const size_t k = static_cast<size_t>(lc.opt.num_hard_negatives), bc = lc.c.rows();
  if (k == 0 || k + 1 >= bc) return INFINITY;
  double margin = INFINITY;
  for (size_t i = 0; i < lc.q.rows(); ++i) {
    auto s = adjusted_scores(lc, i);
    s.erase(s.begin() + static_cast<long>(i));
    std::sort(s.begin(), s.end(), std::greater<double>());
    margin = std::min(margin, s[k - 1] - s[k]);
  }
  return margin;
}

double fused(const LossCase& lc, Matrix* dq, Matrix* dc, int threads = 2) {
  ThreadPool pool(threads);
  RetrievalLossWorkspace ws;
  return retrieval_loss(lc.inputs(), lc.opt, dq, dc, pool, ws);
}

double reference(const LossCase& lc, Matrix* dq, Matrix* dc) {
  return retrieval_loss_reference(lc.inputs(), lc.opt, dq, dc);
}

// Finite differences of the loss itself w.r.t. every query and candidate entry, checked
// against the fused and the reference gradients; the loss value is checked against the naive
// double implementation. Bq = 6 < Bc = 9, so the non-square case is covered too.
void loss_gradient_check(const Flags& f, uint64_t seed) {
  LossCase lc = make_case(6, 9, 4, seed, f);
  // Hard negatives: pick data where a ± eps step cannot change the kept set.
  for (uint64_t s = seed + 1; hard_negative_margin(lc) < 0.1; ++s) lc = make_case(6, 9, 4, s, f);

  Matrix dq, dc, rdq, rdc;
  const double loss = fused(lc, &dq, &dc);
  const double ref_loss = reference(lc, &rdq, &rdc);
  const double naive = naive_loss(lc);
  CHECK(loss == doctest::Approx(naive).epsilon(1e-5));
  CHECK(ref_loss == doctest::Approx(naive).epsilon(1e-6));

  ThreadPool pool(1);
  RetrievalLossWorkspace ws;
  auto objective = [&] { return retrieval_loss(lc.inputs(), lc.opt, nullptr, nullptr, pool, ws); };
  const float eps = 1e-2f;
  const auto nq = numeric_gradient(lc.q.span(), eps, objective);
  const auto nc = numeric_gradient(lc.c.span(), eps, objective);
  // The loss is smooth: O(eps²) truncation plus float noise stay near 1e-4 of the largest entry.
  constexpr double tol = 1e-2;
  check_gradient(dq, nq, tol, "fused dq");
  check_gradient(dc, nc, tol, "fused dc");
  check_gradient(rdq, nq, tol, "reference dq");
  check_gradient(rdc, nc, tol, "reference dc");
}

}  // namespace

TEST_CASE("nn retrieval loss: hand-computed two-row example") {
  // B = 2, d = 1: q = (1, 2), c = (3, -1); scores [[3, -1], [6, -2]].
  LossCase lc;
  lc.q.resize(2, 1);
  lc.c.resize(2, 1);
  lc.q.at(0, 0) = 1.0f;
  lc.q.at(1, 0) = 2.0f;
  lc.c.at(0, 0) = 3.0f;
  lc.c.at(1, 0) = -1.0f;
  for (double t : {1.0, 2.0, 0.5}) {
    CAPTURE(t);
    lc.opt.temperature = static_cast<float>(t);
    const double s[2][2] = {{3.0 / t, -1.0 / t}, {6.0 / t, -2.0 / t}};
    const double expect = (std::log(std::exp(s[0][0]) + std::exp(s[0][1])) - s[0][0]) +
                          (std::log(std::exp(s[1][0]) + std::exp(s[1][1])) - s[1][1]);
    // G = (softmax - onehot) / t; dq_i = sum_j G_ij c_j; dc_j = sum_i G_ij q_i.
    double g[2][2];
    for (int i = 0; i < 2; ++i) {
      const double z = std::exp(s[i][0]) + std::exp(s[i][1]);
      for (int j = 0; j < 2; ++j) g[i][j] = (std::exp(s[i][j]) / z - (i == j)) / t;
    }
    const double c[2] = {3.0, -1.0}, q[2] = {1.0, 2.0};
    Matrix dq, dc, rdq, rdc;
    CHECK(fused(lc, &dq, &dc) == doctest::Approx(expect).epsilon(1e-6));
    CHECK(reference(lc, &rdq, &rdc) == doctest::Approx(expect).epsilon(1e-12));
    for (int i = 0; i < 2; ++i) {
      const double edq = g[i][0] * c[0] + g[i][1] * c[1];
      const double edc = g[0][i] * q[0] + g[1][i] * q[1];
      CHECK(dq.at(i, 0) == doctest::Approx(edq).epsilon(1e-5));
      CHECK(dc.at(i, 0) == doctest::Approx(edc).epsilon(1e-5));
      CHECK(rdq.at(i, 0) == doctest::Approx(edq).epsilon(1e-6));
      CHECK(rdc.at(i, 0) == doctest::Approx(edc).epsilon(1e-6));
    }
  }
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with no option") {
  loss_gradient_check(Flags{}, 1000);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with temperature") {
  Flags f;
  f.temperature = 0.5f;  // a missing 1/temperature would be off by a factor 2
  loss_gradient_check(f, 1100);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with logQ correction") {
  Flags f;
  f.logq = true;
  loss_gradient_check(f, 1200);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with accidental hits removed") {
  Flags f;
  f.hits = true;
  loss_gradient_check(f, 1300);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with hard negatives") {
  Flags f;
  f.hard = 2;
  loss_gradient_check(f, 1400);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with sample weights") {
  Flags f;
  f.weights = true;
  loss_gradient_check(f, 1500);
}

TEST_CASE("nn retrieval loss: gradient matches finite differences with all options together") {
  Flags f;
  f.temperature = 0.5f;
  f.logq = true;
  f.hits = true;
  f.hard = 2;
  f.weights = true;
  loss_gradient_check(f, 1600);
}

TEST_CASE("nn retrieval loss: fused equals reference across block boundaries and thread counts") {
  struct Shape {
    size_t bq, bc;
  };
  const Shape shapes[] = {{1, 1}, {5, 5}, {33, 33}, {100, 100}, {300, 300},  // square
                          {1, 4}, {5, 9}, {33, 70}, {100, 257}, {64, 65}};   // Bc > Bq
  Flags all;
  all.temperature = 0.2f;
  all.logq = true;
  all.hits = true;
  all.hard = 5;
  all.weights = true;
  uint64_t seed = 2000;
  for (const Shape& sh : shapes)
    for (const Flags& f : {Flags{}, all}) {
      const LossCase lc = make_case(sh.bq, sh.bc, 16, seed++, f);
      Matrix rdq, rdc;
      const double ref = reference(lc, &rdq, &rdc);
      CHECK(ref == doctest::Approx(naive_loss(lc)).epsilon(1e-6));
      for (int threads : {1, 2}) {
        CAPTURE(sh.bq);
        CAPTURE(sh.bc);
        CAPTURE(f.hard);
        CAPTURE(threads);
        Matrix dq, dc;
        const double loss = fused(lc, &dq, &dc, threads);
        CHECK(loss == doctest::Approx(ref).epsilon(1e-5));
        REQUIRE(dq.rows() == sh.bq);
        REQUIRE(dc.rows() == sh.bc);
        REQUIRE(dq.cols() == 16);
        REQUIRE(dc.cols() == 16);
        CHECK(max_rel_diff(dq, rdq, 1e-3) < 1e-4);
        CHECK(max_rel_diff(dc, rdc, 1e-3) < 1e-4);
        // Loss only: the same value, nothing written.
        CHECK(fused(lc, nullptr, nullptr, threads) == loss);
      }
    }
}

TEST_CASE("nn retrieval loss: results are bit-identical across runs with the same thread count") {
  Flags f;
  f.temperature = 0.5f;
  f.logq = true;
  f.weights = true;
  const LossCase lc = make_case(300, 300, 16, 3000, f);
  const LossCase small = make_case(5, 7, 16, 3001, f);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    ThreadPool pool(threads);
    RetrievalLossWorkspace ws;
    Matrix dq1, dc1, dq2, dc2, dq3, dc3;
    const double l1 = retrieval_loss(lc.inputs(), lc.opt, &dq1, &dc1, pool, ws);
    const double l2 = retrieval_loss(lc.inputs(), lc.opt, &dq2, &dc2, pool, ws);
    const double l3 = fused(lc, &dq3, &dc3, threads);  // fresh pool and workspace
    CHECK(std::memcmp(&l1, &l2, sizeof l1) == 0);
    CHECK(std::memcmp(&l1, &l3, sizeof l1) == 0);
    CHECK(bit_equal(dq1, dq2));
    CHECK(bit_equal(dc1, dc2));
    CHECK(bit_equal(dq1, dq3));
    CHECK(bit_equal(dc1, dc3));
    // A workspace that served a bigger batch gives the same answer as a fresh one.
    Matrix sq1, sc1, sq2, sc2;
    const double s1 = retrieval_loss(small.inputs(), small.opt, &sq1, &sc1, pool, ws);
    const double s2 = fused(small, &sq2, &sc2, threads);
    CHECK(std::memcmp(&s1, &s2, sizeof s1) == 0);
    CHECK(bit_equal(sq1, sq2));
    CHECK(bit_equal(sc1, sc2));
  }
}

TEST_CASE("nn retrieval loss: an empty batch gives zero loss and zero candidate gradient") {
  LossCase lc;
  lc.q.resize(0, 3);
  Rng rng(5);
  lc.c = random_matrix(4, 3, rng);
  Matrix dq(2, 2), dc(1, 1);
  CHECK(fused(lc, &dq, &dc) == 0.0);
  CHECK(dq.rows() == 0);
  REQUIRE(dc.rows() == 4);
  REQUIRE(dc.cols() == 3);
  for (float v : dc.span()) CHECK(v == 0.0f);
  CHECK(reference(lc, &dq, &dc) == 0.0);
}

TEST_CASE("nn retrieval loss: accidental hits get zero probability") {
  // Candidates 0 and 1 share id 7. Row 0's positive is column 0, so column 1 is an accidental
  // hit for it (and column 0 for row 1); column 2 (id 3) is a true negative.
  LossCase lc;
  Rng rng(17);
  lc.q = random_matrix(3, 2, rng);
  lc.c = random_matrix(3, 2, rng);
  lc.ids = {7, 7, 3};
  lc.opt.remove_accidental_hits = true;
  auto dot = [&](size_t i, size_t j) {
    return static_cast<double>(lc.q.at(i, 0)) * lc.c.at(j, 0) + static_cast<double>(lc.q.at(i, 1)) * lc.c.at(j, 1);
  };
  for (size_t row : {0, 1}) {
    CAPTURE(row);
    const size_t hit = 1 - row;
    lc.weight.assign(3, 0.0f);
    lc.weight[row] = 1.0f;  // only this row contributes
    const double expect = std::log(std::exp(dot(row, row)) + std::exp(dot(row, 2))) - dot(row, row);
    Matrix dq, dc, rdq, rdc;
    CHECK(fused(lc, &dq, &dc) == doctest::Approx(expect).epsilon(1e-6));
    CHECK(reference(lc, &rdq, &rdc) == doctest::Approx(expect).epsilon(1e-6));
    // dc[hit] = G[row][hit] · q[row]: zero since the hit's softmax probability is zero.
    for (size_t k = 0; k < 2; ++k) {
      CHECK(dc.at(hit, k) == 0.0f);
      CHECK(rdc.at(hit, k) == 0.0f);
      CHECK(dc.at(2, k) != 0.0f);
    }
    // Without the option the same column does get gradient: the check above can fail.
    lc.opt.remove_accidental_hits = false;
    fused(lc, &dq, &dc);
    CHECK(std::abs(dc.at(hit, 0)) + std::abs(dc.at(hit, 1)) > 1e-3);
    lc.opt.remove_accidental_hits = true;
  }
  // The option needs ids but a row's own positive is never removed, whatever the ids.
  lc.weight.clear();
  lc.ids = {4, 4, 4};
  Matrix dq, dc;
  const double all_same = fused(lc, &dq, &dc);
  CHECK(all_same == doctest::Approx(0.0).epsilon(1e-6));  // each row keeps only its positive
  CHECK(std::isfinite(all_same));
}

TEST_CASE("nn retrieval loss: hard negatives keep the positive and the top negatives with ties to the lower column") {
  // d = 1 and every query is 1, so row i's scores are the candidate values themselves.
  LossCase lc;
  lc.q.resize(5, 1);
  lc.c.resize(5, 1);
  const float cv[5] = {0.5f, 2.0f, 2.0f, 1.0f, -1.0f};
  for (size_t i = 0; i < 5; ++i) {
    lc.q.at(i, 0) = 1.0f;
    lc.c.at(i, 0) = cv[i];
  }
  struct Expect {
    size_t row;
    int k;
    std::vector<size_t> kept;  // columns with gradient, positive included
  };
  const Expect cases[] = {
      {0, 1, {0, 1}},  // columns 1 and 2 tie at 2: the lower one wins
      {0, 2, {0, 1, 2}}, {0, 3, {0, 1, 2, 3}},
      {3, 1, {1, 3}},    {1, 1, {1, 2}},  // a negative equal to the positive is kept as the top negative
      {4, 2, {1, 2, 4}},
  };
  for (const Expect& e : cases) {
    CAPTURE(e.row);
    CAPTURE(e.k);
    lc.opt.num_hard_negatives = e.k;
    lc.weight.assign(5, 0.0f);
    lc.weight[e.row] = 1.0f;
    double z = 0.0;
    for (size_t j : e.kept) z += std::exp(static_cast<double>(cv[j]));
    const double expect = std::log(z) - cv[e.row];
    Matrix dq, dc, rdq, rdc;
    CHECK(fused(lc, &dq, &dc) == doctest::Approx(expect).epsilon(1e-6));
    CHECK(reference(lc, &rdq, &rdc) == doctest::Approx(expect).epsilon(1e-6));
    CHECK(naive_loss(lc) == doctest::Approx(expect).epsilon(1e-12));
    for (size_t j = 0; j < 5; ++j) {
      CAPTURE(j);
      const bool kept = std::find(e.kept.begin(), e.kept.end(), j) != e.kept.end();
      CHECK((dc.at(j, 0) != 0.0f) == kept);
      CHECK((rdc.at(j, 0) != 0.0f) == kept);
    }
  }
  // Ties among several columns beyond the kept ones: {3, 3, 3} at columns 2..4, k = 2.
  lc.c.at(1, 0) = 1.0f;
  lc.c.at(2, 0) = lc.c.at(3, 0) = lc.c.at(4, 0) = 3.0f;
  lc.opt.num_hard_negatives = 2;
  lc.weight.assign(5, 0.0f);
  lc.weight[0] = 1.0f;
  Matrix dq, dc;
  fused(lc, &dq, &dc);
  CHECK(dc.at(2, 0) != 0.0f);
  CHECK(dc.at(3, 0) != 0.0f);
  CHECK(dc.at(4, 0) == 0.0f);
  CHECK(dc.at(1, 0) == 0.0f);

  // k >= Bc - 1 keeps everything: the same as no mining.
  lc.weight.clear();
  lc.opt.num_hard_negatives = 0;
  const double plain = fused(lc, nullptr, nullptr);
  for (int k : {4, 5, 100}) {
    lc.opt.num_hard_negatives = k;
    CHECK(fused(lc, nullptr, nullptr) == plain);
  }
}

TEST_CASE("nn retrieval loss: logQ correction subtracts the clipped log probability") {
  Rng rng(23);
  LossCase lc;
  lc.q = random_matrix(4, 3, rng);
  lc.c = random_matrix(6, 3, rng);
  const double plain = fused(lc, nullptr, nullptr);
  // The same probability everywhere shifts every score equally: no change.
  lc.prob.assign(6, 0.25f);
  CHECK(fused(lc, nullptr, nullptr) == doctest::Approx(plain).epsilon(1e-6));
  // Clipping to [1e-6, 1]: 0 and 1e-9 count as 1e-6, 3 as 1.
  lc.prob = {0.3f, 1e-9f, 0.0f, 3.0f, 0.05f, 1.0f};
  const double loss = fused(lc, nullptr, nullptr);
  CHECK(loss == doctest::Approx(naive_loss(lc)).epsilon(1e-6));
  CHECK(reference(lc, nullptr, nullptr) == doctest::Approx(loss).epsilon(1e-6));
  LossCase clipped = lc;
  clipped.prob = {0.3f, 1e-6f, 1e-6f, 1.0f, 0.05f, 1.0f};
  CHECK(loss == doctest::Approx(fused(clipped, nullptr, nullptr)).epsilon(1e-6));
  // Hand value for row 0 alone: scores s_j - log p_j.
  lc.weight = {1.0f, 0.0f, 0.0f, 0.0f};
  double z = 0.0, pos = 0.0;
  const double p[6] = {0.3, 1e-6, 1e-6, 1.0, 0.05, 1.0};
  for (size_t j = 0; j < 6; ++j) {
    double s = 0.0;
    for (size_t k = 0; k < 3; ++k) s += static_cast<double>(lc.q.at(0, k)) * lc.c.at(j, k);
    s -= std::log(p[j]);
    z += std::exp(s);
    if (j == 0) pos = s;
  }
  CHECK(fused(lc, nullptr, nullptr) == doctest::Approx(std::log(z) - pos).epsilon(1e-6));
}

TEST_CASE("nn retrieval loss: sample weights multiply each row's loss and gradient") {
  const LossCase base = make_case(7, 7, 5, 41, Flags{});
  std::vector<double> row_loss(7);
  for (size_t i = 0; i < 7; ++i) {
    LossCase one = base;
    one.weight.assign(7, 0.0f);
    one.weight[i] = 1.0f;
    row_loss[i] = fused(one, nullptr, nullptr);
  }
  const double total = fused(base, nullptr, nullptr);
  CHECK(total == doctest::Approx(std::accumulate(row_loss.begin(), row_loss.end(), 0.0)).epsilon(1e-6));
  LossCase weighted = base;
  weighted.weight = {0.5f, 2.0f, 0.0f, 1.0f, 3.0f, 0.25f, 1.5f};
  double expect = 0.0;
  for (size_t i = 0; i < 7; ++i) expect += weighted.weight[i] * row_loss[i];
  CHECK(fused(weighted, nullptr, nullptr) == doctest::Approx(expect).epsilon(1e-6));
  // A uniform weight of 2 doubles loss and gradients.
  LossCase twice = base;
  twice.weight.assign(7, 2.0f);
  Matrix dq1, dc1, dq2, dc2;
  const double l1 = fused(base, &dq1, &dc1), l2 = fused(twice, &dq2, &dc2);
  CHECK(l2 == doctest::Approx(2.0 * l1).epsilon(1e-6));
  for (size_t k = 0; k < dq1.size(); ++k) CHECK(dq2.data()[k] == doctest::Approx(2.0f * dq1.data()[k]).epsilon(1e-5));
  for (size_t k = 0; k < dc1.size(); ++k) CHECK(dc2.data()[k] == doctest::Approx(2.0f * dc1.data()[k]).epsilon(1e-5));
}

TEST_CASE("nn retrieval loss: bad inputs throw invalid_argument") {
  Rng rng(31);
  const LossCase good = make_case(4, 6, 3, 77, Flags{});
  auto both = [](const LossCase& lc) {
    const int a = thrown_kind([&] { fused(lc, nullptr, nullptr); });
    Matrix dq, dc;
    const int b = thrown_kind([&] { fused(lc, &dq, &dc, 1); });
    const int c = thrown_kind([&] { reference(lc, &dq, &dc); });
    CHECK(a == b);
    CHECK(a == c);
    return a;
  };
  CHECK(both(good) == 0);
  {
    LossCase lc = good;
    lc.c = random_matrix(6, 4, rng);  // dimension mismatch
    CHECK(both(lc) == kInvalid);
  }
  {
    LossCase lc = good;
    lc.c = random_matrix(3, 3, rng);  // Bc < Bq
    CHECK(both(lc) == kInvalid);
  }
  for (float t : {0.0f, -1.0f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    CAPTURE(t);
    LossCase lc = good;
    lc.opt.temperature = t;
    CHECK(both(lc) == kInvalid);
  }
  {
    LossCase lc = good;
    lc.opt.num_hard_negatives = -1;
    CHECK(both(lc) == kInvalid);
  }
  for (size_t n : {0, 5, 7}) {
    CAPTURE(n);
    LossCase lc = good;
    lc.opt.remove_accidental_hits = true;
    lc.ids.assign(n, 1);
    CHECK(both(lc) == kInvalid);
  }
  for (size_t n : {1, 5, 7}) {
    CAPTURE(n);
    LossCase lc = good;
    lc.prob.assign(n, 0.5f);
    CHECK(both(lc) == kInvalid);
  }
  for (size_t n : {1, 3, 6}) {
    CAPTURE(n);
    LossCase lc = good;
    lc.weight.assign(n, 1.0f);
    CHECK(both(lc) == kInvalid);
  }
  {
    ThreadPool pool(1);
    RetrievalLossWorkspace ws;
    RetrievalLossInputs in = good.inputs();
    in.queries = nullptr;
    CHECK(thrown_kind([&] { retrieval_loss(in, good.opt, nullptr, nullptr, pool, ws); }) == kInvalid);
    in = good.inputs();
    in.candidates = nullptr;
    CHECK(thrown_kind([&] { retrieval_loss(in, good.opt, nullptr, nullptr, pool, ws); }) == kInvalid);
  }
}

namespace {

// A batch in both forms: `full` has one candidate column per query (with repeats), `grouped`
// one per distinct candidate with its count. Candidate ids repeat across distinct candidates
// too (accidental hits between different embeddings), probabilities are per candidate.
struct TwoForms {
  LossCase full, grouped;
  std::vector<int32_t> group;  // full column -> grouped column
};

TwoForms two_forms(size_t b, size_t distinct, size_t d, uint64_t seed, const Flags& f) {
  Rng rng(seed);
  TwoForms t;
  Matrix cu = random_matrix(distinct, d, rng);
  std::vector<int32_t> id(distinct);
  std::vector<float> prob(distinct);
  for (size_t u = 0; u < distinct; ++u) {
    id[u] = static_cast<int32_t>(rng.below(std::max<uint64_t>(3, distinct * 2 / 3)));
    prob[u] = rng.uniform(0.01f, 0.9f);
  }
  // Skewed counts: candidate 0 is very popular.
  std::vector<int32_t> of(b);
  for (size_t i = 0; i < b; ++i) of[i] = rng.below(3) == 0 ? 0 : static_cast<int32_t>(rng.below(distinct));
  LossCase& full = t.full;
  full.q = random_matrix(b, d, rng);
  full.c = Matrix(b, d);
  full.opt.temperature = f.temperature;
  full.opt.remove_accidental_hits = f.hits;
  for (size_t i = 0; i < b; ++i) {
    std::copy(cu.row(of[i]), cu.row(of[i]) + d, full.c.row(i));
    if (f.hits) full.ids.push_back(id[of[i]]);
    if (f.logq) full.prob.push_back(prob[of[i]]);
    if (f.weights) full.weight.push_back(rng.uniform(0.0f, 2.0f));
  }
  // The grouped form, columns in first-occurrence order as the trainer builds them.
  LossCase& g = t.grouped;
  g.q = full.q;
  g.opt = full.opt;
  g.weight = full.weight;
  std::vector<int32_t> column(distinct, -1);
  std::vector<size_t> firsts;
  for (size_t i = 0; i < b; ++i) {
    int32_t& col = column[of[i]];
    if (col < 0) {
      col = static_cast<int32_t>(firsts.size());
      firsts.push_back(static_cast<size_t>(of[i]));
      g.multiplicity.push_back(0.0f);
    }
    g.multiplicity[col] += 1.0f;
    g.positive.push_back(col);
    t.group.push_back(col);
  }
  g.c = Matrix(firsts.size(), d);
  for (size_t u = 0; u < firsts.size(); ++u) {
    std::copy(cu.row(firsts[u]), cu.row(firsts[u]) + d, g.c.row(u));
    if (f.hits) g.ids.push_back(id[firsts[u]]);
    if (f.logq) g.prob.push_back(prob[firsts[u]]);
  }
  return t;
}

void check_grouped_equals_full(const Flags& f, size_t b, int threads) {
  const TwoForms t = two_forms(b, b / 4 + 2, 5, 900 + b, f);
  REQUIRE(t.grouped.c.rows() < b);
  Matrix dq_full, dc_full, dq, dc, rdq, rdc;
  const double full = fused(t.full, &dq_full, &dc_full, threads);
  const double grouped = fused(t.grouped, &dq, &dc, threads);
  const double ref = reference(t.grouped, &rdq, &rdc);
  CHECK(grouped == doctest::Approx(full).epsilon(1e-5));
  CHECK(ref == doctest::Approx(full).epsilon(1e-5));
  // dC of a distinct candidate = the sum of its copies' dC.
  Matrix want_dc(t.grouped.c.rows(), 5);
  want_dc.zero();
  for (size_t i = 0; i < b; ++i)
    for (size_t k = 0; k < 5; ++k) want_dc.at(t.group[i], k) += dc_full.at(i, k);
  std::vector<double> want_dq(dq_full.span().begin(), dq_full.span().end());
  std::vector<double> want_dcv(want_dc.span().begin(), want_dc.span().end());
  check_gradient(dq, want_dq, 1e-4, "grouped dq");
  check_gradient(dc, want_dcv, 1e-4, "grouped dc");
  check_gradient(rdq, want_dq, 1e-4, "grouped reference dq");
  check_gradient(rdc, want_dcv, 1e-4, "grouped reference dc");
}

}  // namespace

TEST_CASE("nn retrieval loss: distinct candidates with counts equal one column per example, every option") {
  for (int threads : {1, 2})
    for (size_t b : {7, 300}) {  // 300 rows cross the 128-row blocks
      CAPTURE(threads);
      CAPTURE(b);
      SUBCASE("plain") { check_grouped_equals_full(Flags{}, b, threads); }
      SUBCASE("temperature") { check_grouped_equals_full(Flags{.temperature = 0.3f}, b, threads); }
      SUBCASE("logQ") { check_grouped_equals_full(Flags{.logq = true}, b, threads); }
      SUBCASE("accidental hits") { check_grouped_equals_full(Flags{.hits = true}, b, threads); }
      SUBCASE("weights") { check_grouped_equals_full(Flags{.weights = true}, b, threads); }
      SUBCASE("all") {
        check_grouped_equals_full(Flags{.temperature = 2.0f, .logq = true, .hits = true, .weights = true}, b, threads);
      }
    }
}

TEST_CASE("nn retrieval loss: dC added up range by range on the pool equals the whole at once, bit for bit") {
  const TwoForms t = two_forms(300, 77, 5, 1300, Flags{.logq = true, .weights = true});
  const LossCase& lc = t.grouped;
  const size_t bc = lc.c.rows();
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    ThreadPool pool(threads);
    Matrix dq, dc, dq_deferred, dc_deferred;
    RetrievalLossWorkspace ws, deferred;
    deferred.defer_candidate_gradient = true;
    const double whole = retrieval_loss(lc.inputs(), lc.opt, &dq, &dc, pool, ws);
    const double parts = retrieval_loss(lc.inputs(), lc.opt, &dq_deferred, &dc_deferred, pool, deferred);
    REQUIRE(dc_deferred.rows() == bc);
    const size_t ranges = 7;  // not a multiple of the kernel's 16-column tiles
    pool.for_each(ranges, [&](size_t r) {
      candidate_gradient_rows(deferred, dc_deferred, bc * r / ranges, bc * (r + 1) / ranges);
    });
    CHECK(std::memcmp(&whole, &parts, sizeof whole) == 0);
    CHECK(bit_equal(dq, dq_deferred));
    CHECK(bit_equal(dc, dc_deferred));
  }
}

TEST_CASE("nn retrieval loss: multiplicities that are not small whole numbers (no log table) match the reference") {
  TwoForms t = two_forms(40, 9, 4, 77, Flags{});
  LossCase& lc = t.grouped;
  lc.multiplicity[0] = 2.5f;
  lc.multiplicity[1] = 70000.0f;
  lc.multiplicity[2] = 3.0f;
  Matrix dq, dc, rdq, rdc;
  const double loss = fused(lc, &dq, &dc);
  const double ref = reference(lc, &rdq, &rdc);
  CHECK(loss == doctest::Approx(ref).epsilon(1e-5));
  check_gradient(dq, std::vector<double>(rdq.span().begin(), rdq.span().end()), 1e-4, "dq");
  check_gradient(dc, std::vector<double>(rdc.span().begin(), rdc.span().end()), 1e-4, "dc");
}

TEST_CASE("nn retrieval loss: distinct-candidate gradient matches finite differences") {
  for (const Flags& f : {Flags{}, Flags{.temperature = 0.5f, .logq = true, .hits = true, .weights = true}}) {
    TwoForms t = two_forms(12, 6, 3, 41, f);
    LossCase& lc = t.grouped;
    Matrix dq, dc;
    fused(lc, &dq, &dc);
    ThreadPool pool(1);
    RetrievalLossWorkspace ws;
    auto objective = [&] { return retrieval_loss(lc.inputs(), lc.opt, nullptr, nullptr, pool, ws); };
    REQUIRE(lc.c.rows() >= 4);
    REQUIRE(objective() > 1.0);
    check_gradient(dq, numeric_gradient(lc.q.span(), 1e-2f, objective), 1e-2, "grouped dq");
    check_gradient(dc, numeric_gradient(lc.c.span(), 1e-2f, objective), 1e-2, "grouped dc");
  }
}

TEST_CASE("nn retrieval loss: bad distinct-candidate inputs throw invalid_argument") {
  const TwoForms t = two_forms(8, 3, 3, 5, Flags{});
  auto kind = [](const LossCase& lc) { return thrown_kind([&] { fused(lc, nullptr, nullptr); }); };
  CHECK(kind(t.grouped) == 0);
  LossCase lc = t.grouped;
  lc.positive.pop_back();
  CHECK(kind(lc) == kInvalid);
  lc = t.grouped;
  lc.positive[0] = static_cast<int32_t>(lc.c.rows());
  CHECK(kind(lc) == kInvalid);
  lc = t.grouped;
  lc.multiplicity[0] = 0.5f;
  CHECK(kind(lc) == kInvalid);
  lc = t.grouped;
  lc.multiplicity.clear();
  CHECK(kind(lc) == kInvalid);
  lc = t.grouped;
  lc.opt.num_hard_negatives = 1;
  CHECK(kind(lc) == kInvalid);
}

// Mixed negatives (task.uniform_negatives): the trainer appends catalogue rows drawn uniformly
// after a grouped batch's distinct candidates, each with multiplicity 1 and its own sampling
// probability (the uniform draw's, on the batch's scale). The loss must treat them as plain
// negatives: gradients against finite differences, fused against reference, and only ratios of
// probabilities matter (the trainer rescales them per batch).
TEST_CASE("nn retrieval loss: mixed negatives after grouped candidates, gradient matches finite differences") {
  for (const Flags& f :
       {Flags{.logq = true}, Flags{.temperature = 0.5f, .logq = true, .hits = true, .weights = true}}) {
    TwoForms t = two_forms(12, 6, 3, 77, f);
    LossCase lc = t.grouped;
    const size_t in_batch = lc.c.rows(), extra = 4, d = lc.c.cols();
    Rng rng(78);
    Matrix c(in_batch + extra, d);
    for (size_t j = 0; j < in_batch; ++j) std::copy(lc.c.row(j), lc.c.row(j) + d, c.row(j));
    for (size_t j = in_batch; j < c.rows(); ++j)
      for (size_t k = 0; k < d; ++k) c.at(j, k) = rng.uniform(-1.0f, 1.0f);
    lc.c = c;
    for (size_t j = 0; j < extra; ++j) {
      lc.multiplicity.push_back(1.0f);
      lc.prob.push_back(0.02f);
      // One uniform draw is an accidental hit of row 0's positive, one a new id.
      if (f.hits) lc.ids.push_back(j == 0 ? lc.ids[static_cast<size_t>(lc.positive[0])] : 1000 + static_cast<int>(j));
    }
    Matrix dq, dc, rdq, rdc;
    const double loss = fused(lc, &dq, &dc);
    CHECK(reference(lc, &rdq, &rdc) == doctest::Approx(loss).epsilon(1e-5));
    ThreadPool pool(1);
    RetrievalLossWorkspace ws;
    auto objective = [&] { return retrieval_loss(lc.inputs(), lc.opt, nullptr, nullptr, pool, ws); };
    const auto nq = numeric_gradient(lc.q.span(), 1e-2f, objective);
    const auto nc = numeric_gradient(lc.c.span(), 1e-2f, objective);
    check_gradient(dq, nq, 1e-2, "mixed dq");
    check_gradient(dc, nc, 1e-2, "mixed dc");
    check_gradient(rdq, nq, 1e-2, "mixed reference dq");
    check_gradient(rdc, nc, 1e-2, "mixed reference dc");
    // The uniform columns get gradient (they are real negatives).
    double extra_grad = 0.0;
    for (size_t j = in_batch; j < lc.c.rows(); ++j)
      for (size_t k = 0; k < d; ++k) extra_grad += std::fabs(dc.at(j, k));
    CHECK(extra_grad > 1e-3);
    // One factor on every probability changes nothing.
    LossCase scaled = lc;
    for (float& p : scaled.prob) p *= 7.0f / 9.0f;
    CHECK(fused(scaled, nullptr, nullptr) == doctest::Approx(loss).epsilon(1e-5));
    // Their correction matters: a larger probability for the uniform columns lowers their weight.
    LossCase rarer = lc;
    for (size_t j = in_batch; j < rarer.prob.size(); ++j) rarer.prob[j] = 0.5f;
    CHECK(fused(rarer, nullptr, nullptr) != doctest::Approx(loss).epsilon(1e-4));
  }
}
