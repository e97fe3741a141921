// `twotower eval`: recompute FactorizedTopK from a model file on the spec's held-out split.
#include <cstdio>

#include "base/parallel.h"
#include "cli.h"
#include "model/evaluation.h"
#include "model/fit.h"
#include "model/popularity.h"
#include "persist/model_serialization.h"

namespace tt::cli {

namespace {

struct EvalFlags {
  std::string model;
  DataFlags data;
  bool distinct = false;
  int threads = 0;
};

// The held-out split is recomputed from the data: on other data (or the same rows in another
// order) it is not the split held out at training, and rows the model trained on are scored as
// held out, which overstates its accuracy. Say so before the numbers, on stderr.
void warn_if_other_data(const TrainingMetadata& meta, const Dataset& d) {
  const std::string inter = table_fingerprint(d.interactions), cand = table_fingerprint(d.candidates);
  if (meta.data_fingerprint.empty()) {
    std::fprintf(stderr,
                 "twotower: warning: the model records no data fingerprint, so these data cannot be checked against "
                 "the training data; if they differ, the held-out split differs too\n");
    return;
  }
  if (meta.data_fingerprint == inter + "-" + cand) return;
  const bool same_interactions = meta.data_fingerprint.starts_with(inter + "-");
  std::fprintf(stderr,
               "twotower: WARNING: %s differ from the data the model was trained on (%s; fingerprint %s-%s, "
               "the model's %s)",
               same_interactions ? "the candidates" : "these interactions", meta.data_source.c_str(), inter.c_str(),
               cand.c_str(), meta.data_fingerprint.c_str());
  if (same_interactions)
    std::fprintf(stderr, ": the split is the training one, but the catalogue ranked against is not\n");
  else
    std::fprintf(stderr,
                 ": the held-out split is NOT the one held out at training, rows the model was trained on "
                 "may be evaluated, and the metrics below may overstate its accuracy\n");
}

void run(const EvalFlags& f, CLI::App* cmd) {
  RetrievalModel rm = load_model(f.model);
  const ModelSpec& spec = rm.model().spec();
  Dataset d = f.data.load(&spec);
  warn_if_other_data(rm.metadata(), d);
  Split split = split_for_spec(d.interactions, spec.data);
  const bool distinct = cmd->count("--distinct") ? f.distinct : spec.eval.distinct_candidates;
  // data.history: the test rows' histories from the rows the model trained on, as at training.
  const Table test = final_test_rows(spec, split);
  EvalSet set = make_eval_set(rm.model(), test, d.candidates, distinct);
  ThreadPool pool(f.threads);
  TopKMetrics m = evaluate_factorized_topk(rm.model(), set, spec.eval.k, spec.training.eval_batch_size, pool);
  if (split.train.has(spec.candidate_id_column))
    m.baseline = most_popular_accuracy(count_candidates(split.train, spec.candidate_id_column), split.test,
                                       d.candidates, spec.candidate_id_column, distinct, spec.eval.k);
  std::printf("%s on %zu held-out interactions against %zu %scandidates:\n", f.model.c_str(), m.examples,
              set.catalogue.rows, distinct ? "distinct " : "");
  for (size_t i = 0; i < m.k.size(); ++i) {
    const std::string name = TopKMetrics::metric_name(m.k[i]);
    auto it = rm.metadata().metrics.find(name);
    std::printf("  %-45s %.4f", name.c_str(), m.accuracy[i]);
    if (it != rm.metadata().metrics.end() && !distinct)
      std::printf("   (at training: %.4f%s)", it->second, it->second == m.accuracy[i] ? ", identical" : "");
    std::printf("\n");
  }
  std::printf("%s", baseline_lines(m).c_str());
}

}  // namespace

void register_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  auto* cmd = app.add_subcommand("eval", "recompute the metrics of a model file on the held-out split");
  cmd->add_option("model", f->model, "model file")->required();
  f->data.add_to(*cmd);
  cmd->add_flag("--distinct", f->distinct, "rank against distinct candidate ids only");
  add_threads_option(*cmd, f->threads);
  cmd->callback([f, cmd] { run(*f, cmd); });
}

}  // namespace tt::cli
