#include "model/evaluation.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "base/error.h"
#include "base/parallel.h"
#include "model/candidate_inputs.h"
#include "nn/gemm.h"
#include "nn/row_kernels.h"

namespace tt {

namespace {
constexpr size_t kScoreColumns = 16384;
}  // namespace

std::string TopKMetrics::metric_name(size_t k) {
  return "factorized_top_k/top_" + std::to_string(k) + "_categorical_accuracy";
}

double TopKMetrics::at(size_t kk) const {
  for (size_t i = 0; i < k.size(); ++i)
    if (k[i] == kk) return accuracy[i];
  fail(ErrorKind::invalid_argument, "top-" + std::to_string(kk) + " accuracy was not evaluated");
}

std::vector<size_t> TopKMetrics::not_beating_baseline() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < baseline.size() && i < k.size(); ++i)
    if (!(accuracy[i] > baseline[i])) out.push_back(k[i]);
  return out;
}

EvalSet make_eval_set(const TwoTowerModel& model, const Table& test, const Table& catalogue, bool distinct) {
  // The positive's own score is compared with the catalogue's: against no candidates every
  // example would be a hit, and top-k accuracy 1.0 would be reported for any model.
  if (catalogue.num_rows() == 0)
    fail(ErrorKind::invalid_argument,
         "the candidate catalogue has no rows: nothing to rank the held-out positives against");
  EvalSet s;
  s.queries = model.query().encode(test);
  CandidateInputs positives = encode_candidate_inputs(model, test, catalogue);
  if (positives.row_of.empty()) {
    s.positives = std::move(positives.encoded);
  } else {
    const std::vector<size_t> rows(positives.row_of.begin(), positives.row_of.end());
    s.positives.gather(positives.encoded, rows);
  }
  if (!distinct) {
    // Joined, the positives' source is the whole catalogue encoded already.
    s.catalogue = positives.row_of.empty() ? model.candidate().encode(catalogue) : std::move(positives.encoded);
  } else {
    const std::string& id = model.spec().candidate_id_column;
    const Column& c = catalogue.column(id);
    std::vector<size_t> keep;
    if (c.dtype() == DType::string) {
      std::unordered_set<std::string> seen;
      for (size_t i = 0; i < c.size(); ++i)
        if (seen.insert(c.strings()[i]).second) keep.push_back(i);
    } else if (c.dtype() == DType::int64) {
      std::unordered_set<int64_t> seen;
      for (size_t i = 0; i < c.size(); ++i)
        if (seen.insert(c.ints()[i]).second) keep.push_back(i);
    } else {
      fail(ErrorKind::invalid_argument, "candidate id column '" + id + "' must be string or int64");
    }
    s.catalogue = model.candidate().encode(catalogue.take(keep));
  }
  return s;
}

TopKMetrics evaluate_factorized_topk(const TwoTowerModel& model, const EvalSet& set, const std::vector<size_t>& ks,
                                     size_t batch_size, ThreadPool& pool) {
  TopKMetrics m;
  m.k = ks;
  m.accuracy.assign(ks.size(), 0.0);
  m.examples = set.queries.rows;
  if (m.examples == 0) return m;
  const size_t n = set.queries.rows, nc = set.catalogue.rows, d = model.embedding_dim();

  // The catalogue is embedded once; each task then embeds one block of queries and their
  // positives, scores the block against the whole catalogue and counts, so every phase runs on
  // all threads. Blocks are fixed, so counts never depend on the thread count.
  Matrix cat;
  model.candidate().embed(set.catalogue, cat, pool);
  std::vector<size_t> higher(n);
  const size_t block = 256;
  for (size_t b0 = 0; b0 < n; b0 += batch_size) {
    const size_t bn = std::min(batch_size, n - b0);
    pool.for_each((bn + block - 1) / block, [&](size_t bi) {
      const size_t r0 = b0 + bi * block, rn = std::min(block, b0 + bn - r0);
      std::vector<size_t> rows(rn);
      for (size_t i = 0; i < rn; ++i) rows[i] = r0 + i;
      EncodedBatch qb, pb;
      qb.gather(set.queries, rows);
      pb.gather(set.positives, rows);
      Matrix q, pos;
      TowerScratch scratch;
      model.query().embed(qb, q, scratch);
      model.candidate().embed(pb, pos, scratch);
      std::vector<float> s_pos(rn);
      for (size_t r = 0; r < rn; ++r) {
        const float* qi = q.row(r);
        const float* pi = pos.row(r);
        float s = 0.0f;
        for (size_t k = 0; k < d; ++k) s += qi[k] * pi[k];
        s_pos[r] = s;
        higher[r0 + r] = std::isfinite(s) ? 0 : SIZE_MAX;
      }
      // The catalogue in slices of kScoreColumns: a task's scores stay at 256 x 16384 floats
      // (16 MiB) however large the catalogue (a million candidates would need 1 GiB at once).
      const size_t width = std::min(nc, kScoreColumns);
      std::vector<float> scores(rn * width);
      for (size_t c0 = 0; c0 < nc; c0 += width) {
        const size_t cn = std::min(width, nc - c0);
        sgemm(false, true, rn, cn, d, 1.0f, q.data(), d, cat.row(c0), d, 0.0f, scores.data(), cn);
        for (size_t r = 0; r < rn; ++r)
          if (higher[r0 + r] != SIZE_MAX) higher[r0 + r] += row_count_greater(scores.data() + r * cn, cn, s_pos[r]);
      }
    });
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < ks.size(); ++j)
      if (higher[i] < ks[j]) m.accuracy[j] += 1.0;
  for (double& a : m.accuracy) a /= static_cast<double>(n);
  return m;
}

}  // namespace tt
