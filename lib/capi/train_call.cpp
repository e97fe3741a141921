#include "capi/train_call.h"

#include <cstring>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"

namespace tt::capi {

TrainCall read_train_call(const tt_model& model, const tt_train_options* options, const tt_metrics* final_metrics) {
  const tt_train_options o = read_options(options, tt_train_options_init, "tt_train_options");
  check_result(final_metrics, "tt_metrics");
  TrainCall call;
  TrainOptions& t = call.options;
  t.epochs = o.epochs ? range_field<size_t>(o.epochs, 1, kMaxEpochs, "tt_train_options.epochs") : 0;
  t.eval_every =
      o.eval_every == -1
          ? SIZE_MAX
          : static_cast<size_t>(range_field<int64_t>(o.eval_every, -1, INT32_MAX, "tt_train_options.eval_every"));
  t.seed = o.seed;
  t.seed_set = flag_field(o.seed_set, "tt_train_options.seed_set");
  t.threads = checked_threads(o.threads, "tt_train_options.threads");
  if (t.threads == 0) t.threads = model.threads;
  call.reset = flag_field(o.reset, "tt_train_options.reset");
  if (!call.reset) refuse_shard(model, "train it further");
  if (o.progress) {
    // By value: the options struct the caller passed need not outlive this call's setup.
    t.on_progress = [progress = o.progress, user_data = o.user_data](const TrainProgress& p) {
      tt_progress r;
      std::memset(&r, 0, sizeof r);
      r.struct_size = sizeof r;
      r.epoch = static_cast<uint32_t>(p.epoch);
      r.epochs = static_cast<uint32_t>(p.epochs);
      r.batch = static_cast<uint32_t>(p.batch);
      r.batches = static_cast<uint32_t>(p.batches);
      tt_metrics_init(&r.metrics);
      if (p.record) {
        r.epoch_done = 1;
        r.loss = p.record->mean_loss;
        if (p.record->metrics) {
          r.has_metrics = 1;
          fill_metrics(*p.record->metrics, &r.metrics);
        }
      }
      return progress(&r, user_data) == 0;
    };
  }
  return call;
}

Dataset train_dataset(const tt_table* interactions, const tt_table* candidates) {
  require(interactions, "interactions");
  require(candidates, "candidates");
  return Dataset{interactions->to_table(), candidates->to_table(), "tables passed through the C API"};
}

void finish_train(tt_model& model, FitResult& fit, bool warm, const TrainCall& call, tt_metrics* final_metrics) {
  if (final_metrics) {
    if (fit.training.final_metrics) {
      fill_metrics(*fit.training.final_metrics, final_metrics);
    } else {
      tt_metrics none;  // no evaluation: count 0 (tt_metrics_init would write sizeof bytes)
      tt_metrics_init(&none);
      write_result(none, final_metrics, "tt_metrics");
    }
  }
  // Only now, with everything done, does the handle change (continue_fit changed the model in
  // place, and only on success).
  if (!warm) model.model = std::move(fit.model);
  model.format_version = 0;
  model.training_warnings = std::move(fit.warnings);
  if (!model.pool || call.options.threads != model.threads) model.use_threads(call.options.threads);
  model.refresh_texts();
}

void fill_metrics(const TopKMetrics& m, tt_metrics* out) {
  if (m.k.size() > TT_MAX_K)
    fail(ErrorKind::invalid_argument, "more than TT_MAX_K (" + std::to_string(TT_MAX_K) + ") k values");
  tt_metrics full;
  tt_metrics_init(&full);
  full.count = m.k.size();
  for (size_t i = 0; i < m.k.size(); ++i) {
    full.k[i] = static_cast<uint32_t>(m.k[i]);
    full.accuracy[i] = m.accuracy[i];
  }
  full.examples = m.examples;
  full.has_baseline = m.baseline.size() == m.k.size() && !m.k.empty();
  for (size_t i = 0; i < m.baseline.size() && i < TT_MAX_K; ++i) full.baseline_accuracy[i] = m.baseline[i];
  // A caller built against an older header has a shorter tt_metrics: only what it holds is written.
  write_result(full, out, "tt_metrics");
}

}  // namespace tt::capi
