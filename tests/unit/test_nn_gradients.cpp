// Gradient checks of the nn layer's trainable ops against central finite differences:
// Dense (kernel, bias, input; with and without ReLU), embedding lookups and the masked mean of
// token embeddings. The objective is L = sum(R ⊙ output) for a fixed random R, accumulated in
// double; a wrong gradient (sign, factor 2, missing mask) fails the max-norm relative check.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "nn/dense.h"
#include "nn/embedding.h"
#include "nn/matrix.h"
#include "nn/parameter.h"
#include "nn_test_support.h"

using namespace tt;
using namespace tt::nntest;

namespace {

// Linear ops are exact up to float rounding, so the finite differences are accurate to about
// 1e-4 of the largest gradient; 1e-2 leaves room and still rejects any factor-2 or sign error.
constexpr double kTol = 1e-2;

void dense_gradient_check(size_t batch, bool relu, uint64_t seed) {
  const size_t in = 9, out = 5;
  CAPTURE(batch);
  CAPTURE(relu);
  Rng rng(seed);
  Dense layer("dense", in, out, relu);
  layer.initialize(rng);
  for (float& b : layer.bias.value.span()) b = rng.uniform(-0.5f, 0.5f);
  Matrix x = random_matrix(batch, in, rng);
  const Matrix r = random_matrix(batch, out, rng);
  const Matrix& w = layer.kernel.value;
  const Matrix& b = layer.bias.value;

  // Pre-activations in double, from the current (unperturbed) values.
  auto pre = [&](size_t n, size_t o) {
    double s = b.at(0, o);
    for (size_t i = 0; i < in; ++i) s += static_cast<double>(x.at(n, i)) * w.at(i, o);
    return s;
  };

  // Forward agrees with a plain double loop (and the kernel layout is Keras's [in x out]).
  Matrix y;
  layer.forward(x, y);
  REQUIRE(y.rows() == batch);
  REQUIRE(y.cols() == out);
  size_t negative = 0;
  for (size_t n = 0; n < batch; ++n)
    for (size_t o = 0; o < out; ++o) {
      const double p = pre(n, o);
      negative += p < 0.0;
      const double expect = relu ? std::max(p, 0.0) : p;
      CHECK(std::abs(y.at(n, o) - expect) < 1e-5);
    }
  // With ReLU, some outputs must be clipped, or the mask would go untested.
  if (relu && batch >= 7) CHECK(negative * 5 >= batch * out);

  Matrix dy = r, dx;
  layer.backward(x, y, dy, &dx);
  const Matrix gk = layer.kernel.grad, gb = layer.bias.grad;
  REQUIRE(dx.rows() == batch);
  REQUIRE(dx.cols() == in);

  auto objective = [&] {
    Matrix yy;
    layer.forward(x, yy);
    return dot_objective(r, yy);
  };

  // ReLU has a kink at 0: skip an entry whose ± eps step could move any pre-activation it
  // feeds across 0 (a shift of eps·|coefficient|).
  const float eps = 2e-3f;
  auto near_kink = [&](size_t n, size_t o, double shift) { return relu && std::abs(pre(n, o)) <= 2.0 * shift + 1e-4; };
  size_t skipped = 0;
  auto skip_kernel = [&](size_t k) {
    const size_t i = k / out, o = k % out;
    for (size_t n = 0; n < batch; ++n)
      if (near_kink(n, o, eps * std::abs(x.at(n, i)))) {
        ++skipped;
        return true;
      }
    return false;
  };
  auto skip_bias = [&](size_t o) {
    for (size_t n = 0; n < batch; ++n)
      if (near_kink(n, o, eps)) {
        ++skipped;
        return true;
      }
    return false;
  };
  auto skip_input = [&](size_t k) {
    const size_t n = k / in, i = k % in;
    for (size_t o = 0; o < out; ++o)
      if (near_kink(n, o, eps * std::abs(w.at(i, o)))) {
        ++skipped;
        return true;
      }
    return false;
  };

  // The many forward passes of the finite differences need no OpenMP team (and on a busy
  // machine a team per call costs far more than the work); the analytic pass above used one.
  OmpSingleThreadScope single;
  auto nk = numeric_gradient(layer.kernel.value.span(), eps, objective, skip_kernel);
  auto nb = numeric_gradient(layer.bias.value.span(), eps, objective, skip_bias);
  auto nx = numeric_gradient(x.span(), eps, objective, skip_input);
  CHECK(skipped * 4 <= nk.size() + nb.size() + nx.size());

  check_gradient(gk, nk, kTol, "kernel");
  check_gradient(gb, nb, kTol, "bias");
  check_gradient(dx, nx, kTol, "input");
}

// Copies the slice [col, col + width) of `m` out as its own matrix.
Matrix slice_of(const Matrix& m, size_t col, size_t width) {
  Matrix s(m.rows(), width);
  for (size_t r = 0; r < m.rows(); ++r)
    for (size_t k = 0; k < width; ++k) s.at(r, k) = m.at(r, col + k);
  return s;
}

// A wide matrix whose columns outside [col, col + width) hold `fill`, with `inner` inside.
Matrix widen(const Matrix& inner, size_t col, size_t cols, float fill) {
  Matrix m(inner.rows(), cols);
  for (float& v : m.span()) v = fill;
  for (size_t r = 0; r < inner.rows(); ++r)
    for (size_t k = 0; k < inner.cols(); ++k) m.at(r, col + k) = inner.at(r, k);
  return m;
}

Parameter random_table(const std::string& name, size_t rows, size_t dim, Rng& rng) {
  Parameter t(name, rows, dim, true);
  for (float& v : t.value.span()) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

bool all_zero(const Matrix& m) {
  return std::all_of(m.data(), m.data() + m.size(), [](float v) { return v == 0.0f; });
}

bool row_zero(const Matrix& m, size_t r) {
  return std::all_of(m.row(r), m.row(r) + m.cols(), [](float v) { return v == 0.0f; });
}

}  // namespace

TEST_CASE("nn dense: gradients of kernel bias and input match finite differences without relu") {
  uint64_t seed = 100;
  for (size_t batch : {1, 7, 64}) dense_gradient_check(batch, false, seed++);
}

TEST_CASE("nn dense: gradients of kernel bias and input match finite differences with relu") {
  uint64_t seed = 200;
  for (size_t batch : {1, 7, 64}) dense_gradient_check(batch, true, seed++);
}

TEST_CASE("nn dense: backward overwrites the gradients and works without dx") {
  Rng rng(7);
  Dense layer("d", 4, 3, true);
  layer.initialize(rng);
  Matrix x = random_matrix(6, 4, rng), y;
  const Matrix r = random_matrix(6, 3, rng);
  layer.forward(x, y);
  Matrix dy = r;
  layer.backward(x, y, dy, nullptr);
  const Matrix gk = layer.kernel.grad, gb = layer.bias.grad;
  CHECK_FALSE(all_zero(gk));
  dy = r;
  layer.backward(x, y, dy, nullptr);  // a second call replaces, never adds
  CHECK(bit_equal(layer.kernel.grad, gk));
  CHECK(bit_equal(layer.bias.grad, gb));
}

TEST_CASE("nn dense: initialisation and bad shapes") {
  CHECK(thrown_kind([] { Dense d("d", 0, 3, false); }) == kInvalid);
  CHECK(thrown_kind([] { Dense d("d", 3, 0, false); }) == kInvalid);
  Rng rng(3);
  Dense layer("tower/dense_0", 20, 12, true);
  CHECK(layer.kernel.name == "tower/dense_0/kernel");
  CHECK(layer.bias.name == "tower/dense_0/bias");
  layer.initialize(rng);
  const float limit = std::sqrt(6.0f / 32.0f);
  float largest = 0.0f;
  for (float v : layer.kernel.value.span()) {
    CHECK(std::abs(v) <= limit);
    largest = std::max(largest, std::abs(v));
  }
  CHECK(largest > 0.8f * limit);
  CHECK(all_zero(layer.bias.value));
  Matrix x(3, 19), y;
  x.zero();
  CHECK(thrown_kind([&] { layer.forward(x, y); }) == kInvalid);
  // An empty batch gives an empty output.
  Matrix empty(0, 20);
  layer.forward(empty, y);
  CHECK(y.rows() == 0);
  CHECK(y.cols() == 12);
}

TEST_CASE("nn embedding: forward copies rows into the slice and backward matches finite differences") {
  Rng rng(11);
  const size_t rows = 10, dim = 4, col = 2, wide = col + dim + 3;
  Parameter table = random_table("emb", rows, dim, rng);
  const std::vector<int32_t> ids = {3, 1, 3, 7, 3};  // id 3 three times
  const size_t n = ids.size();
  const Matrix r = random_matrix(n, dim, rng);

  Matrix out(n, wide);
  for (float& v : out.span()) v = -123.0f;
  embedding_forward(table, ids, Slice{out.data(), wide, col});
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < wide; ++k) {
      if (k >= col && k < col + dim)
        CHECK(out.at(i, k) == table.value.at(ids[i], k - col));
      else
        CHECK(out.at(i, k) == -123.0f);  // outside the slice: untouched
    }

  // Gradient arrives through the slice of a wider matrix; the other columns must be ignored.
  const Matrix dout = widen(r, col, wide, 1e6f);
  embedding_backward(table, ids, ConstSlice{dout.data(), wide, col});

  auto objective = [&] {
    Matrix o(n, wide);
    o.zero();
    embedding_forward(table, ids, Slice{o.data(), wide, col});
    return dot_objective(r, slice_of(o, col, dim));
  };
  const auto num = numeric_gradient(table.value.span(), 1e-2f, objective);
  check_gradient(table.grad, num, kTol, "embedding table");

  // Duplicates are summed into one row; only touched rows carry gradient, in first-touch order.
  for (size_t k = 0; k < dim; ++k)
    CHECK(table.grad.at(3, k) == doctest::Approx(r.at(0, k) + r.at(2, k) + r.at(4, k)).epsilon(1e-6));
  CHECK(table.touched == std::vector<int32_t>{3, 1, 7});
  for (size_t row = 0; row < rows; ++row) {
    const bool touched = row == 1 || row == 3 || row == 7;
    CAPTURE(row);
    CHECK(table.is_touched[row] == (touched ? 1 : 0));
    if (!touched) CHECK(row_zero(table.grad, row));
  }

  // A second backward adds to the same rows.
  const Matrix once = table.grad;
  embedding_backward(table, ids, ConstSlice{dout.data(), wide, col});
  for (size_t k = 0; k < once.size(); ++k) CHECK(table.grad.data()[k] == doctest::Approx(2.0f * once.data()[k]));
  CHECK(table.touched.size() == 3);

  // clear_grad resets the gradient and the bookkeeping.
  table.clear_grad();
  CHECK(all_zero(table.grad));
  CHECK(table.touched.empty());
  CHECK(std::all_of(table.is_touched.begin(), table.is_touched.end(), [](uint8_t f) { return f == 0; }));
  const std::vector<int32_t> one = {9};
  embedding_backward(table, one, ConstSlice{dout.data(), wide, col});
  CHECK(table.touched == std::vector<int32_t>{9});
  CHECK_FALSE(row_zero(table.grad, 9));
}

TEST_CASE("nn embedding: ids outside the table are rejected") {
  Rng rng(12);
  Parameter table = random_table("emb", 5, 2, rng);
  Matrix out(1, 2);
  for (int32_t bad : {-1, 5, 1 << 30}) {
    const std::vector<int32_t> ids = {bad};
    CHECK(thrown_kind([&] { embedding_forward(table, ids, Slice{out.data(), 2, 0}); }) == kInvalid);
    CHECK(thrown_kind([&] { pooled_embedding_forward(table, ids, 1, Slice{out.data(), 2, 0}); }) == kInvalid);
  }
}

TEST_CASE("nn embedding: pooled masked sum forward and backward match finite differences") {
  Rng rng(29);
  const size_t rows = 9, dim = 4, width = 4, col = 2, wide = col + dim + 1;
  Parameter table = random_table("values", rows, dim, rng);
  const std::vector<int32_t> ids = {
      2, 5, 0, 0,  // sum of two
      0, 0, 0, 0,  // no value: zeros, no gradient
      1, 1, 4, 0,  // a repeated value counts twice
      0, 3, 0, 8,  // padding anywhere is skipped
  };
  const size_t n = ids.size() / width;
  const Matrix r = random_matrix(n, dim, rng);

  Matrix out(n, wide);
  for (float& v : out.span()) v = 77.0f;
  pooled_embedding_forward(table, ids, width, Slice{out.data(), wide, col}, Pooling::sum);
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < dim; ++k) {
      double sum = 0.0;
      for (size_t j = 0; j < width; ++j)
        if (int32_t t = ids[i * width + j]; t != 0) sum += table.value.at(t, k);
      CAPTURE(i);
      CHECK(out.at(i, col + k) == doctest::Approx(sum).epsilon(1e-6));
    }
    CHECK(out.at(i, col - 1) == 77.0f);
    CHECK(out.at(i, col + dim) == 77.0f);
  }
  CHECK(out.at(1, col) == 0.0f);

  const Matrix dout = widen(r, col, wide, -5e5f);
  pooled_embedding_backward(table, ids, width, ConstSlice{dout.data(), wide, col}, Pooling::sum);
  auto objective = [&] {
    Matrix o(n, wide);
    o.zero();
    pooled_embedding_forward(table, ids, width, Slice{o.data(), wide, col}, Pooling::sum);
    return dot_objective(r, slice_of(o, col, dim));
  };
  const auto num = numeric_gradient(table.value.span(), 1e-2f, objective);
  check_gradient(table.grad, num, kTol, "sum-pooled table");
  // Hand values: a value twice in a row gets twice that row's gradient; once, the gradient itself.
  for (size_t k = 0; k < dim; ++k) {
    CHECK(table.grad.at(1, k) == doctest::Approx(2.0 * r.at(2, k)).epsilon(1e-6));
    CHECK(table.grad.at(8, k) == doctest::Approx(r.at(3, k)).epsilon(1e-6));
  }
  CHECK(row_zero(table.grad, 0));
  CHECK(table.is_touched[0] == 0);
  std::vector<int32_t> touched = table.touched;
  std::sort(touched.begin(), touched.end());
  CHECK(touched == std::vector<int32_t>{1, 2, 3, 4, 5, 8});
}

TEST_CASE("nn embedding: pooled masked mean forward and backward match finite differences") {
  Rng rng(13);
  const size_t rows = 12, dim = 3, width = 5, col = 1, wide = col + dim + 2;
  Parameter table = random_table("tokens", rows, dim, rng);  // row 0 (padding) holds values too
  const std::vector<int32_t> tokens = {
      2, 5, 0, 0, 0,  // mean of two
      0, 0, 0, 0, 0,  // all padding: zeros, no gradient
      1, 1, 4, 0, 7,  // a repeated token counts twice; padding in the middle is skipped
      3, 0, 3, 0, 0,  // padding between repeats
      9, 0, 0, 0, 0,  // one token: the embedding itself
  };
  const size_t n = tokens.size() / width;
  const Matrix r = random_matrix(n, dim, rng);

  Matrix out(n, wide);
  for (float& v : out.span()) v = 77.0f;
  pooled_embedding_forward(table, tokens, width, Slice{out.data(), wide, col});
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < dim; ++k) {
      double sum = 0.0;
      int count = 0;
      for (size_t j = 0; j < width; ++j)
        if (int32_t t = tokens[i * width + j]; t != 0) {
          sum += table.value.at(t, k);
          ++count;
        }
      const double expect = count ? sum / count : 0.0;
      CAPTURE(i);
      CHECK(out.at(i, col + k) == doctest::Approx(expect).epsilon(1e-6));
    }
    CHECK(out.at(i, 0) == 77.0f);
    CHECK(out.at(i, col + dim) == 77.0f);
  }
  CHECK(out.at(1, col) == 0.0f);
  CHECK(out.at(4, col + 2) == table.value.at(9, 2));

  const Matrix dout = widen(r, col, wide, -5e5f);
  pooled_embedding_backward(table, tokens, width, ConstSlice{dout.data(), wide, col});

  auto objective = [&] {
    Matrix o(n, wide);
    o.zero();
    pooled_embedding_forward(table, tokens, width, Slice{o.data(), wide, col});
    return dot_objective(r, slice_of(o, col, dim));
  };
  const auto num = numeric_gradient(table.value.span(), 1e-2f, objective);
  check_gradient(table.grad, num, kTol, "pooled table");

  // Hand values: token 1 appears twice among four in row 2, so gets 2/4 of that row's gradient.
  for (size_t k = 0; k < dim; ++k) {
    CHECK(table.grad.at(1, k) == doctest::Approx(0.5 * r.at(2, k)).epsilon(1e-6));
    CHECK(table.grad.at(3, k) == doctest::Approx(r.at(3, k)).epsilon(1e-6));  // 2 of 2
    CHECK(table.grad.at(9, k) == doctest::Approx(r.at(4, k)).epsilon(1e-6));
  }
  // The padding row never gets gradient and is never touched.
  CHECK(row_zero(table.grad, 0));
  CHECK(table.is_touched[0] == 0);
  std::vector<int32_t> touched = table.touched;
  std::sort(touched.begin(), touched.end());
  CHECK(touched == std::vector<int32_t>{1, 2, 3, 4, 5, 7, 9});

  // The all-padding row's incoming gradient is ignored entirely.
  const Matrix before = table.grad;
  table.clear_grad();
  Matrix dout2 = dout;
  for (size_t k = 0; k < dim; ++k) dout2.at(1, col + k) = 1e9f;
  pooled_embedding_backward(table, tokens, width, ConstSlice{dout2.data(), wide, col});
  CHECK(bit_equal(table.grad, before));

  // Only padding in the whole batch: zeros out, nothing touched.
  const std::vector<int32_t> pad(2 * width, 0);
  Matrix o2(2, wide);
  for (float& v : o2.span()) v = 1.0f;
  pooled_embedding_forward(table, pad, width, Slice{o2.data(), wide, col});
  for (size_t i = 0; i < 2; ++i)
    for (size_t k = 0; k < dim; ++k) CHECK(o2.at(i, col + k) == 0.0f);
  table.clear_grad();
  pooled_embedding_backward(table, pad, width, ConstSlice{dout.data(), wide, col});
  CHECK(table.touched.empty());
  CHECK(all_zero(table.grad));
}
