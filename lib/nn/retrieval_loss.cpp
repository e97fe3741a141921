#include "nn/retrieval_loss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "base/error.h"
#include "base/parallel.h"
#include "nn/gemm.h"
#include "nn/row_kernels.h"

namespace tt {

namespace {

// TFRS adds float32.min / 100 to accidental hits rather than masking them outright.
constexpr float kAccidentalHitPenalty = std::numeric_limits<float>::lowest() / 100.0f;

void validate(const RetrievalLossInputs& in, const RetrievalLossOptions& opt) {
  if (!in.queries || !in.candidates) fail(ErrorKind::invalid_argument, "retrieval loss: missing embeddings");
  const size_t bq = in.queries->rows(), bc = in.candidates->rows();
  if (in.queries->cols() != in.candidates->cols())
    fail(ErrorKind::invalid_argument, "retrieval loss: query dimension " + std::to_string(in.queries->cols()) +
                                          " differs from candidate dimension " + std::to_string(in.candidates->cols()));
  const bool grouped = !in.positive_column.empty() || !in.multiplicity.empty();
  if (grouped) {
    if (in.positive_column.size() != bq || in.multiplicity.size() != bc)
      fail(ErrorKind::invalid_argument,
           "retrieval loss: distinct candidates need one positive column per query and "
           "one multiplicity per candidate");
    for (int32_t col : in.positive_column)
      if (col < 0 || static_cast<size_t>(col) >= bc)
        fail(ErrorKind::invalid_argument, "retrieval loss: positive column " + std::to_string(col) + " out of range");
    for (float m : in.multiplicity)
      if (!(m >= 1.0f) || !std::isfinite(m))
        fail(ErrorKind::invalid_argument, "retrieval loss: multiplicities must be finite and >= 1");
    if (opt.num_hard_negatives > 0)
      fail(ErrorKind::invalid_argument, "retrieval loss: hard-negative mining needs every batch column (no grouping)");
  } else if (bc < bq) {
    fail(ErrorKind::invalid_argument, "retrieval loss: fewer candidates than queries");
  }
  if (!(opt.temperature > 0.0f) || !std::isfinite(opt.temperature))
    fail(ErrorKind::invalid_argument, "retrieval loss: temperature must be positive and finite");
  if (opt.num_hard_negatives < 0) fail(ErrorKind::invalid_argument, "retrieval loss: num_hard_negatives < 0");
  if (opt.remove_accidental_hits && in.candidate_ids.size() != bc)
    fail(ErrorKind::invalid_argument, "retrieval loss: remove_accidental_hits needs one candidate id per candidate");
  if (!in.sampling_probability.empty() && in.sampling_probability.size() != bc)
    fail(ErrorKind::invalid_argument, "retrieval loss: one sampling probability per candidate expected");
  if (!in.sample_weight.empty() && in.sample_weight.size() != bq)
    fail(ErrorKind::invalid_argument, "retrieval loss: one sample weight per query expected");
}

// Query i's positive column.
inline size_t positive_of(const RetrievalLossInputs& in, size_t i) {
  return in.positive_column.empty() ? i : static_cast<size_t>(in.positive_column[i]);
}

inline float log_probability(float p) { return std::log(std::clamp(p, 1e-6f, 1.0f)); }

// std::log(m) of a multiplicity m, a count: looked up in `table` (log 0, log 1, ..., grown here
// on one thread) when m is a whole number below kMaxTabled, else computed; the same value either
// way. A step would otherwise take a few thousand logarithms of a few distinct small counts.
template <class T>
T log_count(float m, std::vector<T>* table) {
  constexpr float kMaxTabled = 65536.0f;
  if (!table || !(m < kMaxTabled) || m != std::floor(m)) return std::log(static_cast<T>(m));
  const size_t k = static_cast<size_t>(m);
  while (table->size() <= k) table->push_back(std::log(static_cast<T>(table->size())));
  return (*table)[k];
}

// Per-column constants added to every row: log multiplicity - log sampling probability.
void column_bias(const RetrievalLossInputs& in, std::vector<float>& bias, std::vector<float>* log_table = nullptr) {
  bias.clear();
  if (in.sampling_probability.empty() && in.multiplicity.empty()) return;
  bias.assign(in.candidates->rows(), 0.0f);
  for (size_t j = 0; j < in.sampling_probability.size(); ++j) bias[j] = -log_probability(in.sampling_probability[j]);
  for (size_t j = 0; j < in.multiplicity.size(); ++j)
    if (in.multiplicity[j] != 1.0f) bias[j] += log_count(in.multiplicity[j], log_table);
}

// Applies the options to row i of raw scores (in place) and returns what the row's loss must
// add back for its positive: log m of the positive's column, whose other entries are copies of
// the positive acting as negatives (0 when accidental hits are removed: then they are not
// negatives at all). Excluded entries become -inf.
double adjust_row(float* s, size_t i, size_t bc, const RetrievalLossInputs& in, const RetrievalLossOptions& opt,
                  std::span<const float> bias, std::vector<float>& tmp) {
  const size_t p = positive_of(in, i);
  double positive_copies = 0.0;
  if (opt.temperature != 1.0f) row_divide(s, bc, opt.temperature);
  if (!bias.empty()) {
    const float before = s[p];
    row_add(s, bias.data(), bc);
    if (!in.multiplicity.empty() && in.multiplicity[p] != 1.0f) {
      if (opt.remove_accidental_hits)  // the positive's copies are removed: count it once
        s[p] = before - (in.sampling_probability.empty() ? 0.0f : log_probability(in.sampling_probability[p]));
      else
        positive_copies = std::log(static_cast<double>(in.multiplicity[p]));
    }
  }
  if (opt.remove_accidental_hits) {
    const int32_t id = in.candidate_ids[p];
    for (size_t j = 0; j < bc; ++j)
      if (j != p && in.candidate_ids[j] == id) s[j] += kAccidentalHitPenalty;
  }
  if (opt.num_hard_negatives > 0 && static_cast<size_t>(opt.num_hard_negatives) + 1 < bc) {
    // Keep the positive and the k highest negatives; on equal scores the lower column wins, as
    // in tf.math.top_k.
    const size_t k = static_cast<size_t>(opt.num_hard_negatives);
    // One scratch copy to find the k-th largest negative; the row itself is compared after.
    tmp.assign(s, s + bc);
    tmp[p] = -std::numeric_limits<float>::infinity();
    std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end(), std::greater<float>());
    const float kth = tmp[k - 1];
    size_t above = 0;
    for (size_t j = 0; j < bc; ++j) above += (j != p && s[j] > kth);
    size_t ties_allowed = k - above;
    for (size_t j = 0; j < bc; ++j) {
      if (j == p) continue;
      bool keep = s[j] > kth || (s[j] == kth && ties_allowed > 0 && (ties_allowed--, true));
      if (!keep) s[j] = -std::numeric_limits<float>::infinity();
    }
  }
  return positive_copies;
}

// Turns row scores (already adjusted, plus `bias` per column if given) into the row's loss and,
// in place, into E: the exponentials with the row sum taken off the positive's entry. The
// gradient w.r.t. the raw scores is `scale` times E, a factor the caller folds into the small
// operands of the two gradient GEMMs instead of a pass over the row.
double softmax_row(float* s, const float* bias, size_t i, size_t p, size_t bc, float weight, float temperature,
                   float& scale) {
  const float m = bias ? row_max_plus(s, bias, bc) : row_max(s, bc);
  const float pos = bias ? s[p] + bias[p] : s[p];
  if (!std::isfinite(m))
    fail(ErrorKind::invalid_argument, "retrieval loss: non-finite scores (row " + std::to_string(i) + ")");
  const float sum = bias ? row_exp_sum_plus(s, bias, bc, m) : row_exp_sum(s, bc, m);
  const double lse = static_cast<double>(m) + std::log(static_cast<double>(sum));
  const double loss = lse - static_cast<double>(pos);
  // d loss / d raw score = weight * (softmax - onehot) / temperature = scale * (e - onehot * sum).
  scale = weight / (sum * temperature);
  s[p] -= sum;
  return weight * loss;
}

}  // namespace

double retrieval_loss(const RetrievalLossInputs& in, const RetrievalLossOptions& opt, Matrix* dq, Matrix* dc,
                      ThreadPool& pool, RetrievalLossWorkspace& ws) {
  validate(in, opt);
  const Matrix& q = *in.queries;
  const Matrix& c = *in.candidates;
  const size_t bq = q.rows(), bc = c.rows(), d = q.cols();
  ws.dc_sources.clear();  // candidate_gradient_rows then leaves a zeroed dc as it is
  if (bq == 0) {
    if (dq) {
      dq->resize(0, d);
      dc->resize(bc, d);
      dc->zero();
    }
    return 0.0;
  }

  column_bias(in, ws.bias, &ws.log_count_f);
  // Each column's log m in double, for the rows whose positive it is (see adjust_row).
  ws.log_multiplicity.resize(in.multiplicity.size());
  for (size_t j = 0; j < in.multiplicity.size(); ++j)
    ws.log_multiplicity[j] = in.multiplicity[j] != 1.0f ? log_count(in.multiplicity[j], &ws.log_count_d) : 0.0;

  // A fixed number of contiguous row ranges (several per thread, taken by whichever thread is
  // free): each range's dC partial sum is then added in range order, so the result depends on
  // the thread count, never on scheduling.
  const size_t kBlockRows = std::max<size_t>(1, ws.block_rows);
  const size_t chunks = pool.parts(bq, kBlockRows);
  ws.scores.resize(chunks);
  ws.dc_part.resize(chunks);
  ws.chunk_loss.assign(chunks, 0.0);
  ws.row_tmp.resize(chunks);
  if (dq) dq->resize(bq, d);

  // Without these options a row needs only the column bias, which the softmax passes add on
  // the fly; with them the row is rewritten first (bias included).
  const bool rewrite_rows = opt.temperature != 1.0f || opt.remove_accidental_hits || opt.num_hard_negatives > 0;
  const float* pass_bias = !rewrite_rows && !ws.bias.empty() ? ws.bias.data() : nullptr;
  ws.row_factor.resize(chunks);
  ws.scaled_queries.resize(chunks);

  pool.for_each(chunks, [&](size_t ch) {
    const size_t r_begin = bq * ch / chunks, r_end = bq * (ch + 1) / chunks;
    Matrix& s = ws.scores[ch];
    Matrix& dcp = ws.dc_part[ch];
    std::vector<float>& factor = ws.row_factor[ch];
    Matrix& qs = ws.scaled_queries[ch];
    if (dq) {
      dcp.resize(d, bc);
    }
    double loss = 0.0;
    bool first = true;
    for (size_t r0 = r_begin; r0 < r_end; r0 += kBlockRows) {
      const size_t rows = std::min(kBlockRows, r_end - r0);
      s.resize(rows, bc);
      factor.resize(rows);
      sgemm(false, true, rows, bc, d, 1.0f, q.row(r0), d, c.data(), d, 0.0f, s.data(), bc);
      for (size_t r = 0; r < rows; ++r) {
        const size_t i = r0 + r, p = positive_of(in, i);
        float* row = s.row(r);
        double copies = 0.0;
        if (rewrite_rows)
          copies = adjust_row(row, i, bc, in, opt, ws.bias, ws.row_tmp[ch]);
        else if (!in.multiplicity.empty() && in.multiplicity[p] != 1.0f)
          copies = ws.log_multiplicity[p];
        const float w = in.sample_weight.empty() ? 1.0f : in.sample_weight[i];
        loss += softmax_row(row, pass_bias, i, p, bc, w, opt.temperature, factor[r]) + w * copies;
      }
      if (dq) {
        // G = diag(factor) E:  dQ[block] = diag(factor) (E C) ; dCᵀ += (diag(factor) Q[block])ᵀ E.
        // dC is accumulated transposed: oneDNN's sgemm runs this shape about 1.5x faster than
        // Eᵀ · Q[block] (bench/bench_loss).
        sgemm(false, false, rows, d, bc, 1.0f, s.data(), bc, c.data(), d, 0.0f, dq->row(r0), d);
        qs.resize(rows, d);
        for (size_t r = 0; r < rows; ++r) {
          float* g = dq->row(r0 + r);
          const float* qi = q.row(r0 + r);
          float* o = qs.row(r);
          for (size_t k = 0; k < d; ++k) {
            g[k] *= factor[r];
            o[k] = qi[k] * factor[r];
          }
        }
        sgemm(true, false, d, bc, rows, 1.0f, qs.data(), d, s.data(), bc, first ? 0.0f : 1.0f, dcp.data(), bc);
      }
      first = false;
    }
    if (dq && first) dcp.zero();
    ws.chunk_loss[ch] = loss;
  });

  if (dq) {
    dc->resize(bc, d);
    for (const Matrix& part : ws.dc_part) ws.dc_sources.push_back(part.data());
    if (!ws.defer_candidate_gradient) candidate_gradient_rows(ws, *dc, 0, bc);
  }
  double total = 0.0;
  for (double l : ws.chunk_loss) total += l;
  return total;
}

void candidate_gradient_rows(const RetrievalLossWorkspace& ws, Matrix& dc, size_t j0, size_t j1) {
  if (ws.dc_sources.empty() || j0 >= j1) return;
  sum_transposed(ws.dc_sources.data(), ws.dc_sources.size(), dc.cols(), dc.rows(), j0, j1, dc.data());
}

double retrieval_loss_reference(const RetrievalLossInputs& in, const RetrievalLossOptions& opt, Matrix* dq,
                                Matrix* dc) {
  validate(in, opt);
  const Matrix& q = *in.queries;
  const Matrix& c = *in.candidates;
  const size_t bq = q.rows(), bc = c.rows(), d = q.cols();
  std::vector<float> bias;
  column_bias(in, bias);
  if (dq) {
    dq->resize(bq, d);
    dq->zero();
    dc->resize(bc, d);
    dc->zero();
  }
  double total = 0.0;
  std::vector<float> row(bc), tmp;
  std::vector<double> g(bc);
  for (size_t i = 0; i < bq; ++i) {
    for (size_t j = 0; j < bc; ++j) {
      double acc = 0.0;
      for (size_t k = 0; k < d; ++k) acc += static_cast<double>(q.at(i, k)) * c.at(j, k);
      row[j] = static_cast<float>(acc);
    }
    const double copies = adjust_row(row.data(), i, bc, in, opt, bias, tmp);
    const size_t p = positive_of(in, i);
    double m = -INFINITY;
    for (float v : row) m = std::max(m, static_cast<double>(v));
    double sum = 0.0;
    for (size_t j = 0; j < bc; ++j) sum += std::exp(static_cast<double>(row[j]) - m);
    const double w = in.sample_weight.empty() ? 1.0 : in.sample_weight[i];
    total += w * (m + std::log(sum) - row[p] + copies);
    if (!dq) continue;
    for (size_t j = 0; j < bc; ++j)
      g[j] = w * (std::exp(static_cast<double>(row[j]) - m) / sum - (j == p ? 1.0 : 0.0)) / opt.temperature;
    for (size_t j = 0; j < bc; ++j) {
      if (g[j] == 0.0) continue;
      for (size_t k = 0; k < d; ++k) {
        dq->at(i, k) += static_cast<float>(g[j] * c.at(j, k));
        dc->at(j, k) += static_cast<float>(g[j] * q.at(i, k));
      }
    }
  }
  return total;
}

}  // namespace tt
