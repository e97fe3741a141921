// A trained MovieLens model survives its file: the loaded model scores every test query exactly
// as the in-memory one did, and evaluating the loaded model reproduces the training metrics.
#include <doctest/doctest.h>

#include <cstring>

#include "../unit/test_support.h"
#include "base/parallel.h"
#include "model/evaluation.h"
#include "model/fit.h"
#include "persist/model_serialization.h"

using namespace tt;

TEST_CASE("MovieLens model file: same scores and same metrics after save and load") {
  const std::string dir = test::movielens_dir();
  if (dir.empty()) {
    MESSAGE("MovieLens not found; skipped outside CI");
    return;
  }
  ModelSpec spec = ModelSpec::from_file(std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-64-32.json");
  Dataset d = load_movielens_dataset(dir);
  TrainOptions opt;
  opt.epochs = 3;
  FitResult fit = fit_retrieval_model(spec, d, opt);
  REQUIRE(fit.training.final_metrics.has_value());

  const std::vector<uint8_t> bytes = save_model_to_buffer(*fit.model);
  RetrievalModel loaded = load_model_from_buffer(bytes, "movielens.tt");

  // Every held-out query: bit-identical embeddings and top-100 lists.
  Split split = split_for_spec(d.interactions, spec.data);
  Matrix a, b;
  fit.model->embed_queries(split.test, a);
  loaded.embed_queries(split.test, b);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  ThreadPool pool(2);
  SearchOptions so;
  so.k = 100;
  const size_t n = split.test.num_rows();
  std::vector<int64_t> ids_a(n * 100), ids_b(n * 100);
  std::vector<float> sc_a(n * 100), sc_b(n * 100);
  fit.model->index().search(a.data(), n, so, ids_a.data(), sc_a.data(), pool);
  loaded.index().search(b.data(), n, so, ids_b.data(), sc_b.data(), pool);
  CHECK(ids_a == ids_b);
  CHECK(std::memcmp(sc_a.data(), sc_b.data(), sc_a.size() * sizeof(float)) == 0);

  // `twotower eval` computes exactly this from the file.
  EvalSet set = make_eval_set(loaded.model(), split.test, d.candidates, spec.eval.distinct_candidates);
  TopKMetrics m = evaluate_factorized_topk(loaded.model(), set, spec.eval.k, spec.training.eval_batch_size, pool);
  for (size_t i = 0; i < m.k.size(); ++i) {
    CAPTURE(m.k[i]);
    CHECK(m.accuracy[i] == fit.training.final_metrics->accuracy[i]);
    CHECK(loaded.metadata().metrics.at(TopKMetrics::metric_name(m.k[i])) == m.accuracy[i]);
  }
}
