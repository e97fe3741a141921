// Optimizers against Keras's update formulas (computed here in double), sparse updates against
// dense ones, state round trips and configuration errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/random.h"
#include "engine_test_helpers.h"
#include "nn/matrix.h"
#include "nn/optimizer.h"
#include "nn/parameter.h"
#include "nn_test_support.h"

using namespace tt;
using namespace tt::nntest;

namespace {

OptimizerConfig config(const std::string& kind, float lr) {
  OptimizerConfig c;
  c.kind = kind;
  c.learning_rate = lr;
  return c;
}

Parameter dense_param(const std::string& name, size_t rows, size_t cols, Rng& rng) {
  Parameter p(name, rows, cols, false);
  for (float& v : p.value.span()) v = rng.uniform(-1.0f, 1.0f);
  return p;
}

std::vector<double> to_double(const Matrix& m) { return {m.data(), m.data() + m.size()}; }

void set_grad(Parameter& p, const std::vector<double>& g) {
  REQUIRE(g.size() == p.grad.size());
  for (size_t k = 0; k < g.size(); ++k) p.grad.data()[k] = static_cast<float>(g[k]);
}

std::vector<double> random_grad(size_t n, Rng& rng) {
  std::vector<double> g(n);
  for (double& v : g) v = rng.uniform(-2.0f, 2.0f);
  return g;
}

void check_values(const Matrix& got, const std::vector<double>& expect, double tol) {
  REQUIRE(got.size() == expect.size());
  for (size_t k = 0; k < expect.size(); ++k) {
    CAPTURE(k);
    CHECK(std::abs(got.data()[k] - expect[k]) < tol);
  }
}

bool grad_is_zero(const Parameter& p) {
  for (float v : p.grad.span())
    if (v != 0.0f) return false;
  return true;
}

std::vector<uint8_t> state_of(const Optimizer& opt) {
  ByteWriter w;
  opt.save_state(w);
  return w.take();
}

// Adds `row_grad` to row r of a sparse parameter's gradient through the touched bookkeeping,
// and the same values to a dense parameter's gradient.
void add_row_grad(Parameter& sparse, Parameter& dense, int32_t r, const std::vector<float>& row_grad) {
  float* gs = sparse.grad_row(r);
  float* gd = dense.grad.row(r);
  for (size_t k = 0; k < row_grad.size(); ++k) {
    gs[k] += row_grad[k];
    gd[k] += row_grad[k];
  }
}

// Two steps on a sparse table and on a dense copy with the same gradients (rows {4, 1, 4}
// then {0}: a duplicate, and rows never touched); values must come out bit-identical.
void check_sparse_equals_dense(const OptimizerConfig& c) {
  CAPTURE(c.kind);
  CAPTURE(c.momentum);
  Rng rng(55);
  const size_t rows = 6, cols = 3;
  Parameter sparse("table", rows, cols, true), dense("table", rows, cols, false);
  for (size_t k = 0; k < sparse.value.size(); ++k) sparse.value.data()[k] = dense.value.data()[k] = rng.uniform(-1, 1);
  auto s_opt = make_optimizer(c), d_opt = make_optimizer(c);
  std::vector<Parameter*> sp = {&sparse}, dp = {&dense};
  const std::vector<std::vector<int32_t>> steps = {{4, 1, 4}, {0}};
  for (const auto& ids : steps) {
    for (int32_t r : ids) add_row_grad(sparse, dense, r, random_vector(cols, rng, -2.0f, 2.0f));
    optimizer_step(*s_opt, sp);
    optimizer_step(*d_opt, dp);
    CHECK(bit_equal(sparse.value, dense.value));
    CHECK(grad_is_zero(sparse));
    CHECK(sparse.touched.empty());
  }
  // The slots (accumulators) agree too: the two states serialise to the same bytes.
  CHECK(state_of(*s_opt) == state_of(*d_opt));
  // And untouched rows (2, 3, 5) never moved under Adagrad and plain SGD.
  if (c.kind == "adagrad" || c.momentum == 0.0f) {
    Rng again(55);
    for (size_t r = 0; r < rows; ++r)
      for (size_t k = 0; k < cols; ++k) {
        const float v0 = again.uniform(-1, 1);
        if (r == 2 || r == 3 || r == 5) CHECK(sparse.value.at(r, k) == v0);
      }
  }
}

}  // namespace

TEST_CASE("nn optimizer: adagrad one and two steps follow the Keras formula") {
  Rng rng(1);
  Parameter a = dense_param("a", 2, 3, rng);
  Parameter b = dense_param("b", 1, 4, rng);
  std::vector<Parameter*> params = {&a, &b};
  auto opt = make_optimizer(config("adagrad", 0.1f));
  CHECK(opt->config().initial_accumulator == 0.1f);
  CHECK(opt->config().epsilon == 1e-7f);

  std::vector<std::vector<double>> w = {to_double(a.value), to_double(b.value)};
  std::vector<std::vector<double>> acc = {std::vector<double>(6, 0.1), std::vector<double>(4, 0.1)};
  for (int step = 0; step < 2; ++step) {
    CAPTURE(step);
    for (size_t p = 0; p < params.size(); ++p) {
      const auto g = random_grad(params[p]->grad.size(), rng);
      set_grad(*params[p], g);
      for (size_t k = 0; k < g.size(); ++k) {
        const double gk = static_cast<float>(g[k]);
        acc[p][k] += gk * gk;                               // acc starts at 0.1; acc += g²
        w[p][k] -= 0.1 * gk / std::sqrt(acc[p][k] + 1e-7);  // w -= lr · g / sqrt(acc + eps)
      }
    }
    optimizer_step(*opt, params);
    check_values(a.value, w[0], 2e-6);
    check_values(b.value, w[1], 2e-6);
    CHECK(grad_is_zero(a));
    CHECK(grad_is_zero(b));
  }
}

TEST_CASE("nn optimizer: adagrad hand example") {
  // One weight 1.0, gradient 0.5 then -1.0, lr 0.1.
  Parameter p("w", 1, 1, false);
  p.value.at(0, 0) = 1.0f;
  std::vector<Parameter*> params = {&p};
  auto opt = make_optimizer(config("adagrad", 0.1f));
  p.grad.at(0, 0) = 0.5f;
  optimizer_step(*opt, params);
  const double w1 = 1.0 - 0.1 * 0.5 / std::sqrt(0.35 + 1e-7);  // acc = 0.1 + 0.25
  CHECK(p.value.at(0, 0) == doctest::Approx(w1).epsilon(1e-6));
  p.grad.at(0, 0) = -1.0f;
  optimizer_step(*opt, params);
  const double w2 = w1 + 0.1 * 1.0 / std::sqrt(1.35 + 1e-7);  // acc = 0.35 + 1
  CHECK(p.value.at(0, 0) == doctest::Approx(w2).epsilon(1e-6));
  // A zero gradient leaves the weight where it is.
  optimizer_step(*opt, params);
  CHECK(p.value.at(0, 0) == doctest::Approx(w2).epsilon(1e-7));
}

TEST_CASE("nn optimizer: sparse update equals the dense update for adagrad and sgd") {
  check_sparse_equals_dense(config("adagrad", 0.1f));
  check_sparse_equals_dense(config("sgd", 0.05f));
  OptimizerConfig momentum = config("sgd", 0.05f);
  momentum.momentum = 0.9f;
  check_sparse_equals_dense(momentum);
  check_sparse_equals_dense(config("adam", 0.01f));
}

TEST_CASE("nn optimizer: adam two steps follow the Keras formula") {
  // Under ASan this also guards the slot storage: Adam holds its first moment while creating the
  // second, which must not move the first (it did: a heap-use-after-free, invisible in Release).
  Rng rng(2);
  Parameter p = dense_param("p", 3, 2, rng);
  // A sparse table: row 1 is touched in step 1 only, yet keeps moving in step 2 because Keras's
  // Adam decays the moments of every row (the dense gradient there is zero).
  Parameter t("t", 3, 2, true);
  for (float& v : t.value.span()) v = rng.uniform(-1, 1);
  std::vector<Parameter*> params = {&p, &t};
  OptimizerConfig c = config("adam", 0.1f);
  auto opt = make_optimizer(c);
  const double b1 = 0.9f, b2 = 0.999f, eps = 1e-7f, lr = 0.1f;
  std::vector<std::vector<double>> w = {to_double(p.value), to_double(t.value)};
  std::vector<std::vector<double>> m(2, std::vector<double>(6, 0.0)), v(2, std::vector<double>(6, 0.0));
  for (int step = 1; step <= 2; ++step) {
    CAPTURE(step);
    std::vector<std::vector<double>> g(2);
    g[0] = random_grad(6, rng);
    set_grad(p, g[0]);
    g[1].assign(6, 0.0);
    const int32_t row = step == 1 ? 1 : 2;
    float* gr = t.grad_row(row);
    for (size_t k = 0; k < 2; ++k) {
      gr[k] = rng.uniform(-2, 2);
      g[1][row * 2 + k] = gr[k];
    }
    const double alpha = lr * std::sqrt(1.0 - std::pow(b2, step)) / (1.0 - std::pow(b1, step));
    for (size_t q = 0; q < 2; ++q)
      for (size_t k = 0; k < 6; ++k) {
        const double gk = static_cast<float>(g[q][k]);
        m[q][k] += (gk - m[q][k]) * (1.0 - b1);
        v[q][k] += (gk * gk - v[q][k]) * (1.0 - b2);
        w[q][k] -= m[q][k] * alpha / (std::sqrt(v[q][k]) + eps);
      }
    optimizer_step(*opt, params);
    check_values(p.value, w[0], 2e-6);
    check_values(t.value, w[1], 2e-6);
    CHECK(grad_is_zero(p));
    CHECK(grad_is_zero(t));
  }
  // Row 0 of the table never had a gradient: it never moved.
  CHECK(t.value.at(0, 0) == static_cast<float>(w[1][0]));
}

TEST_CASE("nn optimizer: sgd with and without momentum") {
  Rng rng(3);
  Parameter p = dense_param("p", 2, 2, rng);
  std::vector<Parameter*> params = {&p};
  {
    auto opt = make_optimizer(config("sgd", 0.5f));
    auto w = to_double(p.value);
    for (int step = 0; step < 2; ++step) {
      const auto g = random_grad(4, rng);
      set_grad(p, g);
      for (size_t k = 0; k < 4; ++k) w[k] -= 0.5 * static_cast<float>(g[k]);
      optimizer_step(*opt, params);
      check_values(p.value, w, 1e-6);
      CHECK(grad_is_zero(p));
    }
  }
  {
    OptimizerConfig c = config("sgd", 0.5f);
    c.momentum = 0.9f;
    auto opt = make_optimizer(c);
    auto w = to_double(p.value);
    std::vector<double> vel(4, 0.0);
    for (int step = 0; step < 3; ++step) {
      const auto g = random_grad(4, rng);
      set_grad(p, g);
      for (size_t k = 0; k < 4; ++k) {
        vel[k] = 0.9f * vel[k] - 0.5 * static_cast<float>(g[k]);  // v = mu·v - lr·g; w += v
        w[k] += vel[k];
      }
      optimizer_step(*opt, params);
      check_values(p.value, w, 2e-6);
    }
    // With a zero gradient the velocity alone keeps moving the weights.
    const auto before = to_double(p.value);
    optimizer_step(*opt, params);
    for (size_t k = 0; k < 4; ++k) CHECK(p.value.data()[k] == doctest::Approx(before[k] + 0.9 * vel[k]).epsilon(1e-6));
  }
}

TEST_CASE("nn optimizer: weight decay adds lambda * w to the gradient; lazily on embedding rows") {
  Rng rng(8);
  for (const char* kind : {"sgd", "adagrad", "adam"}) {
    CAPTURE(kind);
    // Dense: the step with weight decay equals the step without it on the gradient g + lambda w.
    Parameter a = dense_param("p", 3, 2, rng);
    Parameter b = a;
    OptimizerConfig with = config(kind, 0.1f), without = config(kind, 0.1f);
    with.weight_decay = 0.25f;
    auto opt_a = make_optimizer(with), opt_b = make_optimizer(without);
    std::vector<Parameter*> pa = {&a}, pb = {&b};
    for (int step = 0; step < 2; ++step) {
      const auto g = random_grad(6, rng);
      set_grad(a, g);
      std::vector<double> decayed = g;
      for (size_t k = 0; k < 6; ++k) decayed[k] = static_cast<float>(g[k]) + 0.25f * b.value.data()[k];
      set_grad(b, decayed);
      optimizer_step(*opt_a, pa);
      optimizer_step(*opt_b, pb);
      check_values(a.value, to_double(b.value), 1e-6);
    }
    // A zero gradient still shrinks dense weights (plain SGD: w -= lr * lambda * w).
    if (std::string(kind) == "sgd") {
      const auto before = to_double(a.value);
      optimizer_step(*opt_a, pa);
      for (size_t k = 0; k < 6; ++k) CHECK(a.value.data()[k] == doctest::Approx(before[k] * (1 - 0.1 * 0.25)));
    }
    // Sparse: only the touched rows decay; untouched rows keep their values.
    Parameter table("table", 4, 2, true);
    for (float& v : table.value.span()) v = rng.uniform(-1.0f, 1.0f);
    const Matrix start = table.value;
    auto opt = make_optimizer(with);
    std::vector<Parameter*> pt = {&table};
    table.grad_row(2);  // touched with a zero gradient: decays only
    optimizer_step(*opt, pt);
    for (size_t r : {0, 1, 3})
      for (size_t k = 0; k < 2; ++k) CHECK(table.value.at(r, k) == start.at(r, k));
    for (size_t k = 0; k < 2; ++k) CHECK(table.value.at(2, k) != start.at(2, k));
  }
  OptimizerConfig bad = config("sgd", 0.1f);
  bad.weight_decay = -1.0f;
  CHECK(thrown_kind([&] { (void)make_optimizer(bad); }) == kInvalid);
}

TEST_CASE("nn optimizer: save_state and load_state continue identically") {
  OptimizerConfig momentum = config("sgd", 0.1f);
  momentum.momentum = 0.8f;
  for (const OptimizerConfig& c : {config("adagrad", 0.1f), config("adam", 0.05f), momentum}) {
    CAPTURE(c.kind);
    Rng rng(9);
    Parameter a = dense_param("dense/kernel", 3, 4, rng);
    Parameter t("emb", 5, 2, true);
    for (float& v : t.value.span()) v = rng.uniform(-1, 1);
    std::vector<Parameter*> params = {&a, &t};
    auto opt = make_optimizer(c);
    auto fill = [&](Parameter& dense, Parameter& table, Rng& r) {
      set_grad(dense, random_grad(dense.grad.size(), r));
      float* g = table.grad_row(static_cast<int32_t>(r.below(5)));
      g[0] = r.uniform(-1, 1);
      g[1] = r.uniform(-1, 1);
    };
    for (int s = 0; s < 2; ++s) {
      fill(a, t, rng);
      optimizer_step(*opt, params);
    }
    const auto blob = state_of(*opt);

    // A copy of the parameters and a fresh optimizer loaded from the state.
    Parameter a2 = a, t2 = t;
    std::vector<Parameter*> params2 = {&a2, &t2};
    auto loaded = make_optimizer(c);
    ByteReader r(blob, "optimizer state");
    loaded->load_state(r, params2);
    CHECK(r.remaining() == 0);
    CHECK(state_of(*loaded) == blob);
    // One not loaded: proves the comparison below can fail.
    Parameter a3 = a, t3 = t;
    std::vector<Parameter*> params3 = {&a3, &t3};
    auto fresh = make_optimizer(c);

    for (int s = 0; s < 2; ++s) {
      Rng g1(100 + s), g2(100 + s), g3(100 + s);
      fill(a, t, g1);
      fill(a2, t2, g2);
      fill(a3, t3, g3);
      optimizer_step(*opt, params);
      optimizer_step(*loaded, params2);
      optimizer_step(*fresh, params3);
      CHECK(bit_equal(a.value, a2.value));
      CHECK(bit_equal(t.value, t2.value));
    }
    CHECK_FALSE(bit_equal(a.value, a3.value));
    CHECK(state_of(*opt) == state_of(*loaded));
  }
}

TEST_CASE("nn optimizer: damaged state is rejected as corrupt") {
  Rng rng(4);
  Parameter a = dense_param("a", 2, 2, rng);
  std::vector<Parameter*> params = {&a};
  auto opt = make_optimizer(config("adam", 0.1f));
  set_grad(a, random_grad(4, rng));
  optimizer_step(*opt, params);
  const auto blob = state_of(*opt);
  for (size_t cut = 0; cut < blob.size(); ++cut) {
    CAPTURE(cut);
    const std::vector<uint8_t> part(blob.begin(), blob.begin() + static_cast<long>(cut));
    ByteReader r(part, "state");
    auto o = make_optimizer(config("adam", 0.1f));
    CHECK(thrown_kind([&] { o->load_state(r, params); }) == kCorrupt);
  }
  // State for a parameter the model does not have, or of another shape.
  Parameter other = dense_param("other", 2, 2, rng);
  std::vector<Parameter*> others = {&other};
  {
    ByteReader r(blob, "state");
    auto o = make_optimizer(config("adam", 0.1f));
    CHECK(thrown_kind([&] { o->load_state(r, others); }) == kCorrupt);
  }
  Parameter reshaped = dense_param("a", 1, 4, rng);
  std::vector<Parameter*> re = {&reshaped};
  {
    ByteReader r(blob, "state");
    auto o = make_optimizer(config("adam", 0.1f));
    CHECK(thrown_kind([&] { o->load_state(r, re); }) == kCorrupt);
  }
}

TEST_CASE("nn optimizer: make_optimizer rejects unknown kinds and bad learning rates") {
  CHECK(thrown_kind([] { make_optimizer(config("rmsprop", 0.1f)); }) == kInvalid);
  CHECK(thrown_kind([] { make_optimizer(config("", 0.1f)); }) == kInvalid);
  CHECK(thrown_kind([] { make_optimizer(config("Adagrad", 0.1f)); }) == kInvalid);
  for (float lr : {0.0f, -0.1f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    CAPTURE(lr);
    for (const char* kind : {"adagrad", "adam", "sgd"})
      CHECK(thrown_kind([&] { make_optimizer(config(kind, lr)); }) == kInvalid);
  }
  OptimizerConfig neg = config("adagrad", 0.1f);
  neg.initial_accumulator = -0.1f;
  CHECK(thrown_kind([&] { make_optimizer(neg); }) == kInvalid);
  for (const char* kind : {"adagrad", "adam", "sgd"}) {
    auto o = make_optimizer(config(kind, 0.1f));
    REQUIRE(o);
    CHECK(o->config().kind == kind);
    CHECK(o->config().learning_rate == 0.1f);
  }
}

TEST_CASE("nn optimizer: a step in parts (prepare, begin_step, update per set) equals one update of every parameter") {
  // The trainer updates each tower's parameters on its own thread; the split must change
  // nothing, for every optimizer (Adam's step count must advance once per step, not per set).
  for (const char* kind : {"adagrad", "adam", "sgd"}) {
    CAPTURE(kind);
    OptimizerConfig c = config(kind, 0.05f);
    if (std::string(kind) == "sgd") c.momentum = 0.9f;
    Rng rng(8);
    Parameter a1 = dense_param("a", 4, 3, rng), b1("b", 5, 3, true);
    for (float& v : b1.value.span()) v = rng.uniform(-1, 1);
    Parameter a2 = a1, b2 = b1;
    auto whole = make_optimizer(c), parts = make_optimizer(c);
    std::vector<Parameter*> all1 = {&a1, &b1}, all2 = {&a2, &b2};
    parts->prepare(all2);
    for (int step = 0; step < 3; ++step) {
      const std::vector<double> g = random_grad(12, rng);
      set_grad(a1, g);
      set_grad(a2, g);
      for (int32_t r : {static_cast<int32_t>(step), 4}) {
        const std::vector<float> row = random_vector(3, rng, -1.0f, 1.0f);
        std::copy(row.begin(), row.end(), b1.grad_row(r));
        std::copy(row.begin(), row.end(), b2.grad_row(r));
      }
      optimizer_step(*whole, all1);
      parts->begin_step();
      std::vector<Parameter*> first = {&b2}, second = {&a2};  // sets in either order
      parts->update(first);
      parts->update(second);
      CHECK(bit_equal(a1.value, a2.value));
      CHECK(bit_equal(b1.value, b2.value));
      CHECK(grad_is_zero(a2));
      CHECK(grad_is_zero(b2));
    }
    CHECK(state_of(*whole) == state_of(*parts));
  }
}
