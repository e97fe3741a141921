// The retrieval task's loss: in-batch softmax cross-entropy over scores S = Q Cᵀ, where row i's
// positive is candidate i and every other candidate in the batch is a negative. The options are
// TFRS's, applied in TFRS's order: temperature, logQ correction, removal of accidental hits,
// hard-negative mining; per-row weights multiply each row's loss; the batch loss is the SUM.
//
// Repeated candidates: a batch often holds the same candidate many times (a MovieLens batch of
// 2048 has about 770 distinct movies). Their columns of S are identical, so the caller may pass
// each distinct candidate once with its multiplicity m and, per query row, the column of its
// positive. Row i's softmax then runs over distinct columns with logits s + log m, which is the
// same function of the embeddings as the full B x B form (tested against it), for a fraction
// of the work. Not combinable with hard-negative mining, whose top-k counts repeated columns.
//
// The B x B scores never exist whole: rows are processed in blocks small enough to stay in
// cache, and each block goes score GEMM -> softmax and gradient -> the two gradient GEMMs before
// the next block starts.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nn/matrix.h"

namespace tt {

class ThreadPool;

struct RetrievalLossOptions {
  float temperature = 1.0f;             // scores are divided by it; 1 = off
  bool remove_accidental_hits = false;  // needs candidate_ids
  int num_hard_negatives = 0;           // keep the positive and this many top negatives; 0 = all
};

struct RetrievalLossInputs {
  const Matrix* queries = nullptr;              // Bq x d
  const Matrix* candidates = nullptr;           // Bc x d; row i of the queries pairs with row i here (Bc >= Bq),
                                                // or with row positive_column[i] when that is given
  std::span<const int32_t> candidate_ids;       // Bc, for accidental hits (else empty)
  std::span<const float> sampling_probability;  // Bc, for the logQ correction (else empty)
  std::span<const float> sample_weight;         // Bq, per-row weights (else empty = 1)
  // Distinct candidates (see above): both empty, or both given.
  std::span<const int32_t> positive_column;  // Bq: the candidate row that is query i's positive
  std::span<const float> multiplicity;       // Bc: how many batch entries each candidate row stands for
};

// Scratch buffers reused across steps, so a training loop allocates nothing per step.
struct RetrievalLossWorkspace {
  size_t block_rows = 128;      // rows of scores processed together (a tuning knob, see bench/)
  std::vector<Matrix> scores;   // per chunk: block rows x Bc
  std::vector<Matrix> dc_part;  // per chunk: d x Bc (dC transposed)
  std::vector<double> chunk_loss;
  std::vector<float> bias;                     // Bc: log multiplicity - log sampling probability
  std::vector<std::vector<float>> row_tmp;     // per chunk: hard-negative selection
  std::vector<std::vector<float>> row_factor;  // per chunk: each block row's gradient factor
  std::vector<Matrix> scaled_queries;          // per chunk: block rows x d
  std::vector<double> log_multiplicity;        // Bc: log m (double), 0 where m is 1
  std::vector<float> log_count_f;              // log 0, log 1, ... (float), grown as counts need
  std::vector<double> log_count_d;             // the same in double
  // When set, retrieval_loss sizes dc (Bc x d) but leaves its rows to candidate_gradient_rows,
  // so that the caller can add up the chunks' partial sums on several threads at once.
  bool defer_candidate_gradient = false;
  std::vector<const float*> dc_sources;  // the chunks' d x Bc partial sums, for candidate_gradient_rows
};

// Returns the summed (weighted) loss and writes dq (Bq x d) and dc (Bc x d).
// If dq is null, only the loss is computed.
double retrieval_loss(const RetrievalLossInputs& in, const RetrievalLossOptions& opt, Matrix* dq, Matrix* dc,
                      ThreadPool& pool, RetrievalLossWorkspace& ws);
// Rows [j0, j1) of dc after retrieval_loss with ws.defer_candidate_gradient set: the chunks'
// partial sums added in chunk order, the same bits as without deferral. Ranges may be written
// concurrently; ws must not change until all are done.
void candidate_gradient_rows(const RetrievalLossWorkspace& ws, Matrix& dc, size_t j0, size_t j1);

// The same loss and gradients computed plainly (full score matrix, double accumulation): the
// reference the fused version is tested against. Only tests call it, but it stays in the engine
// beside the fused loss because it must adjust the score columns (logQ, accidental hits, hard
// and uniform negatives) through the same private helpers: a copy in tests/ would test those
// adjustments against themselves.
double retrieval_loss_reference(const RetrievalLossInputs& in, const RetrievalLossOptions& opt, Matrix* dq, Matrix* dc);

}  // namespace tt
