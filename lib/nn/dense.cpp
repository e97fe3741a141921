#include "nn/dense.h"

#include "base/error.h"
#include "nn/dnnl_context.h"
#include "nn/init.h"

namespace tt {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Dense::Primitives {
  memory::desc src, weights, bias, dst;
  dnnl::inner_product_forward fwd;
  dnnl::inner_product_backward_data bwd_data;
  dnnl::inner_product_backward_weights bwd_weights;
};

Dense::Dense(std::string name, size_t in, size_t out, bool relu)
    : kernel(name + "/kernel", in, out, false), bias(name + "/bias", 1, out, false), in_(in), out_(out), relu_(relu) {
  if (in == 0 || out == 0) fail(ErrorKind::invalid_argument, "dense layer '" + name + "' needs positive sizes");
  kernel.value.zero();
  bias.value.zero();
}

Dense::~Dense() = default;
Dense::Dense(Dense&&) noexcept = default;
Dense& Dense::operator=(Dense&&) noexcept = default;

void Dense::initialize(Rng& rng) {
  glorot_uniform(kernel.value, in_, out_, rng);
  bias.value.zero();
}

Dense::Primitives& Dense::primitives(size_t batch) const {
  auto it = cache_.find(batch);
  if (it != cache_.end()) return *it->second;
  auto& eng = dnnl_cpu_engine();
  auto p = std::make_unique<Primitives>();
  const long n = static_cast<long>(batch), i = static_cast<long>(in_), o = static_cast<long>(out_);
  p->src = memory::desc({n, i}, dt::f32, tag::nc);
  p->weights = memory::desc({o, i}, dt::f32, tag::io);
  p->bias = memory::desc({o}, dt::f32, tag::x);
  p->dst = memory::desc({n, o}, dt::f32, tag::nc);

  dnnl::primitive_attr attr;
  if (relu_) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  dnnl::inner_product_forward::desc fd(dnnl::prop_kind::forward_training, p->src, p->weights, p->bias, p->dst);
  dnnl::inner_product_forward::primitive_desc fpd(fd, attr, eng);
  p->fwd = dnnl::inner_product_forward(fpd);

  dnnl::inner_product_backward_data::desc bdd(p->src, p->weights, p->dst);
  p->bwd_data = dnnl::inner_product_backward_data(dnnl::inner_product_backward_data::primitive_desc(bdd, eng, fpd));

  dnnl::inner_product_backward_weights::desc bwd(p->src, p->weights, p->bias, p->dst);
  p->bwd_weights =
      dnnl::inner_product_backward_weights(dnnl::inner_product_backward_weights::primitive_desc(bwd, eng, fpd));
  return *cache_.emplace(batch, std::move(p)).first->second;
}

static memory wrap(const memory::desc& d, const float* p) {
  return memory(d, dnnl_cpu_engine(), const_cast<float*>(p));
}

void Dense::forward(const Matrix& x, Matrix& y) const {
  if (x.cols() != in_)
    fail(ErrorKind::invalid_argument, kernel.name + ": input has " + std::to_string(x.cols()) + " columns, expected " +
                                          std::to_string(in_));
  y.resize(x.rows(), out_);
  if (x.rows() == 0) return;
  auto& p = primitives(x.rows());
  dnnl::stream s(dnnl_cpu_engine());
  p.fwd.execute(s, {{DNNL_ARG_SRC, wrap(p.src, x.data())},
                    {DNNL_ARG_WEIGHTS, wrap(p.weights, kernel.value.data())},
                    {DNNL_ARG_BIAS, wrap(p.bias, bias.value.data())},
                    {DNNL_ARG_DST, wrap(p.dst, y.data())}});
  s.wait();
}

void Dense::backward(const Matrix& x, const Matrix& y, Matrix& dy, Matrix* dx) {
  if (x.rows() == 0) { kernel.grad.zero(); bias.grad.zero(); if (dx) dx->resize(0, in_); return; }
  if (relu_) {
    // ReLU's derivative is 1 where the output is positive, 0 elsewhere (0 at 0, like TensorFlow).
    float* g = dy.data();
    const float* out = y.data();
    const size_t n = dy.size();
    for (size_t k = 0; k < n; ++k) g[k] = out[k] > 0.0f ? g[k] : 0.0f;
  }
  auto& p = primitives(x.rows());
  dnnl::stream s(dnnl_cpu_engine());
  p.bwd_weights.execute(s, {{DNNL_ARG_SRC, wrap(p.src, x.data())},
                            {DNNL_ARG_DIFF_DST, wrap(p.dst, dy.data())},
                            {DNNL_ARG_DIFF_WEIGHTS, wrap(p.weights, kernel.grad.data())},
                            {DNNL_ARG_DIFF_BIAS, wrap(p.bias, bias.grad.data())}});
  if (dx) {
    dx->resize(x.rows(), in_);
    p.bwd_data.execute(s, {{DNNL_ARG_DIFF_DST, wrap(p.dst, dy.data())},
                           {DNNL_ARG_WEIGHTS, wrap(p.weights, kernel.value.data())},
                           {DNNL_ARG_DIFF_SRC, wrap(p.src, dx->data())}});
  }
  s.wait();
}

}  // namespace tt
