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
#include "features/hashing.h"
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

nlohmann::json spec_json(const std::string& optimizer) {
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
  return j;
}

ModelSpec spec(const std::string& optimizer) {
  return ModelSpec::from_json(spec_json(optimizer).dump(), "warm start spec");
}

// One query row: `user` at a fixed time.
Table query_row(const std::string& user) {
  Table t;
  t.add(Column("user_id", std::vector<std::string>{user}));
  t.add(Column("timestamp", std::vector<int64_t>{900000000}));
  return t;
}

std::vector<float> query_embedding(const RetrievalModel& m, const std::string& user) {
  Matrix out;
  m.embed_queries(query_row(user), out);
  return {out.data(), out.data() + out.size()};
}

// The row of the user feature's embedding table that `user` reads.
int32_t user_row(const RetrievalModel& m, const std::string& user) {
  return m.model().query().encode(query_row(user)).features[0].ids[0];
}

std::vector<float> user_table_row(const RetrievalModel& m, int32_t row) {
  for (const Parameter* p : m.model().parameters())
    if (p->name == "query/user/embedding") return {p->value.row(row), p->value.row(row) + p->value.cols()};
  FAIL("no query/user/embedding");
  return {};
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

// docs/c-api.md ("Warm start"): an id the first training did not see maps, during the warm
// start and after it, to the out-of-vocabulary row (string_lookup) or its hash bucket (hashing),
// exactly as at query time; that row is trained by the new id's rows.
TEST_CASE("warm start: a new id gets exactly the out-of-vocabulary row or its hash bucket's row") {
  for (const std::string kind : {"string_lookup", "hashing"}) {
    CAPTURE(kind);
    nlohmann::json j = spec_json("adagrad");
    constexpr uint64_t buckets = 7;  // fewer than the 30 users: some share new-user's bucket
    if (kind == "hashing")
      j["query_tower"]["features"][0] = {
          {"name", "user"}, {"column", "user_id"}, {"kind", "hashing"}, {"embedding_dim", 8}, {"num_buckets", buckets}};
    FitResult fit =
        fit_retrieval_model(ModelSpec::from_json(j.dump(), "warm start spec"), dataset(600, 11), epochs(3, 1));
    RetrievalModel& m = *fit.model;
    // The row new-user must read: the OOV row 0, or XXH64's bucket, as the first training set it.
    const int32_t expected = kind == "hashing" ? Hashing(buckets).bucket("new-user") : 0;
    REQUIRE(user_row(m, "new-user") == expected);
    // Another id that reads that row: one never seen, or a trained user in the same bucket.
    std::string twin = "never-seen", other;
    for (int u = 0; u < 30; ++u) {
      const std::string id = "u" + std::to_string(u);
      if (kind == "hashing" && user_row(m, id) == expected) twin = id;
      if (user_row(m, id) != expected) other = id;
    }
    REQUIRE(twin != "new-user");
    REQUIRE(!other.empty());
    const std::vector<float> row_before = user_table_row(m, expected);

    continue_fit(m, dataset(600, 12, "new-user"), epochs(2, 1));
    CHECK(user_row(m, "new-user") == expected);
    CHECK(user_row(m, twin) == expected);
    // new-user's 60 rows trained its row, and its embedding is exactly the one that row gives.
    CHECK(user_table_row(m, expected) != row_before);
    CHECK(query_embedding(m, "new-user") == query_embedding(m, twin));
    CHECK(query_embedding(m, "new-user") != query_embedding(m, other));
    // Through a file, as a service would load it the next day.
    const RetrievalModel loaded = through_file(m, false);
    CHECK(query_embedding(loaded, "new-user") == query_embedding(m, "new-user"));
    CHECK(query_embedding(loaded, "new-user") == query_embedding(loaded, twin));
  }
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
