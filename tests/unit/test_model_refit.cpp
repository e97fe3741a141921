// training.refit_after_validation ("choose on validation, then refit"): early stopping chooses
// the epoch on the validation rows, then the model is trained again from its initial weights on
// the training and validation rows for exactly that many epochs, and only that model is
// evaluated on the test rows.
#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/random.h"
#include "model/fit.h"
#include "model_test_support.h"

using namespace tt;

namespace {

// 48 users in 8 taste groups of 6 items each; 1,300 rows: 1,000 train (200 of them validation),
// 300 test.
Dataset grouped_ratings() {
  Rng rng(23);
  Dataset d;
  std::vector<std::string> user, item, catalogue;
  for (size_t r = 0; r < 1300; ++r) {
    const size_t u = rng.below(48);
    user.push_back("user" + std::to_string(u));
    item.push_back("item" + std::to_string(6 * (u % 8) + rng.below(6)));
  }
  for (size_t i = 0; i < 48; ++i) catalogue.push_back("item" + std::to_string(i));
  d.interactions.add(Column("user_id", user));
  d.interactions.add(Column("item_id", item));
  d.candidates.add(Column("item_id", catalogue));
  d.source = "refit test";
  return d;
}

// With validation rows, early stopping and the refit; `plain_epochs` > 0: the same model
// without any of them, trained for that many epochs.
ModelSpec refit_spec(size_t plain_epochs = 0) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "name": "refit",
    "query_tower": {"features": [
        {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [8]},
    "candidate_tower": {"id_column": "item_id", "features": [
        {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [8]},
    "task": {"sampling_probability": "counts"},
    "training": {"optimizer": {"kind": "adagrad", "learning_rate": 0.5}, "batch_size": 64, "epochs": 40,
                 "eval_every": 1, "seed": 9, "patience": 2, "early_stopping_k": 5,
                 "refit_after_validation": true},
    "data": {"train_rows": 1000, "test_rows": 300, "validation_rows": 200, "split_seed": 4},
    "evaluation": {"k": [1, 5, 10]}
  })");
  if (plain_epochs) {
    j["training"]["epochs"] = plain_epochs;
    for (const char* key : {"patience", "early_stopping_k", "refit_after_validation"}) j["training"].erase(key);
    j["data"].erase("validation_rows");
  }
  return ModelSpec::from_json(j.dump(), "refit spec");
}

bool same_weights(const FitResult& a, const FitResult& b) {
  const auto pa = a.model->model().parameters(), pb = b.model->model().parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    if (std::memcmp(pa[i]->value.data(), pb[i]->value.data(), pa[i]->value.span().size_bytes()) != 0) return false;
  return true;
}

TrainOptions one_thread() {
  TrainOptions o;
  o.threads = 1;
  return o;
}

}  // namespace

TEST_CASE("refit: trains on the training and validation rows for exactly the epochs validation chose") {
  const Dataset d = grouped_ratings();
  const FitResult fit = fit_retrieval_model(refit_spec(), d, one_thread());
  const TrainResult& r = fit.training;
  const size_t chosen = r.best_epoch;
  REQUIRE(chosen >= 1);
  REQUIRE(!r.selection_history.empty());
  INFO("chosen epoch " << chosen << " of " << r.selection_history.size());
  // The selection run: validation rows only (the test rows choose nothing), best at `chosen`.
  double best = -1.0;
  for (const EpochRecord& e : r.selection_history) {
    REQUIRE(e.validation_metrics);
    CHECK(!e.metrics);
    best = std::max(best, e.validation_metrics->at(5));
  }
  CHECK(r.selection_history[chosen - 1].validation_metrics->at(5) == best);
  if (r.stopped_early) CHECK(r.selection_history.size() == chosen + 2);
  // The refit: exactly `chosen` epochs over all 1,000 training rows, evaluated on the test rows.
  CHECK(r.history.size() == chosen);
  CHECK(r.examples == 1000);
  for (const EpochRecord& e : r.history) CHECK(!e.validation_metrics);
  REQUIRE(r.final_metrics);
  CHECK(r.final_metrics->accuracy == r.history.back().metrics->accuracy);
  CHECK(fit.model->metadata().epochs == chosen);
  CHECK(fit.model->metadata().best_epoch == chosen);

  // It is the model of the same spec without validation rows, trained for `chosen` epochs: the
  // same rows in the same order, the same initial weights and shuffles, bit for bit.
  const FitResult plain = fit_retrieval_model(refit_spec(chosen), d, one_thread());
  CHECK(plain.training.examples == 1000);
  test::check_same_weights(fit.model->model(), plain.model->model());
  CHECK(r.final_metrics->accuracy == plain.training.final_metrics->accuracy);
  CHECK(r.candidate_counts.count == plain.training.candidate_counts.count);
  // ... and not the selection run's model (trained on 800 rows), nor one epoch more or less.
  ModelSpec no_refit = refit_spec();
  no_refit.training.refit_after_validation = false;
  const FitResult selected = fit_retrieval_model(no_refit, d, one_thread());
  CHECK(selected.training.best_epoch == chosen);
  CHECK(selected.training.examples == 800);
  CHECK(!same_weights(selected, fit));
  const FitResult longer = fit_retrieval_model(refit_spec(chosen + 1), d, one_thread());
  CHECK(!same_weights(longer, fit));

  // Deterministic: the same spec, seed and threads give the same model again.
  const FitResult again = fit_retrieval_model(refit_spec(), d, one_thread());
  test::check_same_weights(fit.model->model(), again.model->model());

  // The history keeps both runs.
  const std::string csv = history_csv(r);
  CHECK(csv.find(",val_top_5,") != std::string::npos);
  CHECK(csv.find(",phase\n") != std::string::npos);
  CHECK(csv.find(",selection\n") != std::string::npos);
  CHECK(csv.find(",refit\n") != std::string::npos);
  const nlohmann::json h = nlohmann::json::parse(history_json(r));
  CHECK(h.at("refit") == true);
  CHECK(h.at("best_epoch") == chosen);
  CHECK(h.at("history").size() == chosen);
  CHECK(h.at("selection_history").size() == r.selection_history.size());
}

TEST_CASE("refit: a warm start refits from where it started") {
  const Dataset d = grouped_ratings();
  ModelSpec no_refit = refit_spec();
  no_refit.training.refit_after_validation = false;
  TrainOptions five = one_thread();
  five.epochs = 5;
  // Two models at the same starting point: one continues with the refit, one plainly.
  FitResult a = fit_retrieval_model(refit_spec(), d, five);
  FitResult b = fit_retrieval_model(refit_spec(), d, five);
  const FitResult more = continue_fit(*a.model, d, one_thread());
  const size_t chosen = more.training.best_epoch;
  REQUIRE(chosen >= 1);
  CHECK(more.training.history.size() == chosen);
  CHECK(a.model->metadata().epochs == b.model->metadata().epochs + chosen);
  CHECK(!same_weights(a, b));
}
