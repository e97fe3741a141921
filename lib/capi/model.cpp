#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "capi/train_call.h"
#include "model/evaluation.h"
#include "model/fit.h"
#include "model/popularity.h"

using namespace tt;
using capi::fill_metrics;
using capi::flag_field;
using capi::range_field;
using capi::read_options;
using capi::require;

const RetrievalModel& tt_model::trained() const {
  // The C boundary prefixes the function's name.
  if (!model) fail(ErrorKind::invalid_argument, "needs a trained or loaded model");
  return *model;
}

void tt_model::use_threads(int count) {
  pool = std::make_unique<ThreadPool>(count);
  threads = count;
}

void tt_model::refresh_texts() {
  spec_json = spec.to_json();
  nlohmann::json j;
  j["library_version"] = TT_VERSION_STRING;
  j["spec_name"] = spec.name;
  if (model) {
    const auto& m = model->metadata();
    j["trained_with_library_version"] = m.library_version;
    j["data_source"] = m.data_source;
    j["data_fingerprint"] = m.data_fingerprint;
    j["seed"] = m.seed;
    j["epochs"] = m.epochs;
    j["train_seconds"] = m.train_seconds;
    j["created_unix"] = m.created_unix;
    j["metrics"] = m.metrics;
    j["parameters"] = model->model().parameter_count();
    j["candidates"] = model->index().size();
    j["embedding_dim"] = model->model().embedding_dim();
    j["has_optimizer_state"] = !model->optimizer_state().empty();
    j["index_precision"] = precision_name(model->candidate_precision());
    j["weights_precision"] = precision_name(model->weights_precision());
    if (const auto& sh = model->shard())
      j["shard"] = {
          {"index", sh->index}, {"count", sh->count}, {"offset", sh->offset}, {"catalogue_size", sh->catalogue_size}};
  }
  if (!training_warnings.empty()) j["training_warnings"] = training_warnings;
  if (format_version) j["format_version"] = format_version;
  metadata_json = j.dump(2);
}

// tt_model_evaluate*: `field` prefixes option names in messages ("tt_eval_options.").
static void evaluate(const tt_model& model, const tt_table& interactions, const tt_table& candidates,
                     const tt_eval_options& o, const std::string& field, tt_metrics* out) {
  capi::check_result(out, "tt_metrics");
  const RetrievalModel& rm = model.trained();
  const bool distinct = flag_field(o.distinct_candidates, (field + "distinct_candidates").c_str());
  std::vector<size_t> ks = rm.model().spec().eval.k;
  if (o.k || o.k_count) {
    require(o.k, (field + "k").c_str());
    range_field<size_t>(o.k_count, 1, TT_MAX_K, (field + "k_count").c_str());
    ks.assign(o.k, o.k + o.k_count);
    for (size_t i = 0; i < ks.size(); ++i)
      range_field<size_t>(ks[i], 1, kMaxTopK, (field + "k[" + std::to_string(i) + "]").c_str());
  }
  const size_t batch = o.batch_size
                           ? range_field<size_t>(o.batch_size, 1, kMaxBatchSize, (field + "batch_size").c_str())
                           : rm.model().spec().training.eval_batch_size;
  const Table rows = interactions.to_table(), catalogue = candidates.to_table();
  EvalSet set = make_eval_set(rm.model(), rows, catalogue, distinct);
  TopKMetrics m = evaluate_factorized_topk(rm.model(), set, ks, batch, *model.pool);
  // The most-popular baseline from the training counts the model file keeps.
  const auto& stored = rm.metadata().candidate_counts;
  if (!stored.empty()) {
    CandidateCounts counts;
    counts.count.insert(stored.begin(), stored.end());
    m.baseline = most_popular_accuracy(counts, rows, catalogue, rm.model().spec().candidate_id_column, distinct, ks);
  }
  fill_metrics(m, out);
}

extern "C" {

TT_API void tt_metrics_init(tt_metrics* m) {
  if (!m) return;
  std::memset(m, 0, sizeof *m);
  m->struct_size = sizeof *m;
}

TT_API tt_status tt_metrics_at_k(const tt_metrics* metrics, uint32_t k, double* accuracy) {
  return TT_GUARD({
    require(metrics, "metrics");
    require(accuracy, "accuracy");
    // count, k and accuracy are in every version of the struct.
    capi::check_result(metrics, "tt_metrics");
    const size_t count = std::min<size_t>(metrics->count, TT_MAX_K);
    std::string evaluated;
    for (size_t i = 0; i < count; ++i) {
      if (metrics->k[i] == k) {
        *accuracy = metrics->accuracy[i];
        return;
      }
      evaluated += (i ? ", " : "") + std::to_string(metrics->k[i]);
    }
    fail(ErrorKind::invalid_argument, "k " + std::to_string(k) + " was not evaluated (" +
                                          (count ? "the k values are " + evaluated : std::string("no k values")) + ")");
  });
}

TT_API void tt_train_options_init(tt_train_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->eval_every = -1;
}

TT_API tt_status tt_model_create(const char* spec_json, tt_model** out) {
  return TT_GUARD({
    require(spec_json, "spec_json");
    require(out, "out");
    auto m = std::make_unique<tt_model>();
    m->spec = ModelSpec::from_json(spec_json, "spec");
    m->refresh_texts();
    *out = m.release();
  });
}

TT_API tt_status tt_model_create_from_file(const char* spec_path, tt_model** out) {
  return TT_GUARD({
    require(spec_path, "spec_path");
    require(out, "out");
    auto m = std::make_unique<tt_model>();
    m->spec = ModelSpec::from_file(spec_path);
    m->refresh_texts();
    *out = m.release();
  });
}

// tt_model_free is tt_model_release (capi/model_slot.cpp).
TT_API void tt_model_free(tt_model* model) { tt_model_release(model); }

TT_API tt_status tt_model_train(tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                const tt_train_options* options, tt_metrics* final_metrics) {
  return TT_GUARD({
    require(model, "model");
    require(interactions, "interactions");
    require(candidates, "candidates");
    const capi::TrainCall call = capi::read_train_call(*model, options, final_metrics);
    const Dataset data = capi::train_dataset(interactions, candidates);
    const bool warm = model->model && !call.reset;
    FitResult fit =
        warm ? continue_fit(*model->model, data, call.options) : fit_retrieval_model(model->spec, data, call.options);
    capi::finish_train(*model, fit, warm, call, final_metrics);
  });
}

TT_API void tt_eval_options_init(tt_eval_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

TT_API tt_status tt_model_evaluate_v2(const tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                      const tt_eval_options* options, tt_metrics* out) {
  return TT_GUARD({
    require(model, "model");
    require(interactions, "interactions");
    require(candidates, "candidates");
    require(out, "out");
    evaluate(*model, *interactions, *candidates, read_options(options, tt_eval_options_init, "tt_eval_options"),
             "tt_eval_options.", out);
  });
}

TT_API tt_status tt_model_evaluate(const tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                   int32_t distinct_candidates, tt_metrics* out) {
  return TT_GUARD({
    require(model, "model");
    require(interactions, "interactions");
    require(candidates, "candidates");
    require(out, "out");
    tt_eval_options o;
    tt_eval_options_init(&o);
    o.distinct_candidates = distinct_candidates;
    evaluate(*model, *interactions, *candidates, o, "", out);
  });
}

TT_API tt_status tt_model_set_threads(tt_model* model, int32_t threads) {
  return TT_GUARD({
    require(model, "model");
    model->use_threads(checked_threads(threads, "threads"));
  });
}

TT_API tt_status tt_model_threads(const tt_model* model, int32_t* threads) {
  return TT_GUARD({
    require(model, "model");
    require(threads, "threads");
    *threads = model->threads ? model->threads : hardware_threads();
  });
}

TT_API tt_status tt_model_spec_json(const tt_model* model, const char** json) {
  return TT_GUARD({
    require(model, "model");
    require(json, "json");
    *json = model->spec_json.c_str();
  });
}

TT_API tt_status tt_model_metadata_json(const tt_model* model, const char** json) {
  return TT_GUARD({
    require(model, "model");
    require(json, "json");
    *json = model->metadata_json.c_str();
  });
}

}  // extern "C"
