#include "dist/mpi_exchange.h"

#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "base/error.h"

namespace tt::dist {

namespace {

// Wall time of a collective, added to the exchange's total on scope exit.
class Timed {
 public:
  explicit Timed(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Timed() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

template <class T>
void put(std::vector<uint8_t>& out, const T* p, size_t n) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n * sizeof(T));
}

template <class T>
const uint8_t* get(const uint8_t* in, T* p, size_t n) {
  std::memcpy(p, in, n * sizeof(T));
  return in + n * sizeof(T);
}

}  // namespace

// One message per step: per column its embedding, then (when present) id, sampling
// probability and multiplicity, so the columns of all ranks arrive in one all-gather.
void MpiExchange::gather_candidates(const StepCandidates& local, GatheredCandidates& all) {
  Timed timed(seconds_);
  const Matrix& e = *local.embeddings;
  const size_t d = e.cols(), bc = e.rows();
  send_.clear();
  // A header says which per-column fields this rank has (a rank with no rows has none).
  const uint8_t fields =
      static_cast<uint8_t>((local.ids.empty() ? 0 : 1) | (local.sampling_probability.empty() ? 0 : 2) |
                           (local.multiplicity.empty() ? 0 : 4));
  send_.push_back(fields);
  put(send_, e.data(), bc * d);
  put(send_, local.ids.data(), local.ids.size());
  put(send_, local.sampling_probability.data(), local.sampling_probability.size());
  put(send_, local.multiplicity.data(), local.multiplicity.size());
  bytes_sent_ += send_.size();
  std::vector<size_t> counts;
  const std::vector<uint8_t> recv = comm_.allgatherv(send_, counts, "all-gather of the batch's candidates");

  // Which fields the step has: those of any rank with columns (all ranks with columns agree).
  const size_t ranks = counts.size();
  columns_.assign(ranks, 0);
  std::vector<size_t> offset(ranks);
  uint8_t step_fields = 0;
  size_t total = 0;
  for (size_t r = 0, at = 0; r < ranks; at += counts[r], ++r) {
    offset[r] = at;
    const uint8_t f = recv[at];
    const size_t per_column = d * sizeof(float) + ((f & 1) ? 4 : 0) + ((f & 2) ? 4 : 0) + ((f & 4) ? 4 : 0);
    columns_[r] = per_column ? (counts[r] - 1) / per_column : 0;
    if (columns_[r] > 0) {
      if (step_fields && step_fields != f)
        fail(ErrorKind::internal, "ranks disagree about the candidate fields of a step");
      step_fields = f;
    }
    total += columns_[r];
  }
  all.embeddings.resize(total, d);
  all.ids.assign((step_fields & 1) ? total : 0, 0);
  all.sampling_probability.assign((step_fields & 2) ? total : 0, 0.0f);
  all.multiplicity.assign((step_fields & 4) ? total : 0, 0.0f);
  // This rank's columns first, then the others in rank order.
  size_t column = 0;
  auto unpack = [&](size_t r) {
    const size_t n = columns_[r];
    if (n == 0) return;
    const uint8_t* p = recv.data() + offset[r] + 1;
    p = get(p, all.embeddings.row(column), n * d);
    if (step_fields & 1) p = get(p, all.ids.data() + column, n);
    if (step_fields & 2) p = get(p, all.sampling_probability.data() + column, n);
    if (step_fields & 4) get(p, all.multiplicity.data() + column, n);
    column += n;
  };
  unpack(rank());
  for (size_t r = 0; r < ranks; ++r)
    if (r != rank()) unpack(r);
}

void MpiExchange::reduce_candidate_gradient(const Matrix& all_dc, Matrix& local_dc) {
  Timed timed(seconds_);
  const size_t d = all_dc.cols(), ranks = columns_.size(), me = rank();
  // Back to rank order: this rank's rows are first in all_dc.
  dc_ranked_.resize(all_dc.size());
  std::vector<size_t> counts(ranks);
  size_t src = columns_[me] * d, dst = 0;
  for (size_t r = 0; r < ranks; ++r) {
    counts[r] = columns_[r] * d;
    const float* from = r == me ? all_dc.data() : all_dc.data() + src;
    std::memcpy(dc_ranked_.data() + dst, from, counts[r] * sizeof(float));
    if (r != me) src += counts[r];
    dst += counts[r];
  }
  local_dc.resize(columns_[me], d);
  bytes_sent_ += dc_ranked_.size() * sizeof(float);
  comm_.reduce_scatter_sum(dc_ranked_, counts, local_dc.span(), "reduce-scatter of the candidates' gradients");
}

void MpiExchange::reduce_gradients(std::span<Parameter* const> params) {
  Timed timed(seconds_);
  // Dense parameters: one all-reduce of their concatenated gradients.
  dense_.clear();
  for (const Parameter* p : params)
    if (!p->sparse) dense_.insert(dense_.end(), p->grad.data(), p->grad.data() + p->grad.size());
  bytes_sent_ += dense_.size() * sizeof(float);
  comm_.allreduce_sum(dense_, "all-reduce of the dense gradients");
  size_t at = 0;
  for (Parameter* p : params)
    if (!p->sparse) {
      std::memcpy(p->grad.data(), dense_.data() + at, p->grad.size() * sizeof(float));
      at += p->grad.size();
    }

  // Embedding tables: every rank's touched rows (row id, then the row), summed on every rank in
  // rank order, so that all ranks compute the same sums.
  send_.clear();
  for (const Parameter* p : params)
    if (p->sparse) {
      const uint64_t n = p->touched.size();
      put(send_, &n, 1);
      put(send_, p->touched.data(), p->touched.size());
      for (int32_t r : p->touched) put(send_, p->grad.row(static_cast<size_t>(r)), p->grad.cols());
    }
  bytes_sent_ += send_.size();
  std::vector<size_t> counts;
  const std::vector<uint8_t> recv = comm_.allgatherv(send_, counts, "all-gather of the embedding rows' gradients");
  for (Parameter* p : params)
    if (p->sparse) p->clear_grad();
  std::vector<int32_t> rows;
  std::vector<float> values;
  const uint8_t* in = recv.data();
  for (size_t r = 0; r < counts.size(); ++r)
    for (Parameter* p : params) {
      if (!p->sparse) continue;
      uint64_t n = 0;
      in = get(in, &n, 1);
      rows.resize(n);
      in = get(in, rows.data(), n);
      const size_t cols = p->grad.cols();
      values.resize(n * cols);
      in = get(in, values.data(), n * cols);
      for (size_t i = 0; i < n; ++i) {
        if (rows[i] < 0 || static_cast<size_t>(rows[i]) >= p->grad.rows())
          fail(ErrorKind::internal, "rank " + std::to_string(r) + " sent row " + std::to_string(rows[i]) + " of '" +
                                        p->name + "', which has " + std::to_string(p->grad.rows()) + " rows");
        float* g = p->grad_row(rows[i]);
        for (size_t c = 0; c < cols; ++c) g[c] += values[i * cols + c];
      }
    }
}

double MpiExchange::sum(double value) {
  Timed timed(seconds_);
  comm_.allreduce_sum(std::span<double>(&value, 1), "sum over the ranks");
  return value;
}

// Accuracy at k is hits / examples on each rank; the hit counts are whole numbers, so they are
// recovered exactly and summed.
void MpiExchange::reduce_metrics(TopKMetrics& m) {
  Timed timed(seconds_);
  std::vector<double> counts;
  for (double a : m.accuracy) counts.push_back(std::round(a * static_cast<double>(m.examples)));
  counts.push_back(static_cast<double>(m.examples));
  comm_.allreduce_sum(counts, "sum of the evaluation's hit counts");
  m.examples = static_cast<size_t>(counts.back());
  for (size_t i = 0; i < m.accuracy.size(); ++i)
    m.accuracy[i] = m.examples ? counts[i] / static_cast<double>(m.examples) : 0.0;
}

void MpiExchange::check_same_weights(std::span<Parameter* const> params) {
  Timed timed(seconds_);
  ++checks_;
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  for (const Parameter* p : params) XXH64_update(state, p->value.data(), p->value.size() * sizeof(float));
  const uint64_t mine = XXH64_digest(state);
  XXH64_freeState(state);
  const std::vector<uint64_t> all = comm_.allgather(mine, "comparison of the ranks' weights");
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      fail(ErrorKind::internal, "rank " + std::to_string(r) + "'s weights differ from rank 0's after epoch " +
                                    std::to_string(checks_) +
                                    " (the MPI library's sums are not identical on every rank)");
}

}  // namespace tt::dist
