// Warm start (continue_fit): training continues from a model's weights, optimizer state and
// shuffling stream, in memory or through a model file saved with its optimizer state, so that
// N epochs and then M more give bit for bit the model of N + M epochs in one run; the
// preprocessing is not refitted; failures leave the model as it was.
#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "model/fit.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

using namespace tt;

namespace {

// 30 users in 6 groups; each group interacts with its own 5 of 30 items.
Dataset dataset(size_t rows, uint64_t seed, const std::string& extra_user = "") {
  Rng rng(seed);
  std::vector<std::string> users, items, cat;
  std::vector<int64_t> ts;
  for (size_t r = 0; r < rows; ++r) {
    const size_t u = rng.below(30);
    users.push_back(!extra_user.empty() && r % 10 == 0 ? extra_user : "u" + std::to_string(u));
    items.push_back("i" + std::to_string((u % 6) * 5 + rng.below(5)));
    ts.push_back(900000000 + static_cast<int64_t>(r) * 60);
  }
  for (size_t i = 0; i < 30; ++i) cat.push_back("i" + std::to_string(i));
  Dataset d;
  d.interactions.add(Column("user_id", users));
  d.interactions.add(Column("timestamp", ts));
  d.interactions.add(Column("item_id", items));
  d.candidates.add(Column("item_id", cat));
  d.source = "warm start test";
  return d;
}

ModelSpec spec(const std::string& optimizer) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "name": "warm",
    "query_tower": {"features": [
        {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "ts", "column": "timestamp", "kind": "normalization"}], "layers": [16, 8]},
    "candidate_tower": {"id_column": "item_id", "features": [
        {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [8]},
    "training": {"batch_size": 32, "epochs": 10, "eval_every": 5, "seed": 3},
    "data": {"train_rows": 500, "test_rows": 100, "split_seed": 5},
    "evaluation": {"k": [1, 5]}
  })");
  // Rates at which each optimizer learns this problem without diverging (sgd momentum: a slot).
  j["training"]["optimizer"] = {{"kind", optimizer}, {"learning_rate", optimizer == "adagrad" ? 0.1 : 0.01}};
  if (optimizer == "sgd") j["training"]["optimizer"]["momentum"] = 0.5;
  return ModelSpec::from_json(j.dump(), "warm start spec");
}

std::vector<std::vector<float>> weights(const RetrievalModel& m) {
  std::vector<std::vector<float>> out;
  for (const Parameter* p : m.model().parameters())
    out.emplace_back(p->value.data(), p->value.data() + p->value.size());
  return out;
}

std::vector<float> index_embeddings(const RetrievalModel& m) {
  const Matrix& e = m.index().embeddings();
  return {e.data(), e.data() + e.size()};
}

TrainOptions epochs(size_t n, int threads) {
  TrainOptions o;
  o.epochs = n;
  o.threads = threads;
  return o;
}

RetrievalModel through_file(const RetrievalModel& m, bool include_optimizer) {
  SaveOptions so;
  so.include_optimizer = include_optimizer;
  return load_model_from_buffer(save_model_to_buffer(m, so));
}

}  // namespace

TEST_CASE("warm start: 10 epochs, save with optimizer, load, 10 more == 20 epochs bit for bit") {
  const Dataset d = dataset(600, 11);
  for (const std::string optimizer : {"adagrad", "adam", "sgd"}) {
    for (int threads : {1, 2}) {
      CAPTURE(optimizer);
      CAPTURE(threads);
      const ModelSpec s = spec(optimizer);
      FitResult twenty = fit_retrieval_model(s, d, epochs(20, threads));
      FitResult ten = fit_retrieval_model(s, d, epochs(10, threads));
      CHECK(weights(*ten.model) != weights(*twenty.model));

      RetrievalModel resumed = through_file(*ten.model, true);
      REQUIRE(resumed.metadata().shuffle_state == ten.model->metadata().shuffle_state);
      FitResult more = continue_fit(resumed, d, epochs(10, threads));
      CHECK(more.model == nullptr);
      CHECK(more.training.history.size() == 10);
      CHECK(weights(resumed) == weights(*twenty.model));
      CHECK(index_embeddings(resumed) == index_embeddings(*twenty.model));
      CHECK(resumed.optimizer_state() == twenty.model->optimizer_state());
      CHECK(resumed.metadata().shuffle_state == twenty.model->metadata().shuffle_state);
      CHECK(resumed.metadata().epochs == 20);
      CHECK(more.training.history.back().mean_loss == twenty.training.history.back().mean_loss);

      // The same in memory, without a file in between.
      continue_fit(*ten.model, d, epochs(10, threads));
      CHECK(weights(*ten.model) == weights(*twenty.model));
    }
  }
}

TEST_CASE("warm start: what is missing from the file starts afresh, and a seed restarts the shuffling") {
  const Dataset d = dataset(600, 11);
  const ModelSpec s = spec("adagrad");
  FitResult twenty = fit_retrieval_model(s, d, epochs(20, 1));
  FitResult ten = fit_retrieval_model(s, d, epochs(10, 1));

  // Without the optimizer state (Adagrad's accumulators start over), training still continues
  // from the weights: its first epoch's loss is far below a fresh model's first epoch.
  RetrievalModel no_optimizer = through_file(*ten.model, false);
  CHECK(no_optimizer.optimizer_state().empty());
  FitResult more = continue_fit(no_optimizer, d, epochs(10, 1));
  CHECK(weights(no_optimizer) != weights(*twenty.model));
  CHECK(more.training.history.front().mean_loss < 0.9 * twenty.training.history.front().mean_loss);
  CHECK(!no_optimizer.optimizer_state().empty());

  // A seed set for the continuation starts a new shuffling stream: another model.
  RetrievalModel reseeded = through_file(*ten.model, true);
  TrainOptions o = epochs(10, 1);
  o.seed = 99;
  o.seed_set = true;
  continue_fit(reseeded, d, o);
  CHECK(weights(reseeded) != weights(*twenty.model));

  // A stripped model has no shuffling state left.
  RetrievalModel stripped = through_file(*ten.model, true);
  strip_model(stripped);
  CHECK_FALSE(through_file(stripped, true).metadata().shuffle_state);
}

TEST_CASE("warm start: new ids map to the out-of-vocabulary row; vocabularies are not refitted") {
  const ModelSpec s = spec("adagrad");
  FitResult fit = fit_retrieval_model(s, dataset(600, 11), epochs(3, 1));
  const size_t parameters = fit.model->model().parameter_count();
  const std::vector<float> items_before = index_embeddings(*fit.model);
  // Tomorrow's data: other rows, and a user never seen before on every tenth row.
  const Dataset tomorrow = dataset(600, 12, "new-user");
  continue_fit(*fit.model, tomorrow, epochs(2, 1));
  CHECK(fit.model->model().parameter_count() == parameters);
  CHECK(index_embeddings(*fit.model) != items_before);
  CHECK(fit.model->metadata().epochs == 5);
  CHECK(fit.model->metadata().data_fingerprint.find(table_fingerprint(tomorrow.interactions)) == 0);
}

TEST_CASE("warm start: failures leave the model as it was") {
  const Dataset d = dataset(600, 11);
  FitResult fit = fit_retrieval_model(spec("adagrad"), d, epochs(2, 1));
  const auto before = weights(*fit.model);
  const auto state = fit.model->optimizer_state();

  TrainOptions cancel = epochs(3, 1);
  cancel.on_progress = [](const TrainProgress& p) { return p.epoch < 2; };
  CHECK_THROWS_AS(continue_fit(*fit.model, d, cancel), Error);
  CHECK(weights(*fit.model) == before);
  CHECK(fit.model->optimizer_state() == state);
  CHECK(fit.model->metadata().epochs == 2);

  // A data table without the query tower's column.
  Dataset broken = d;
  broken.interactions = Table();
  broken.interactions.add(d.interactions.column("item_id"));
  CHECK_THROWS_AS(continue_fit(*fit.model, broken, epochs(1, 1)), Error);
  CHECK(weights(*fit.model) == before);

  // Quantized weights are refused (their rounding would be lost), naming the precision.
  RetrievalModel q = through_file(*fit.model, true);
  quantize_model(q, std::nullopt, Precision::bf16);
  try {
    continue_fit(q, d, epochs(1, 1));
    FAIL("a quantized model was trained");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    CHECK(std::string(e.what()).find("bf16") != std::string::npos);
  }
}
