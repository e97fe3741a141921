#include "model/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "data/split.h"
#include "model/candidate_inputs.h"
#include "model/retrieval_model.h"
#include "model/streaming_frequency.h"
#include "nn/optimizer.h"
#include "nn/retrieval_loss.h"

namespace tt {

namespace {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Dense integer ids for the candidate id column, for removing accidental hits and estimating
// sampling probabilities: only equality matters. One coder codes several tables (training rows
// and catalogue) in one space, so a catalogue row and a training row of one candidate agree.
class CandidateCoder {
 public:
  explicit CandidateCoder(std::string column) : column_(std::move(column)) {}
  std::vector<int32_t> code(const Table& t) {
    std::vector<std::string> keys = candidate_keys(t, column_);
    std::vector<int32_t> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      auto [it, fresh] = codes_.emplace(std::move(keys[i]), static_cast<int32_t>(codes_.size()));
      if (fresh) names_.push_back(&it->first);
      out[i] = it->second;
    }
    return out;
  }
  size_t size() const { return codes_.size(); }
  const std::string& name(int32_t code) const { return *names_[static_cast<size_t>(code)]; }

 private:
  std::string column_;
  std::unordered_map<std::string, int32_t> codes_;
  std::vector<const std::string*> names_;  // node-based map: the keys never move
};

// Rows of `a` followed by rows of `b` (same features); id rows of different widths (text) are
// padded with 0, the id no token maps to.
EncodedBatch concat_rows(const EncodedBatch& a, const EncodedBatch& b) {
  EncodedBatch out;
  out.rows = a.rows + b.rows;
  out.features.resize(a.features.size());
  for (size_t f = 0; f < a.features.size(); ++f) {
    const EncodedFeature &fa = a.features[f], &fb = b.features[f];
    EncodedFeature& o = out.features[f];
    o.values = fa.values;
    o.values.insert(o.values.end(), fb.values.begin(), fb.values.end());
    if (fa.ids.empty()) continue;
    o.width = std::max(fa.width, fb.width);
    o.ids.assign(out.rows * o.width, 0);
    for (size_t r = 0; r < a.rows; ++r) std::copy_n(fa.ids.data() + r * fa.width, fa.width, &o.ids[r * o.width]);
    for (size_t r = 0; r < b.rows; ++r)
      std::copy_n(fb.ids.data() + r * fb.width, fb.width, &o.ids[(a.rows + r) * o.width]);
  }
  return out;
}

// Per-draw probabilities are clamped before their log is taken (retrieval_loss.cpp does the same).
constexpr float kMinProbability = 1e-30f;

std::vector<float> float_column(const Table& t, const std::string& name, const char* role) {
  if (name.empty()) return {};
  if (!t.has(name))
    fail(ErrorKind::invalid_argument, std::string(role) + " column '" + name + "' is not in the training data");
  const Column& c = t.column(name);
  if (c.dtype() == DType::float32) return c.floats();
  if (c.dtype() == DType::int64) return std::vector<float>(c.ints().begin(), c.ints().end());
  fail(ErrorKind::invalid_argument, std::string(role) + " column '" + name + "' must be numeric");
}

// Repeated candidates: training rows whose candidate-tower inputs are identical, and whose
// candidate id and sampling probability (read by the loss per column) are too, form one group;
// their candidate embeddings are equal, so a batch scores each group once.
struct DistinctCandidates {
  std::vector<uint32_t> group;  // per training row
  std::vector<int32_t> slot;    // per group: its column in the current batch, or -1
  // The current batch: the first row of each group in batch order, how many batch rows each
  // stands for, and each batch row's column.
  std::vector<size_t> rows;
  std::vector<float> multiplicity;
  std::vector<int32_t> positive_column;

  // `inputs` are the candidate tower's inputs of the n training rows; `ids` are per row of
  // inputs.encoded, `probs` per training row. Rows group first by their encoded inputs and id,
  // then, when there are sampling probabilities, by those too.
  DistinctCandidates(const EncodedBatch& all, std::span<const uint32_t> row_of, size_t n, std::span<const int32_t> ids,
                     std::span<const float> probs) {
    auto row = [&](size_t r) { return row_of.empty() ? r : row_of[r]; };
    std::unordered_map<std::string, uint32_t> groups;
    std::vector<uint32_t> input_group(all.rows);
    std::string key;
    auto append = [&](const void* p, size_t bytes) { key.append(static_cast<const char*>(p), bytes); };
    for (size_t r = 0; r < all.rows; ++r) {
      key.clear();
      for (const EncodedFeature& f : all.features) {
        if (!f.ids.empty()) append(f.ids.data() + r * f.width, f.width * sizeof(int32_t));
        if (!f.values.empty()) append(&f.values[r], sizeof(float));
      }
      if (!ids.empty()) append(&ids[r], sizeof(int32_t));
      input_group[r] = groups.emplace(key, static_cast<uint32_t>(groups.size())).first->second;
    }
    group.resize(n);
    if (probs.empty()) {
      for (size_t r = 0; r < n; ++r) group[r] = input_group[row(r)];
      slot.assign(groups.size(), -1);
      return;
    }
    std::unordered_map<uint64_t, uint32_t> with_probs;
    for (size_t r = 0; r < n; ++r) {
      uint32_t bits = 0;
      std::memcpy(&bits, &probs[r], sizeof bits);
      const uint64_t k = (uint64_t{input_group[row(r)]} << 32) | bits;
      group[r] = with_probs.emplace(k, static_cast<uint32_t>(with_probs.size())).first->second;
    }
    slot.assign(with_probs.size(), -1);
  }

  void collect(std::span<const size_t> batch) {
    rows.clear();
    multiplicity.clear();
    positive_column.resize(batch.size());
    // A batch's rows are scattered over the training rows' groups: prefetched a few rows ahead
    // (this runs on one thread before the step's parallel phases).
    constexpr size_t kAhead = 16;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i + kAhead < batch.size()) __builtin_prefetch(&group[batch[i + kAhead]]);
      int32_t& col = slot[group[batch[i]]];
      if (col < 0) {
        col = static_cast<int32_t>(rows.size());
        rows.push_back(batch[i]);
        multiplicity.push_back(0.0f);
      }
      multiplicity[static_cast<size_t>(col)] += 1.0f;
      positive_column[i] = col;
    }
    for (size_t r : rows) slot[group[r]] = -1;
  }
};

// The epoch order (TrainOptions::order_ranks): `ranges` contiguous ranges of the global rows,
// each shuffled with its own stream; batch b takes rows [b L, (b+1) L) of every range this
// process holds, in range order. One range is one shuffle of all rows.
class BatchOrder {
 public:
  // This process holds ranges [first, last) of `ranges` over `global_rows` rows; the rows it
  // was given start at the first of them.
  BatchOrder(size_t global_rows, size_t ranges, size_t first, size_t last, size_t batch_size, uint64_t seed) {
    if (batch_size % ranges)
      fail(ErrorKind::invalid_argument, "training.batch_size " + std::to_string(batch_size) +
                                            " must be a multiple of the number of ranks " + std::to_string(ranges));
    local_batch_ = batch_size / ranges;
    ranges_ = ranges;
    const size_t base = rank_rows(global_rows, first, ranges).first;
    for (size_t r = first; r < last; ++r) {
      const auto [lo, hi] = rank_rows(global_rows, r, ranges);
      start_.push_back(lo - base);
      size_.push_back(hi - lo);
      rngs_.emplace_back(seed, 0x5348554646ull + r);  // "SHUFF" (+ range)
    }
    // Every range has floor or ceil(global_rows / ranges) rows; the largest sets the count.
    batches_ = ((global_rows + ranges - 1) / ranges + local_batch_ - 1) / local_batch_;
    perms_.resize(size_.size());
  }
  size_t batches() const { return batches_; }
  // The shuffling stream, for warm starts: only an order of one range (a single process with
  // order_ranks 1) saves and continues it; others start new streams from the seed.
  std::optional<Rng::State> state() const {
    return rngs_.size() == 1 && size_.size() == 1 && ranges_ == 1 ? std::optional(rngs_[0].state()) : std::nullopt;
  }
  void restore(const Rng::State& state) {
    if (rngs_.size() == 1 && ranges_ == 1) rngs_[0] = Rng::from_state(state);
  }
  void shuffle() {
    for (size_t i = 0; i < size_.size(); ++i) perms_[i] = permutation(size_[i], rngs_[i]);
  }
  void batch(size_t b, std::vector<size_t>& rows) const {
    rows.clear();
    for (size_t i = 0; i < size_.size(); ++i) {
      const size_t lo = std::min(b * local_batch_, size_[i]), hi = std::min(lo + local_batch_, size_[i]);
      for (size_t k = lo; k < hi; ++k) rows.push_back(start_[i] + perms_[i][k]);
    }
  }

 private:
  size_t local_batch_ = 0, batches_ = 0, ranges_ = 0;
  std::vector<size_t> start_, size_;
  std::vector<Rng> rngs_;
  std::vector<std::vector<size_t>> perms_;
};

// The training rows in memory (all of them, or a streamed window) and what training derives
// from them: both towers' encoded inputs, candidate id codes, weights, probabilities and the
// grouping of repeated candidates.
struct ResidentRows {
  size_t n = 0;
  EncodedBatch q_all;
  EncodedBatch c_own;                       // the rows' own candidate inputs (+ catalogue's), unless joined
  const EncodedBatch* catalogue = nullptr;  // joined: the catalogue's encoded rows
  std::vector<uint32_t> row_of;             // joined: each row's catalogue row in c_all
  size_t catalogue_base = 0;                // row of c_all where the catalogue starts (uniform negatives)
  std::vector<int32_t> own_codes;           // id codes per row of c_own
  std::span<const int32_t> id_codes;        // per row of c_all
  std::vector<float> weights, probs;        // per row
  std::optional<DistinctCandidates> distinct;
  size_t row(size_t i) const { return row_of.empty() ? i : row_of[i]; }
  // Where the candidate side gathers from.
  const EncodedBatch& c_all() const { return catalogue ? *catalogue : c_own; }
};

}  // namespace

Table evaluation_sample(const Table& rows, size_t sample_rows, uint64_t seed) {
  if (sample_rows == 0 || sample_rows >= rows.num_rows()) return rows;
  std::vector<size_t> pick = shuffled_rows(rows.num_rows(), seed);
  pick.resize(sample_rows);
  std::sort(pick.begin(), pick.end());
  return rows.take(pick);
}

void check_train_options(const TrainOptions& o) {
  if (o.epochs > kMaxEpochs)
    fail(ErrorKind::invalid_argument,
         "epochs is " + std::to_string(o.epochs) + "; it must be in 1.." + std::to_string(kMaxEpochs));
  if (o.eval_every != SIZE_MAX && o.eval_every > kMaxEpochs)
    fail(ErrorKind::invalid_argument,
         "eval_every is " + std::to_string(o.eval_every) + "; it must be in 0.." + std::to_string(kMaxEpochs));
  checked_threads(o.threads, "threads");
  if (o.order_ranks < 1 || o.order_ranks > kMaxBatchSize)
    fail(ErrorKind::invalid_argument,
         "order_ranks is " + std::to_string(o.order_ranks) + "; it must be in 1.." + std::to_string(kMaxBatchSize));
  if (o.shuffle_state && !Rng::valid_state(*o.shuffle_state))
    fail(ErrorKind::invalid_argument, "shuffle_state is all zero, which is no generator state");
}

TrainResult train_model(TwoTowerModel& model, const Table& train, const Table& test, const Table& catalogue,
                        const TrainOptions& opt) {
  return train_model(model, train, Table(), test, catalogue, opt);
}

namespace {

// Training on `train` in memory, or (`stream` set) on rows streamed a window at a time, whose
// candidate counts are `stream_counts`.
TrainResult train_impl(TwoTowerModel& model, const Table* train, RowStream* stream,
                       const CandidateCounts* stream_counts, const Table& all_validation, const Table& all_test,
                       const Table& catalogue, const TrainOptions& opt) {
  check_train_options(opt);
  // evaluation.sample_rows: the held-out rows evaluated (test and validation, separately seeded).
  const EvalSpec& eval_spec = model.spec().eval;
  const Table test = evaluation_sample(all_test, eval_spec.sample_rows, eval_spec.sample_seed);
  const Table validation = evaluation_sample(all_validation, eval_spec.sample_rows, eval_spec.sample_seed + 1);
  if (!model.ready()) fail(ErrorKind::invalid_argument, "the model must be fitted and initialised before training");
  const ModelSpec& spec = model.spec();
  const TaskSpec& task = spec.task;
  const size_t epochs = opt.epochs ? opt.epochs : spec.training.epochs;
  const size_t eval_every = opt.eval_every == SIZE_MAX ? spec.training.eval_every : opt.eval_every;
  const uint64_t seed = opt.seed_set ? opt.seed : spec.training.seed;
  const size_t batch_size = spec.training.batch_size;
  const size_t n = stream ? stream->rows() : train->num_rows();
  StepExchange* const exchange = opt.exchange;
  const size_t global_rows = exchange ? static_cast<size_t>(exchange->sum(static_cast<double>(n))) : n;
  if (global_rows == 0) fail(ErrorKind::invalid_argument, "the training table is empty");
  if (exchange) {
    // Not combined with the exchange yet: refused rather than silently wrong (each process
    // would draw its own uniform negatives and estimate probabilities from its own rows only,
    // and validation is not split between the processes).
    if (task.uniform_negatives > 0)
      fail(ErrorKind::invalid_argument,
           "task.uniform_negatives is not supported with distributed training (set it to 0)");
    if (task.sampling_estimate != SamplingEstimate::none)
      fail(ErrorKind::invalid_argument,
           "task.sampling_probability 'counts' or 'streaming' is not supported with distributed training "
           "(use a probability column)");
    if (validation.num_rows() > 0)
      fail(ErrorKind::invalid_argument,
           "validation rows (data.validation_rows, early stopping) are not supported with distributed training");
  }
  if (stream) {
    if (exchange || opt.order_ranks != 1)
      fail(ErrorKind::invalid_argument, "streaming training runs in one process, without --order-ranks");
    if (opt.shuffle_state)
      fail(ErrorKind::invalid_argument, "streaming training cannot continue a saved shuffling stream (warm start)");
    if (stream->buffer_rows() < batch_size)
      fail(ErrorKind::invalid_argument, "the shuffle buffer of " + std::to_string(stream->buffer_rows()) +
                                            " rows must hold at least one batch (training.batch_size " +
                                            std::to_string(batch_size) + ")");
  }
  const size_t patience = validation.num_rows() > 0 ? spec.training.patience : 0;
  const size_t n_uniform = task.uniform_negatives;
  if (n_uniform > 0 && catalogue.num_rows() == 0)
    fail(ErrorKind::invalid_argument, "task.uniform_negatives needs a non-empty catalogue");

  ThreadPool pool(opt.threads);
  TrainResult result;
  result.examples = global_rows;
  const double t_start = now_seconds();

  const bool has_ids = stream ? stream->has_column(spec.candidate_id_column) : train->has(spec.candidate_id_column);
  if (has_ids) result.candidate_counts = stream ? *stream_counts : count_candidates(*train, spec.candidate_id_column);
  const bool estimate = task.sampling_estimate != SamplingEstimate::none;
  std::optional<CandidateCoder> coder;
  if (task.loss.remove_accidental_hits || estimate) coder.emplace(spec.candidate_id_column);
  const size_t n_catalogue = catalogue.num_rows();
  if (stream && task.sampling_estimate == SamplingEstimate::counts)
    for (const auto& [key, count] : stream_counts->count)
      if (count) result.sampling_probability[key] = static_cast<double>(count) / static_cast<double>(n);
  std::optional<StreamingFrequency> streaming;
  if (task.sampling_estimate == SamplingEstimate::streaming)
    streaming.emplace(task.streaming_buckets, task.streaming_alpha);
  const bool corrected = !task.sampling_probability_column.empty() || estimate;
  // Grouping repeated candidates: the streaming estimate changes per batch but is equal for
  // equal ids, so the ids (already part of the key) keep groups apart.
  const bool grouping = opt.group_repeated_candidates && task.loss.num_hard_negatives == 0;

  // Preprocess the rows in memory once: batches only gather encoded rows. The candidate side
  // gathers from c_all: the catalogue's rows, encoded once, when the interactions are joined to
  // it; else the rows themselves, followed (for uniform negatives) by the catalogue's.
  std::optional<EncodedBatch> catalogue_encoded;
  std::optional<std::vector<int32_t>> catalogue_codes;
  auto prepare = [&](const Table& rows, ResidentRows& R) {
    R = ResidentRows();  // the previous window's memory first
    R.n = rows.num_rows();
    R.q_all = model.query().encode(rows);
    const bool joined = reads_catalogue(spec, rows);
    if (joined) R.row_of = catalogue_rows(spec, rows, catalogue);
    if (!joined) R.c_own = model.candidate().encode(rows);
    if (!catalogue_encoded && (joined || n_uniform > 0)) catalogue_encoded = model.candidate().encode(catalogue);
    if (joined) {
      R.catalogue = &*catalogue_encoded;
    } else {
      R.catalogue_base = R.n;
      if (n_uniform > 0) R.c_own = concat_rows(R.c_own, *catalogue_encoded);
    }
    if (coder) {
      // Codes in order of first appearance: the rows', then the catalogue's (kept once coded).
      if (!joined) R.own_codes = coder->code(rows);
      if (!catalogue_codes && (joined || n_uniform > 0)) catalogue_codes = coder->code(catalogue);
      if (!joined && n_uniform > 0)
        R.own_codes.insert(R.own_codes.end(), catalogue_codes->begin(), catalogue_codes->end());
      R.id_codes = joined ? std::span<const int32_t>(*catalogue_codes) : std::span<const int32_t>(R.own_codes);
    }
    R.weights = float_column(rows, task.sample_weight_column, "sample weight");
    // Per-draw sampling probabilities of the rows: a given column, or exact counts.
    R.probs = float_column(rows, task.sampling_probability_column, "sampling probability");
    if (task.sampling_estimate == SamplingEstimate::counts) {
      R.probs.resize(R.n);
      if (stream) {
        const std::vector<std::string> keys = candidate_keys(rows, spec.candidate_id_column);
        for (size_t r = 0; r < R.n; ++r)
          R.probs[r] = static_cast<float>(static_cast<double>(stream_counts->of(keys[r])) / static_cast<double>(n));
      } else {
        std::vector<uint64_t> count(coder->size(), 0);
        for (size_t r = 0; r < n; ++r) ++count[static_cast<size_t>(R.id_codes[R.row(r)])];
        for (size_t r = 0; r < n; ++r)
          R.probs[r] = static_cast<float>(static_cast<double>(count[static_cast<size_t>(R.id_codes[R.row(r)])]) / n);
        for (size_t c = 0; c < count.size(); ++c)
          if (count[c])
            result.sampling_probability[coder->name(static_cast<int32_t>(c))] = static_cast<double>(count[c]) / n;
      }
    }
    if (grouping)
      R.distinct.emplace(R.c_all(), R.row_of, R.n, R.id_codes,
                         task.sampling_estimate == SamplingEstimate::none ? std::span<const float>(R.probs)
                                                                          : std::span<const float>());
  };
  ResidentRows resident;
  if (!stream) {
    prepare(*train, resident);
    result.peak_resident_rows = n;
  }

  if (exchange) {
    // Evaluation is collective: every process holds test rows, or none does.
    const double with_test = exchange->sum(test.num_rows() > 0 ? 1.0 : 0.0);
    if (with_test != 0.0 && with_test != static_cast<double>(exchange->ranks()))
      fail(ErrorKind::invalid_argument, "distributed evaluation needs test rows on every rank (" +
                                            std::to_string(static_cast<size_t>(with_test)) + " of " +
                                            std::to_string(exchange->ranks()) + " have some)");
  }
  std::optional<EvalSet> eval_set, val_set;
  std::vector<double> test_baseline, val_baseline;
  if (test.num_rows() > 0) {
    eval_set = make_eval_set(model, test, catalogue, spec.eval.distinct_candidates);
    // Distributed: each process holds a part of the rows, so no baseline from its own counts.
    if (!exchange && has_ids && test.has(spec.candidate_id_column))
      test_baseline = most_popular_accuracy(result.candidate_counts, test, catalogue, spec.candidate_id_column,
                                            spec.eval.distinct_candidates, spec.eval.k);
  }
  if (validation.num_rows() > 0) {
    val_set = make_eval_set(model, validation, catalogue, spec.eval.distinct_candidates);
    if (has_ids && validation.has(spec.candidate_id_column))
      val_baseline = most_popular_accuracy(result.candidate_counts, validation, catalogue, spec.candidate_id_column,
                                           spec.eval.distinct_candidates, spec.eval.k);
  }

  auto optimizer = make_optimizer(spec.training.optimizer);
  std::vector<Parameter*> params = model.parameters();
  for (Parameter* p : params) p->clear_grad();

  TowerActivations q_act, c_act;
  RetrievalLossWorkspace loss_ws;
  EncodedBatch qb, cb;
  Matrix dq, dc, dc_all;
  std::vector<int32_t> batch_ids, batch_codes;
  std::vector<float> batch_weights, batch_probs, batch_multiplicity, ones;
  std::vector<size_t> batch_rows, c_source;
  GatheredCandidates gathered;
  BatchOrder order =
      exchange ? BatchOrder(global_rows, exchange->ranks(), exchange->rank(), exchange->rank() + 1, batch_size, seed)
               : BatchOrder(n, opt.order_ranks, 0, opt.order_ranks, batch_size, seed);
  const size_t batches = order.batches();
  // Warm start: one shuffled range (a single process, order_ranks 1) continues its stream.
  if (opt.shuffle_state) order.restore(*opt.shuffle_state);
  if (!opt.optimizer_state.empty()) {
    ByteReader r(opt.optimizer_state, "optimizer state");
    optimizer->load_state(r, params);
    r.expect_end();
  }
  Rng negative_rng(seed, 0x554e49464f524dull);  // "UNIFORM"
  uint64_t step = 0;
  optimizer->prepare(params);
  const std::vector<Parameter*> q_params = model.query().parameters();
  const std::vector<Parameter*> c_params = model.candidate().parameters();
  struct UpdatePiece {
    Tower* tower;
    size_t piece;
    std::vector<Parameter*> params;
  };
  std::vector<UpdatePiece> update_pieces;
  for (Tower* t : {&model.candidate(), &model.query()})
    for (size_t k = 0; k < t->finish_pieces(); ++k) update_pieces.push_back({t, k, t->piece_parameters(k)});
  // The pieces differ in cost by 20x or more (a text feature's table against a layer's bias):
  // they are handed out longest first, by their mean duration in the steps so far, so that the
  // threads finish close together. Only the order comes from timing: each piece alone writes
  // its weights, so no bit depends on it.
  std::vector<double> piece_seconds(update_pieces.size(), 0.0);
  std::vector<size_t> piece_order(update_pieces.size());
  std::iota(piece_order.begin(), piece_order.end(), size_t{0});
  // Each step splits both towers' rows into a fixed number of shares (see Tower::start_step),
  // several per thread so that threads left running take over the shares of one the host
  // descheduled; the count depends on the batch and the thread count only (determinism).
  constexpr size_t kMinShareRows = 128;  // smaller GEMMs lose more to overhead than they balance

  // Early stopping: the best validation accuracy so far, its epoch and its weights.
  double best = -1.0;
  size_t since_best = 0;
  std::vector<Matrix> best_weights;

  // A streamed epoch draws its block order and window shuffles from the stream of BatchOrder's
  // single range, so a window holding every row is shuffled exactly as in memory.
  Rng stream_rng(seed, 0x5348554646ull);
  size_t epoch = 0;
  double loss_sum = 0.0;
  // One optimizer step on batch `b` of the epoch: rows `rows` of the resident rows R.
  auto train_batch = [&](ResidentRows& R, std::span<const size_t> rows, size_t b) {
    const EncodedBatch& q_all = R.q_all;
    const EncodedBatch& c_all = R.c_all();
    std::optional<DistinctCandidates>& distinct = R.distinct;
    const std::span<const int32_t> id_codes = R.id_codes;
    const std::vector<float>&weights = R.weights, &probs = R.probs;
    const size_t catalogue_base = R.catalogue_base;
    {
      const size_t bn = rows.size();
      ++step;
      RetrievalLossInputs in;
      // The candidate side's rows: one per distinct candidate, or one per example.
      std::span<const size_t> c_rows = rows;
      if (distinct) {
        distinct->collect(rows);
        // Distributed: every process passes its grouping, so that the gathered columns agree.
        if (distinct->rows.size() < bn || exchange) {
          c_rows = distinct->rows;
          in.positive_column = distinct->positive_column;
          in.multiplicity = distinct->multiplicity;
        }
      }
      if (streaming) {
        batch_codes.resize(bn);
        for (size_t i = 0; i < bn; ++i) batch_codes[i] = id_codes[R.row(rows[i])];
        streaming->observe(step, batch_codes);
      }
      // The rows of c_all the candidate side gathers: the batch's own, then (mixed negatives)
      // catalogue rows drawn uniformly with replacement.
      const size_t in_batch = c_rows.size();
      c_source.resize(in_batch);
      for (size_t i = 0; i < in_batch; ++i) c_source[i] = R.row(c_rows[i]);
      if (n_uniform > 0) {
        for (size_t u = 0; u < n_uniform; ++u) c_source.push_back(catalogue_base + negative_rng.below(n_catalogue));
        if (!in.multiplicity.empty()) {
          batch_multiplicity.assign(in.multiplicity.begin(), in.multiplicity.end());
          batch_multiplicity.resize(c_source.size(), 1.0f);
          in.multiplicity = batch_multiplicity;
        }
      }
      if (task.loss.remove_accidental_hits) {
        batch_ids.resize(c_source.size());
        for (size_t i = 0; i < c_source.size(); ++i) batch_ids[i] = id_codes[c_source[i]];
        in.candidate_ids = batch_ids;
      }
      if (!weights.empty()) {
        batch_weights.resize(bn);
        for (size_t i = 0; i < bn; ++i) batch_weights[i] = weights[rows[i]];
        in.sample_weight = batch_weights;
      }
      if (corrected) {
        // logQ: each column's probability per draw. The batch's own columns were drawn bn
        // times from the training rows; a uniform column stands for n_uniform draws of 1/N
        // each, i.e. n_uniform / (N bn) per batch draw, so both kinds are on one scale.
        batch_probs.resize(c_source.size());
        for (size_t i = 0; i < in_batch; ++i)
          batch_probs[i] =
              streaming ? streaming->per_batch(id_codes[c_source[i]]) / static_cast<float>(bn) : probs[c_rows[i]];
        const double uniform_p = static_cast<double>(n_uniform) / (static_cast<double>(n_catalogue) * bn);
        for (size_t i = in_batch; i < c_source.size(); ++i) batch_probs[i] = static_cast<float>(uniform_p);
        // Only ratios matter (one factor for every column shifts each row's logits equally), so
        // the batch's largest becomes 1: the loss's floor of 1e-6 then clips only columns a
        // million times rarer than the batch's most frequent, whatever the catalogue's size.
        if (task.sampling_estimate != SamplingEstimate::none || n_uniform > 0) {
          const float top = *std::max_element(batch_probs.begin(), batch_probs.end());
          if (top > 0.0f)
            for (float& p : batch_probs) p /= top;
        }
        in.sampling_probability = batch_probs;
      }
      const size_t bc = c_source.size();
      const size_t shares = pool.parts(bn, kMinShareRows);
      auto share = [shares](size_t rows, size_t s) { return std::pair{rows * s / shares, rows * (s + 1) / shares}; };
      // A distributed process whose range has run out takes part in the step with no rows.
      if (bn > 0) {
        qb.shape(q_all, bn);
        cb.shape(c_all, bc);
        model.query().start_step(bn, shares, q_act);
        model.candidate().start_step(bc, shares, c_act);
        // Both towers' layers are small (B x ~65 x 32): rather than a parallel region per
        // primitive, each thread runs a share of both towers' rows with single-threaded GEMMs.
        pool.for_each(shares, [&](size_t s) {
          const auto [q0, q1] = share(bn, s);
          const auto [c0, c1] = share(bc, s);
          qb.gather_rows(q_all, rows, q0, q1);
          cb.gather_rows(c_all, c_source, c0, c1);
          model.query().forward_rows(qb, q_act, q0, q1);
          model.candidate().forward_rows(cb, c_act, c0, c1);
        });
      }
      in.queries = &model.query().train_output(q_act);
      in.candidates = &model.candidate().train_output(c_act);
      if (exchange) {
        // Every process's candidates become this step's columns (this process's first).
        if (distinct && in.multiplicity.empty()) {
          ones.assign(bc, 1.0f);
          in.multiplicity = ones;
        }
        const Matrix no_rows(0, in.candidates->cols());
        const StepCandidates local{bn > 0 ? in.candidates : &no_rows, in.candidate_ids, in.sampling_probability,
                                   in.multiplicity};
        exchange->gather_candidates(local, gathered);
        in.candidates = &gathered.embeddings;
        in.candidate_ids = gathered.ids;
        in.sampling_probability = gathered.sampling_probability;
        in.multiplicity = gathered.multiplicity;
        dc_all.resize(gathered.embeddings.rows(), gathered.embeddings.cols());
        if (bn > 0)
          loss_sum += retrieval_loss(in, spec.task.loss, &dq, &dc_all, pool, loss_ws);
        else
          dc_all.zero();
        exchange->reduce_candidate_gradient(dc_all, dc);
      } else {
        // dC's rows are added up from the loss's chunks by each backward share (below), on
        // both threads instead of one between the phases.
        loss_ws.defer_candidate_gradient = true;
        loss_sum += retrieval_loss(in, spec.task.loss, &dq, &dc, pool, loss_ws);
      }
      if (bn > 0) {
        pool.for_each(shares, [&](size_t s) {
          const auto [q0, q1] = share(bn, s);
          const auto [c0, c1] = share(bc, s);
          model.query().backward_rows(q_act, dq, s, q0, q1);
          if (!exchange) candidate_gradient_rows(loss_ws, dc, c0, c1);
          model.candidate().backward_rows(c_act, dc, s, c0, c1);
        });
      }
      optimizer->begin_step();
      if (exchange) {
        // The gradients summed over the processes, then the same update everywhere.
        if (bn > 0) {
          model.query().finish_backward(qb, q_act);
          model.candidate().finish_backward(cb, c_act);
        }
        exchange->reduce_gradients(params);
        pool.for_each(2, [&](size_t t) { optimizer->update(t == 0 ? q_params : c_params); });
      } else {
        // Each weight set's gradient (an embedding table's scatter, a layer's partial sums) and
        // its update as one task: the sets share no parameter, and a table's sparse gradient
        // rows need a single writer.
        std::stable_sort(piece_order.begin(), piece_order.end(),
                         [&](size_t x, size_t y) { return piece_seconds[x] > piece_seconds[y]; });
        auto run_piece = [&](size_t i) {
          const size_t t = piece_order[i];
          const UpdatePiece& u = update_pieces[t];
          const double start = now_seconds();
          u.tower->finish_piece(u.piece, u.tower == &model.query() ? qb : cb,
                                u.tower == &model.query() ? q_act : c_act);
          optimizer->update(u.params);
          piece_seconds[t] += (now_seconds() - start - piece_seconds[t]) / static_cast<double>(step);
        };
        pool.for_each_in_order(piece_order.size(), run_piece);
      }
      if (opt.on_progress) {
        TrainProgress p{epoch, epochs, b + 1, batches, nullptr};
        if (!opt.on_progress(p)) fail(ErrorKind::cancelled, "training cancelled at epoch " + std::to_string(epoch));
      }
    }
  };

  for (epoch = 1; epoch <= epochs; ++epoch) {
    const double t0 = now_seconds();
    loss_sum = 0.0;
    if (!stream) {
      order.shuffle();
      for (size_t b = 0; b < batches; ++b) {
        order.batch(b, batch_rows);
        train_batch(resident, batch_rows, b);
      }
    } else {
      // Windows of at most the buffer's rows: the rows left over from the previous window (less
      // than a batch) and the stream's next ones, shuffled together; their full batches train,
      // the rest carries over, and the epoch's last rows form its last (partial) batch.
      size_t b = 0;
      Table window;
      stream->start_epoch(stream_rng);
      for (;;) {
        const size_t carried = window.num_rows();
        stream->append_next(window, stream->buffer_rows() - carried);
        if (window.num_rows() == carried) {
          if (window.num_rows() > 0) {
            prepare(window, resident);
            std::vector<size_t> all(window.num_rows());
            for (size_t i = 0; i < all.size(); ++i) all[i] = i;
            train_batch(resident, all, b++);
          }
          break;
        }
        result.peak_resident_rows = std::max(result.peak_resident_rows, window.num_rows());
        ++result.windows;
        prepare(window, resident);
        const std::vector<size_t> perm = permutation(window.num_rows(), stream_rng);
        const size_t full = window.num_rows() / batch_size;
        for (size_t k = 0; k < full; ++k)
          train_batch(resident, std::span(perm).subspan(k * batch_size, batch_size), b++);
        resident = ResidentRows();
        window = window.take(std::span(perm).subspan(full * batch_size));
      }
    }
    EpochRecord rec;
    rec.epoch = epoch;
    if (exchange) {
      loss_sum = exchange->sum(loss_sum);
      exchange->check_same_weights(params);
    }
    rec.mean_loss = loss_sum / static_cast<double>(global_rows);
    rec.seconds = now_seconds() - t0;
    const bool due = eval_every ? (epoch % eval_every == 0) : false;
    bool stop = false;
    if ((eval_set || val_set) && (due || epoch == epochs)) {
      const double e0 = now_seconds();
      if (val_set) {
        rec.validation_metrics =
            evaluate_factorized_topk(model, *val_set, spec.eval.k, spec.training.eval_batch_size, pool);
        rec.validation_metrics->baseline = val_baseline;
      }
      if (eval_set) {
        rec.metrics = evaluate_factorized_topk(model, *eval_set, spec.eval.k, spec.training.eval_batch_size, pool);
        if (exchange) exchange->reduce_metrics(*rec.metrics);
        rec.metrics->baseline = test_baseline;
      }
      rec.eval_seconds = now_seconds() - e0;
      if (patience > 0) {
        const double v = rec.validation_metrics->at(spec.training.early_stopping_k);
        if (v > best) {
          best = v;
          since_best = 0;
          result.best_epoch = epoch;
          best_weights.resize(params.size());
          for (size_t i = 0; i < params.size(); ++i) best_weights[i] = params[i]->value;
        } else if (++since_best >= patience) {
          stop = epoch < epochs;
        }
      }
      if (rec.metrics && result.best_epoch == epoch) result.final_metrics = rec.metrics;
      if (rec.metrics && patience == 0) result.final_metrics = rec.metrics;
    }
    result.history.push_back(rec);
    if (!std::isfinite(rec.mean_loss))
      fail(ErrorKind::invalid_argument, "training diverged: the loss is not finite at epoch " + std::to_string(epoch) +
                                            " (try a smaller learning rate)");
    if (opt.on_progress) {
      TrainProgress p{epoch, epochs, batches, batches, &result.history.back()};
      if (!opt.on_progress(p)) fail(ErrorKind::cancelled, "training cancelled after epoch " + std::to_string(epoch));
    }
    if (stop) {
      result.stopped_early = true;
      break;
    }
  }
  // The best evaluation's weights (the test metrics reported are that evaluation's).
  if (!best_weights.empty() && result.best_epoch != result.history.back().epoch)
    for (size_t i = 0; i < params.size(); ++i) params[i]->value = best_weights[i];
  if (streaming)
    for (size_t c = 0; c < coder->size(); ++c) {
      const float p = streaming->per_batch(static_cast<int32_t>(c)) / static_cast<float>(batch_size);
      if (p > 0.0f) result.sampling_probability[coder->name(static_cast<int32_t>(c))] = p;
    }
  ByteWriter state;
  optimizer->save_state(state);
  result.optimizer_state = state.take();
  result.shuffle_state = stream ? std::optional(stream_rng.state()) : order.state();
  result.seconds = now_seconds() - t_start;
  return result;
}

}  // namespace

TrainResult train_model(TwoTowerModel& model, const Table& train, const Table& validation, const Table& test,
                        const Table& catalogue, const TrainOptions& opt) {
  return train_impl(model, &train, nullptr, nullptr, validation, test, catalogue, opt);
}

TrainResult train_streamed(TwoTowerModel& model, RowStream& train, const CandidateCounts& train_counts,
                           const Table& validation, const Table& test, const Table& catalogue,
                           const TrainOptions& opt) {
  return train_impl(model, nullptr, &train, &train_counts, validation, test, catalogue, opt);
}

namespace {

// The k values of the first evaluated epoch (every evaluation uses the spec's); after a refit
// the validation metrics are the selection run's.
const TopKMetrics* first_metrics(const TrainResult& r, bool validation) {
  for (const auto* history : {&r.selection_history, &r.history})
    for (const auto& e : *history) {
      const auto& m = validation ? e.validation_metrics : e.metrics;
      if (m) return &*m;
    }
  return nullptr;
}

nlohmann::json metrics_json(const std::vector<size_t>& ks, const std::vector<double>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < ks.size() && i < values.size(); ++i) j[TopKMetrics::metric_name(ks[i])] = values[i];
  return j;
}

}  // namespace

std::string history_csv(const TrainResult& r) {
  std::ostringstream o;
  o.precision(9);
  const TopKMetrics* test = first_metrics(r, false);
  const TopKMetrics* val = first_metrics(r, true);
  o << "epoch,loss,seconds,eval_seconds";
  if (test) {
    for (size_t k : test->k) o << ",top_" << k;
    if (!test->baseline.empty())
      for (size_t k : test->k) o << ",popular_top_" << k;
  }
  if (val) {
    for (size_t k : val->k) o << ",val_top_" << k;
    if (!val->baseline.empty())
      for (size_t k : val->k) o << ",val_popular_top_" << k;
  }
  const bool refit = !r.selection_history.empty();
  if (refit) o << ",phase";
  o << "\n";
  auto cells = [&o](const std::optional<TopKMetrics>& m, const TopKMetrics* first) {
    if (!first) return;
    for (size_t i = 0; i < first->k.size(); ++i) {
      o << ",";
      if (m) o << m->accuracy[i];
    }
    if (first->baseline.empty()) return;
    for (size_t i = 0; i < first->k.size(); ++i) {
      o << ",";
      if (m && i < m->baseline.size()) o << m->baseline[i];
    }
  };
  for (const auto* history : {&r.selection_history, &r.history})
    for (const auto& e : *history) {
      o << e.epoch << "," << e.mean_loss << "," << e.seconds << "," << e.eval_seconds;
      cells(e.metrics, test);
      cells(e.validation_metrics, val);
      if (refit) o << (history == &r.history ? ",refit" : ",selection");
      o << "\n";
    }
  return o.str();
}

namespace {

nlohmann::json epochs_json(const std::vector<EpochRecord>& history) {
  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& e : history) {
    nlohmann::json j = {
        {"epoch", e.epoch}, {"loss", e.mean_loss}, {"seconds", e.seconds}, {"eval_seconds", e.eval_seconds}};
    if (e.metrics)
      for (size_t i = 0; i < e.metrics->k.size(); ++i)
        j[TopKMetrics::metric_name(e.metrics->k[i])] = e.metrics->accuracy[i];
    if (e.validation_metrics) j["validation"] = metrics_json(e.validation_metrics->k, e.validation_metrics->accuracy);
    epochs.push_back(j);
  }
  return epochs;
}

}  // namespace

std::string history_json(const TrainResult& r) {
  nlohmann::json out = {{"loss_definition", "mean per-example softmax cross-entropy over the epoch"},
                        {"seconds", r.seconds},
                        {"examples", r.examples},
                        {"history", epochs_json(r.history)}};
  if (!r.selection_history.empty()) out["selection_history"] = epochs_json(r.selection_history);
  // The most-popular list's accuracy on the same rows: constant, so written once.
  nlohmann::json popular = nlohmann::json::object();
  if (const TopKMetrics* t = first_metrics(r, false); t && !t->baseline.empty())
    popular["test"] = metrics_json(t->k, t->baseline);
  if (const TopKMetrics* v = first_metrics(r, true); v && !v->baseline.empty())
    popular["validation"] = metrics_json(v->k, v->baseline);
  if (!popular.empty()) out["most_popular"] = popular;
  if (r.best_epoch) {
    out["best_epoch"] = r.best_epoch;
    out["stopped_early"] = r.stopped_early;
    if (!r.selection_history.empty()) out["refit"] = true;
  }
  return out.dump(2);
}

}  // namespace tt
