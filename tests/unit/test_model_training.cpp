// Training end to end on a small synthetic retrieval problem that a two-tower model can learn:
// 60 users in 10 "clusters", 40 items in the same 10 clusters of 4, and every user only ever
// interacts with items of its own cluster. Checks that training learns (loss falls, top-K far
// above chance), is bit-for-bit deterministic for a seed and thread count, that every task
// option and optimizer runs and matters, cancellation, the history outputs, and the
// FactorizedTopK counting rule.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <unistd.h>

#include <atomic>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "data/split.h"
#include "data/table.h"
#include "model/dataset.h"
#include "model/evaluation.h"
#include "model/popularity.h"
#include "model/spec.h"
#include "model/streaming_frequency.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"

using namespace tt;

namespace {

constexpr size_t kUsers = 60, kItems = 40, kClusters = 10, kRows = 3000, kTrain = 2500, kTest = 500;

// (Built with append: GCC 12's -Wrestrict misfires on "literal" + std::to_string(...).)
std::string item_id(size_t i) { return std::string("i").append(std::to_string(i)); }
std::string item_title(size_t i) {
  return "Item " + std::to_string(i) + " (cluster " + std::to_string(i / (kItems / kClusters)) + ")";
}

struct Problem {
  Table interactions;
  Table catalogue;
  Table train, test;
};

const Problem& problem() {
  static const Problem p = [] {
    Problem p;
    Rng rng(2024);
    std::vector<std::string> users, items, titles;
    std::vector<int64_t> ts;
    std::vector<float> weight;
    std::vector<size_t> item_of_row;
    std::vector<size_t> item_count(kItems, 0);
    for (size_t r = 0; r < kRows; ++r) {
      const size_t u = rng.below(kUsers);
      const size_t cluster = u % kClusters;
      const size_t i = cluster * (kItems / kClusters) + rng.below(kItems / kClusters);
      users.push_back(std::string("u").append(std::to_string(u)));
      items.push_back(item_id(i));
      titles.push_back(item_title(i));
      ts.push_back(880000000 + static_cast<int64_t>(rng.below(1000000)));
      weight.push_back(rng.uniform(0.25f, 2.0f));
      item_of_row.push_back(i);
      ++item_count[i];
    }
    std::vector<float> prob;
    for (size_t i : item_of_row) prob.push_back(static_cast<float>(item_count[i]) / kRows);
    p.interactions.add(Column("user_id", users));
    p.interactions.add(Column("timestamp", ts));
    p.interactions.add(Column("item_id", items));
    p.interactions.add(Column("title", titles));
    p.interactions.add(Column("weight", weight));
    p.interactions.add(Column("prob", prob));
    std::vector<std::string> cat_ids, cat_titles;
    for (size_t i = 0; i < kItems; ++i) {
      cat_ids.push_back(item_id(i));
      cat_titles.push_back(item_title(i));
    }
    p.catalogue.add(Column("item_id", cat_ids));
    p.catalogue.add(Column("title", cat_titles));
    Split s = shuffle_split(p.interactions, kTrain, kTest, 7);
    p.train = std::move(s.train);
    p.test = std::move(s.test);
    return p;
  }();
  return p;
}

nlohmann::json base_spec() {
  return nlohmann::json::parse(R"({
    "name": "synthetic",
    "query_tower": {
      "features": [
        {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 16},
        {"name": "ts", "column": "timestamp", "kind": "normalization"}
      ],
      "layers": [16]
    },
    "candidate_tower": {
      "id_column": "item_id",
      "features": [
        {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 16},
        {"name": "title", "column": "title", "kind": "text", "embedding_dim": 16, "max_tokens": 100}
      ],
      "layers": [16]
    },
    "training": {
      "optimizer": {"kind": "adagrad", "learning_rate": 0.1},
      "batch_size": 64, "epochs": 4, "eval_every": 0, "eval_batch_size": 128, "seed": 42
    },
    "evaluation": {"k": [1, 5, 10, 40]}
  })");
}

TwoTowerModel make_model(const nlohmann::json& spec) {
  TwoTowerModel m(ModelSpec::from_json(spec.dump(), "test spec"));
  m.fit_preprocessing(problem().interactions, problem().catalogue);
  m.initialize(m.spec().training.seed);
  return m;
}

struct Run {
  TrainResult result;
  std::vector<std::vector<uint8_t>> params;  // every parameter's value bytes
  std::vector<std::string> names;
};

std::vector<std::vector<uint8_t>> param_bytes(const TwoTowerModel& m) {
  std::vector<std::vector<uint8_t>> out;
  for (const Parameter* p : m.parameters()) {
    const auto* b = reinterpret_cast<const uint8_t*>(p->value.data());
    out.emplace_back(b, b + p->value.size() * sizeof(float));
  }
  return out;
}

Run train(const nlohmann::json& spec, int threads, const std::function<void(TrainOptions&)>& tweak = {}) {
  TwoTowerModel m = make_model(spec);
  TrainOptions opt;
  opt.threads = threads;
  if (tweak) tweak(opt);
  Run r;
  r.result = train_model(m, problem().train, problem().test, problem().catalogue, opt);
  r.params = param_bytes(m);
  for (const Parameter* p : m.parameters()) r.names.push_back(p->name);
  return r;
}

bool all_finite(const Run& r) {
  for (const auto& bytes : r.params) {
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), bytes.size());
    for (float x : v)
      if (!std::isfinite(x)) return false;
  }
  for (const auto& e : r.result.history)
    if (!std::isfinite(e.mean_loss)) return false;
  return true;
}

// Chance level of top-k accuracy with a 40-item catalogue.
double chance(size_t k) { return static_cast<double>(k) / kItems; }

}  // namespace

// Every OpenMP parallel region of the process (oneDNN's, the library's) passes through here:
// the executable's definition comes first in the dynamic linker's search order. Counts regions
// that would run on more than one thread.
static std::atomic<long> g_openmp_teams{0};
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags) {
  using Real = void (*)(void (*)(void*), void*, unsigned, unsigned);
  static const Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "GOMP_parallel"));
  if (num_threads > 1 || (num_threads == 0 && omp_get_max_threads() > 1)) ++g_openmp_teams;
  real(fn, data, num_threads, flags);
}

TEST_CASE("training and evaluation start no OpenMP team (one threading plan: TBB, sgemm on one thread)") {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(4);  // as a host application using OpenMP might: teams of 4 by default
  // The counter sees oneDNN's regions: a large product on this thread, called directly.
  std::vector<float> a(512 * 512, 0.5f), c(512 * 512);
  g_openmp_teams = 0;
  REQUIRE(dnnl_sgemm('N', 'N', 512, 512, 512, 1.0f, a.data(), 512, a.data(), 512, 0.0f, c.data(), 512) == dnnl_success);
  CHECK(g_openmp_teams.load() > 0);
  g_openmp_teams = 0;
  nlohmann::json j = base_spec();
  j["training"]["batch_size"] = 512;  // several shares per step
  const Run r = train(j, 2, [](TrainOptions& o) {
    o.epochs = 2;
    o.eval_every = 1;
  });
  REQUIRE(r.result.final_metrics);
  CHECK(g_openmp_teams.load() == 0);
  CHECK(omp_get_max_threads() == 4);
  omp_set_num_threads(saved);
}

TEST_CASE("training: the synthetic problem is learnt") {
  const Run r = train(base_spec(), 1);
  REQUIRE(r.result.history.size() == 4);
  CHECK(r.result.examples == kTrain);
  const double first = r.result.history.front().mean_loss, last = r.result.history.back().mean_loss;
  INFO("mean loss per epoch: " << first << " ... " << last);
  // In-batch softmax over 64 candidates starts at log(64) = 4.16 and, since a user's 4 items are
  // equally likely and share batches, cannot get near 0 (measured: 2.64 -> 1.94, flat by epoch 3).
  CHECK(first < std::log(64.0));
  CHECK(last < 0.8 * first);

  // Only the last epoch is evaluated with eval_every 0.
  for (size_t e = 0; e + 1 < r.result.history.size(); ++e) CHECK_FALSE(r.result.history[e].metrics);
  REQUIRE(r.result.final_metrics);
  const TopKMetrics& m = *r.result.final_metrics;
  CHECK(m.examples == kTest);
  INFO("top-1 " << m.at(1) << ", top-5 " << m.at(5) << ", top-10 " << m.at(10));
  // A perfect model ranks the 4 items of the user's cluster first: top-5 near 1, top-1 near 1/4.
  CHECK(m.at(5) > 5 * chance(5));
  CHECK(m.at(1) > 4 * chance(1));
  CHECK(m.at(40) == 1.0);
}

TEST_CASE("training: same seed and thread count give bit-identical parameters") {
  // Batches of 512 rows: several shares per step with more than one thread, taken by whichever
  // thread is free (3 threads on fewer cores makes that order vary from run to run).
  nlohmann::json spec = base_spec();
  spec["training"]["batch_size"] = 512;
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    // Two epochs: enough for every parameter to move.
    auto two_epochs = [](TrainOptions& o) { o.epochs = 2; };
    const Run a = train(spec, threads, two_epochs);
    const Run b = train(spec, threads, two_epochs);
    REQUIRE(a.params.size() == b.params.size());
    REQUIRE(a.params.size() == 7);  // user, 2 dense | item, title, 2 dense
    for (size_t i = 0; i < a.params.size(); ++i) {
      CAPTURE(a.names[i]);
      CHECK(a.params[i] == b.params[i]);
    }
    for (size_t e = 0; e < a.result.history.size(); ++e)
      CHECK(a.result.history[e].mean_loss == b.result.history[e].mean_loss);
    CHECK(a.result.final_metrics->accuracy == b.result.final_metrics->accuracy);

    // Another shuffling seed (same initialisation) trains to different parameters.
    const Run c = train(spec, threads, [](TrainOptions& o) {
      o.epochs = 2;
      o.seed = 7;
      o.seed_set = true;
    });
    CHECK(c.params != a.params);
    for (size_t i = 0; i < a.params.size(); ++i) {
      CAPTURE(a.names[i]);
      CHECK(c.params[i] != a.params[i]);
    }
    // So does the spec's training.seed, which also draws the initial weights.
    nlohmann::json j = spec;
    j["training"]["seed"] = 43;
    CHECK(train(j, threads, two_epochs).params != a.params);
  }
}

TEST_CASE("training: every task option runs and changes the result") {
  const Run base = train(base_spec(), 1);
  struct Option {
    const char* name;
    nlohmann::json value;
  };
  const std::vector<Option> options = {{"temperature", 0.5},
                                       {"remove_accidental_hits", true},
                                       {"num_hard_negatives", 10},
                                       {"sample_weight_column", "weight"},
                                       {"sampling_probability_column", "prob"}};
  for (const Option& o : options) {
    const std::string name = o.name;
    CAPTURE(name);
    nlohmann::json j = base_spec();
    j["task"] = {{o.name, o.value}};
    const Run r = train(j, 1);
    CHECK(all_finite(r));
    REQUIRE(r.result.final_metrics);
    for (double a : r.result.final_metrics->accuracy) CHECK(std::isfinite(a));
    CHECK(r.params != base.params);
    CHECK(r.result.history.back().mean_loss != base.result.history.back().mean_loss);
    INFO(name << ": loss " << r.result.history.front().mean_loss << " -> " << r.result.history.back().mean_loss
              << ", top-5 " << r.result.final_metrics->at(5));
    CHECK(r.result.final_metrics->at(5) > 3 * chance(5));
  }
  // All of them at once.
  nlohmann::json j = base_spec();
  j["task"] = {{"temperature", 0.5},
               {"remove_accidental_hits", true},
               {"num_hard_negatives", 10},
               {"sample_weight_column", "weight"},
               {"sampling_probability_column", "prob"}};
  const Run all = train(j, 1);
  CHECK(all_finite(all));
  CHECK(all.result.final_metrics->at(5) > 3 * chance(5));
}

TEST_CASE("training: scoring each distinct candidate once trains the same model as one column per example") {
  // 40 items in batches of 64: every batch repeats candidates, so grouping changes the work
  // but, up to float rounding, neither the loss nor the updates.
  for (const char* option :
       {"", "temperature", "remove_accidental_hits", "sample_weight_column", "sampling_probability_column"}) {
    const std::string name = option;
    CAPTURE(name);
    nlohmann::json j = base_spec();
    if (name == "temperature") j["task"] = {{"temperature", 0.5}};
    if (name == "remove_accidental_hits") j["task"] = {{"remove_accidental_hits", true}};
    if (name == "sample_weight_column") j["task"] = {{"sample_weight_column", "weight"}};
    if (name == "sampling_probability_column") j["task"] = {{"sampling_probability_column", "prob"}};
    const Run grouped = train(j, 2, [](TrainOptions& o) { o.epochs = 2; });
    const Run full = train(j, 2, [](TrainOptions& o) {
      o.epochs = 2;
      o.group_repeated_candidates = false;
    });
    for (size_t e = 0; e < full.result.history.size(); ++e)
      CHECK(grouped.result.history[e].mean_loss == doctest::Approx(full.result.history[e].mean_loss).epsilon(1e-5));
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < full.params.size(); ++i) {
      std::vector<float> a(full.params[i].size() / 4), b(a.size());
      std::memcpy(a.data(), full.params[i].data(), full.params[i].size());
      std::memcpy(b.data(), grouped.params[i].data(), grouped.params[i].size());
      for (size_t k = 0; k < a.size(); ++k) {
        worst = std::max(worst, static_cast<double>(std::fabs(a[k] - b[k])));
        largest = std::max(largest, static_cast<double>(std::fabs(a[k])));
      }
    }
    INFO("largest parameter " << largest << ", largest difference " << worst);
    CHECK(worst < 1e-4 * largest);
    CHECK(grouped.params != full.params);  // the work really differs (else this test is void)
  }
}

TEST_CASE("training: a task column missing from the training data is an error") {
  nlohmann::json j = base_spec();
  j["task"] = {{"sample_weight_column", "nope"}};
  try {
    (void)train(j, 1);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    CHECK(std::string(e.what()).find("sample weight column 'nope'") != std::string::npos);
  }
  j["task"] = {{"sampling_probability_column", "title"}};
  try {
    (void)train(j, 1);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    CHECK(std::string(e.what()).find("sampling probability column 'title' must be numeric") != std::string::npos);
  }
}

TEST_CASE("training: adam and sgd optimizers train") {
  for (const std::string kind : {"adam", "sgd"}) {
    CAPTURE(kind);
    nlohmann::json j = base_spec();
    j["training"]["optimizer"] = {{"kind", kind}, {"learning_rate", kind == "adam" ? 0.01 : 0.005}};
    if (kind == "sgd") j["training"]["optimizer"]["momentum"] = 0.9;
    const Run r = train(j, 1);
    CHECK(all_finite(r));
    REQUIRE(r.result.final_metrics);
    const double first = r.result.history.front().mean_loss, last = r.result.history.back().mean_loss;
    INFO(kind << ": loss " << first << " -> " << last << ", top-5 " << r.result.final_metrics->at(5));
    CHECK(last < 0.9 * first);
    CHECK(r.result.final_metrics->at(5) > 3 * chance(5));
  }
}

TEST_CASE("training: on_progress can cancel") {
  size_t calls = 0;
  try {
    (void)train(base_spec(), 1, [&](TrainOptions& o) {
      o.on_progress = [&](const TrainProgress& p) {
        ++calls;
        CHECK(p.epochs == 4);
        CHECK(p.batches == (kTrain + 63) / 64);
        return !(p.epoch == 2 && p.batch == 3);
      };
    });
    FAIL("training was not cancelled");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::cancelled);
    CHECK(std::string(e.what()).find("epoch 2") != std::string::npos);
  }
  // Every batch of epoch 1, its end-of-epoch call, then 3 batches of epoch 2.
  CHECK(calls == (kTrain + 63) / 64 + 1 + 3);

  // Cancelling at the end of an epoch (the call that carries the epoch record).
  std::vector<size_t> records;
  try {
    (void)train(base_spec(), 1, [&](TrainOptions& o) {
      o.on_progress = [&](const TrainProgress& p) {
        if (!p.record) return true;
        CHECK(p.batch == p.batches);
        CHECK(p.record->epoch == p.epoch);
        records.push_back(p.epoch);
        return p.epoch < 3;
      };
    });
    FAIL("training was not cancelled");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::cancelled);
  }
  CHECK(records == std::vector<size_t>{1, 2, 3});
}

TEST_CASE("training: history as CSV and JSON") {
  nlohmann::json j = base_spec();
  j["training"]["eval_every"] = 2;
  j["training"]["epochs"] = 3;  // evaluated after epochs 2 and 3 (the last)
  const Run r = train(j, 1);
  REQUIRE(r.result.history.size() == 3);
  CHECK_FALSE(r.result.history[0].metrics);
  CHECK(r.result.history[1].metrics);
  CHECK(r.result.history[2].metrics);

  const std::string csv = history_csv(r.result);
  std::istringstream in(csv);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "epoch,loss,seconds,eval_seconds,top_1,top_5,top_10,top_40,popular_top_1,popular_top_5,popular_top_10,"
        "popular_top_40");
  for (size_t e = 1; e <= 3; ++e) {
    CAPTURE(lines[e]);
    CHECK(lines[e].rfind(std::to_string(e) + ",", 0) == 0);
    CHECK(std::count(lines[e].begin(), lines[e].end(), ',') == 11);
  }
  CHECK(lines[1].substr(lines[1].size() - 8) == ",,,,,,,,");  // not evaluated: empty metric fields
  CHECK(lines[3].substr(lines[3].size() - 2) == ",1");        // popular top-40 of 40 candidates

  const nlohmann::json h = nlohmann::json::parse(history_json(r.result));
  CHECK(h.at("examples") == kTrain);
  CHECK(h.at("loss_definition").get<std::string>().find("mean per-example") != std::string::npos);
  REQUIRE(h.at("history").is_array());
  REQUIRE(h.at("history").size() == 3);
  for (size_t e = 0; e < 3; ++e) {
    const nlohmann::json& rec = h["history"][e];
    CHECK(rec.at("epoch") == e + 1);
    CHECK(rec.at("loss").get<double>() == r.result.history[e].mean_loss);
    CHECK(rec.contains("factorized_top_k/top_5_categorical_accuracy") == (e > 0));
  }
  CHECK(h["history"][2].at("factorized_top_k/top_40_categorical_accuracy") == 1.0);
  // The most-popular baseline, once.
  CHECK(h.at("most_popular").at("test").at("factorized_top_k/top_40_categorical_accuracy") == 1.0);
  CHECK(h.at("most_popular").at("test").at("factorized_top_k/top_1_categorical_accuracy") ==
        r.result.final_metrics->baseline[0]);
  CHECK_FALSE(h.contains("best_epoch"));
}

TEST_CASE("training: order_ranks shuffles as a run of that many ranks does") {
  auto ranks = [](size_t n) { return [n](TrainOptions& o) { o.epochs = 2, o.order_ranks = n; }; };
  const Run one = train(base_spec(), 1, ranks(1));
  const Run two = train(base_spec(), 1, ranks(2));
  const Run again = train(base_spec(), 1, ranks(2));
  // Another order of the same rows (range 0 keeps the one-range stream, range 1 has its own),
  // deterministic, and every row is still seen once per epoch.
  CHECK(two.params != one.params);
  CHECK(two.params == again.params);
  CHECK(two.result.examples == one.result.examples);
  CHECK(two.result.history.back().mean_loss < two.result.history.front().mean_loss);
  // The global batch (64) must split evenly across the ranks.
  try {
    (void)train(base_spec(), 1, ranks(3));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "training.batch_size 64 must be a multiple of the number of ranks 3");
  }
  CHECK_THROWS_WITH_AS(train(base_spec(), 1, ranks(0)), doctest::Contains("order_ranks is 0"), Error);
}

TEST_CASE("training: errors before training starts") {
  TwoTowerModel unready(ModelSpec::from_json(base_spec().dump(), "test spec"));
  CHECK_THROWS_AS(train_model(unready, problem().train, problem().test, problem().catalogue, {}), Error);
  TwoTowerModel m = make_model(base_spec());
  try {
    (void)train_model(m, problem().train.take(std::vector<size_t>{}), problem().test, problem().catalogue, {});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
  }
  // Without test rows, training runs and evaluates nothing.
  TrainOptions opt;
  opt.epochs = 1;
  opt.threads = 1;
  const TrainResult r =
      train_model(m, problem().train, problem().test.take(std::vector<size_t>{}), problem().catalogue, opt);
  CHECK(r.history.size() == 1);
  CHECK_FALSE(r.final_metrics);
}

TEST_CASE("training: the data are checked before training (empty tables, unknown candidate ids)") {
  const ModelSpec spec = ModelSpec::from_json(base_spec().dump(), "test spec");
  auto error_of = [&](const Dataset& d) -> std::string {
    try {
      (void)check_training_data(spec, d);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      return e.what();
    }
    FAIL("no error");
    return "";
  };
  const Problem& p = problem();
  const Table none = p.catalogue.take(std::vector<size_t>{});
  // A catalogue with a header and no rows failed after a whole epoch inside sgemm (TT_ERR_INTERNAL).
  CHECK(error_of(Dataset{p.interactions, none, "c.csv"}).find("the candidate catalogue has no rows (c.csv)") == 0);
  CHECK(error_of(Dataset{p.interactions.take(std::vector<size_t>{}), p.catalogue, ""}) ==
        "the interactions have no rows: nothing to train on");
  CHECK(check_training_data(spec, Dataset{p.interactions, p.catalogue, ""}).empty());

  // Interactions whose item is not in the catalogue: the catalogue without item i0.
  std::vector<size_t> keep;
  for (size_t i = 1; i < kItems; ++i) keep.push_back(i);
  const Table partial = p.catalogue.take(keep);
  const auto& items = p.interactions.column("item_id").strings();
  const size_t unknown = static_cast<size_t>(std::count(items.begin(), items.end(), "i0"));
  REQUIRE(unknown > 30);  // about 1/40 of 3000 rows: above the default 1%
  const std::string msg = error_of(Dataset{p.interactions, partial, ""});
  CHECK(msg.find(std::to_string(unknown) + " of 3000 interactions") == 0);
  CHECK(msg.find("absent from the candidate catalogue (the first: 'i0')") != std::string::npos);
  CHECK(msg.find("more than data.max_unknown_candidates (0.01)") != std::string::npos);
  ModelSpec lenient = spec;
  lenient.data.max_unknown_candidates = 0.05;
  const auto warnings = check_training_data(lenient, Dataset{p.interactions, partial, ""});
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("(data.max_unknown_candidates 0.05 allows it)") != std::string::npos);
}

TEST_CASE("training: weights too large for this machine are refused before allocating, naming the tensor") {
  nlohmann::json j = base_spec();
  j["query_tower"]["layers"] = {65536, 65536, 65536, 16};
  j["candidate_tower"]["features"][0]["embedding_dim"] = 4096;
  TwoTowerModel m(ModelSpec::from_json(j.dump(), "test spec"));
  m.fit_preprocessing(problem().interactions, problem().catalogue);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  // 2 x 16 GiB kernels: refused on machines with less than 128 GiB.
  if (static_cast<double>(pages) * static_cast<double>(page) < 128.0 * (1ull << 30)) {
    try {
      m.initialize(1);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      const std::string msg = e.what();
      CHECK(msg.find("the largest tensor is 'query/dense_2/kernel' [65536 x 65536] = 17179869184 bytes (16.0 GiB)") !=
            std::string::npos);
      CHECK(msg.find("this machine has") != std::string::npos);
    }
    CHECK_FALSE(m.ready());
  }
}

// Per cut-off: held-out rows that are hits whatever the float rounding, and rows whose positive
// ties other candidates within rounding (scores recomputed in double precision; a tie is a
// difference below 1e-4 of the sum of |q_i c_i|, far above float32 rounding of a d-term sum).
struct TiedBounds {
  std::vector<size_t> sure_hits, ties;
};
TiedBounds tied_bounds(const TwoTowerModel& m, const EvalSet& set, const std::vector<size_t>& ks) {
  Matrix q, pos, cat;
  TowerScratch scratch;
  m.query().embed(set.queries, q, scratch);
  m.candidate().embed(set.positives, pos, scratch);
  m.candidate().embed(set.catalogue, cat, scratch);
  const size_t d = m.embedding_dim();
  TiedBounds b;
  b.sure_hits.assign(ks.size(), 0);
  b.ties.assign(ks.size(), 0);
  for (size_t r = 0; r < set.queries.rows; ++r) {
    double s_pos = 0.0, scale_pos = 0.0;
    for (size_t k = 0; k < d; ++k) {
      s_pos += double(q.row(r)[k]) * pos.row(r)[k];
      scale_pos += std::abs(double(q.row(r)[k]) * pos.row(r)[k]);
    }
    size_t surely_higher = 0, maybe_higher = 0;
    for (size_t c = 0; c < set.catalogue.rows; ++c) {
      double s = 0.0, scale = scale_pos;
      for (size_t k = 0; k < d; ++k) {
        s += double(q.row(r)[k]) * cat.row(c)[k];
        scale += std::abs(double(q.row(r)[k]) * cat.row(c)[k]);
      }
      const double eps = 1e-4 * scale;
      surely_higher += s > s_pos + eps;
      maybe_higher += s >= s_pos - eps;
    }
    for (size_t i = 0; i < ks.size(); ++i) {
      if (maybe_higher < ks[i])
        ++b.sure_hits[i];
      else if (surely_higher < ks[i])
        ++b.ties[i];
    }
  }
  return b;
}

TEST_CASE("evaluation: the FactorizedTopK counting rule") {
  const Problem& p = problem();
  TwoTowerModel m = make_model(base_spec());
  TrainOptions opt;
  opt.epochs = 1;
  opt.threads = 2;
  (void)train_model(m, p.train, p.test.take(std::vector<size_t>{}), p.catalogue, opt);
  ThreadPool pool(2);

  const std::vector<size_t> ks = {1, 2, 3, 5, 10, 20, 39, 40, 1000};
  const EvalSet set = make_eval_set(m, p.test, p.catalogue, false);
  CHECK(set.catalogue.rows == kItems);
  CHECK(set.queries.rows == kTest);
  const TopKMetrics a = evaluate_factorized_topk(m, set, ks, 64, pool);
  CHECK(a.examples == kTest);
  CHECK(a.k == ks);
  for (size_t i = 1; i < ks.size(); ++i) CHECK(a.accuracy[i] >= a.accuracy[i - 1]);
  CHECK(a.accuracy.front() > 0.0);
  CHECK(a.accuracy.front() < 1.0);
  CHECK(a.at(40) == 1.0);  // k = catalogue size: always a hit (fewer than 40 rows can beat it)
  CHECK(a.at(1000) == 1.0);
  CHECK(TopKMetrics::metric_name(5) == "factorized_top_k/top_5_categorical_accuracy");
  CHECK_THROWS_AS((void)a.at(4), Error);

  // The evaluation batch size changes the GEMM shapes and so the rounding of the scores. On this
  // problem, whose clusters give near-identical candidates after one epoch, rows whose positive
  // is tied with other candidates within float rounding may flip; every other row must not.
  // Bounds in double precision: a row is surely a hit at k when fewer than k candidates can score
  // above its positive, surely a miss when k candidates surely do; the rest are ties.
  const TiedBounds bounds = tied_bounds(m, set, ks);
  const TopKMetrics a2 = evaluate_factorized_topk(m, set, ks, 7, pool);
  for (size_t i = 0; i < ks.size(); ++i) {
    CAPTURE(ks[i]);
    const double lo = static_cast<double>(bounds.sure_hits[i]) / kTest;
    const double hi = static_cast<double>(bounds.sure_hits[i] + bounds.ties[i]) / kTest;
    CHECK(a.accuracy[i] >= lo);
    CHECK(a.accuracy[i] <= hi);
    CHECK(a2.accuracy[i] >= lo);
    CHECK(a2.accuracy[i] <= hi);
  }
  // The thread count changes nothing (each block of 256 queries is scored by one thread).
  ThreadPool one(1);
  CHECK(evaluate_factorized_topk(m, set, ks, 64, one).accuracy == a.accuracy);

  // A catalogue listing the first 12 items twice: duplicates scoring above the positive count
  // twice unless distinct_candidates drops them.
  Table dup = p.catalogue;
  std::vector<size_t> first(12);
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  dup.append(p.catalogue.take(first));
  REQUIRE(dup.num_rows() == kItems + 12);
  const EvalSet all_rows = make_eval_set(m, p.test, dup, false);
  const EvalSet distinct = make_eval_set(m, p.test, dup, true);
  CHECK(all_rows.catalogue.rows == kItems + 12);
  CHECK(distinct.catalogue.rows == kItems);
  const TopKMetrics with_dups = evaluate_factorized_topk(m, all_rows, ks, 64, pool);
  const TopKMetrics without = evaluate_factorized_topk(m, distinct, ks, 64, pool);
  bool strictly_higher_somewhere = false;
  for (size_t i = 0; i < ks.size(); ++i) {
    CAPTURE(ks[i]);
    // Duplicates only add candidates that may score higher: never more hits than the plain
    // catalogue's bound (rows tied within rounding may go either way, see above).
    CHECK(with_dups.accuracy[i] <= static_cast<double>(bounds.sure_hits[i] + bounds.ties[i]) / kTest);
    CHECK(without.accuracy[i] == doctest::Approx(a.accuracy[i]));  // the same 40 rows as the plain catalogue
    strictly_higher_somewhere |= without.accuracy[i] > with_dups.accuracy[i];
  }
  CHECK(strictly_higher_somewhere);
  CHECK(with_dups.at(1000) == 1.0);

  // A catalogue larger than one slice of scores (16384 columns): every item 500 times. A row
  // then has 500 times as many higher-scoring rows, so top-500k here is top-k of the plain
  // catalogue (up to GEMM rounding, as above); a miscounted slice would break the equality.
  Table big;
  for (int copy = 0; copy < 500; ++copy) big.append(p.catalogue);
  REQUIRE(big.num_rows() == 20000);
  const EvalSet sliced = make_eval_set(m, p.test, big, false);
  const TopKMetrics b = evaluate_factorized_topk(m, sliced, {500, 1000, 2500, 5000, 20000}, 64, pool);
  CHECK(std::abs(b.at(500) - a.at(1)) <= 0.03);
  CHECK(std::abs(b.at(1000) - a.at(2)) <= 0.03);
  CHECK(std::abs(b.at(2500) - a.at(5)) <= 0.03);
  CHECK(std::abs(b.at(5000) - a.at(10)) <= 0.03);
  CHECK(b.at(20000) == 1.0);
}

TEST_CASE("dataset: CSV files load every column the spec's features read") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tt_model_dataset_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string clicks = (dir / "clicks.csv").string(), items = (dir / "items.tsv").string();
  {
    std::ofstream c(clicks);
    c << "user_id,item_id,title,group,unused\n7,100,\"Red fish, blue\",a,x\n8,101,Green dog,b,y\n";
    std::ofstream i(items);
    i << "item_id\ttitle\tgroup\n100\tRed fish, blue\ta\n101\tGreen dog\tb\n102\tThe cat\tc\n";
  }
  nlohmann::json j = nlohmann::json::parse(R"({
    "columns": {"user_id": "int64", "item_id": "int64", "title": "string", "group": "string"},
    "query_tower": {"features": [
      {"column": "user_id", "kind": "string_lookup", "embedding_dim": 4},
      {"column": "group", "kind": "string_lookup", "embedding_dim": 4, "fit_on": "candidates"}],
      "layers": [4]},
    "candidate_tower": {"id_column": "item_id", "features": [
      {"column": "title", "kind": "text", "embedding_dim": 4}], "layers": [4]}
  })");
  const ModelSpec spec = ModelSpec::from_json(j.dump(), "spec");
  const Dataset d = load_delimited_dataset(clicks, items, spec);
  // Interactions: every feature's column (the file carries the candidate tower's, so they are
  // read from it rather than joined) and the id column.
  CHECK(d.interactions.num_rows() == 2);
  CHECK(d.interactions.num_columns() == 4);
  CHECK(d.interactions.column("user_id").ints() == std::vector<int64_t>{7, 8});
  CHECK(d.interactions.column("group").strings() == std::vector<std::string>{"a", "b"});
  CHECK(d.interactions.column("title").strings()[0] == "Red fish, blue");
  CHECK_FALSE(d.interactions.has("unused"));
  // Candidates: the candidate tower's columns, the id column and query features fitted on them.
  CHECK(d.candidates.num_rows() == 3);
  CHECK(d.candidates.num_columns() == 3);
  CHECK(d.candidates.column("item_id").ints() == std::vector<int64_t>{100, 101, 102});
  CHECK_FALSE(d.candidates.has("user_id"));

  // The whole pipeline runs on them.
  TwoTowerModel m(spec);
  m.fit_preprocessing(d.interactions, d.candidates);
  CHECK(m.query().encoders()[1].string_lookup()->vocabulary() == std::vector<std::string>{"a", "b", "c"});
  m.initialize(1);
  TrainOptions opt;
  opt.epochs = 1;
  opt.threads = 1;
  CHECK(train_model(m, d.interactions, d.interactions, d.candidates, opt).final_metrics);

  // A column a feature reads must have a declared type.
  j["columns"].erase("group");
  try {
    (void)load_delimited_dataset(clicks, items, ModelSpec::from_json(j.dump(), "spec"));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("column 'group'") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Beyond the tutorial (issue 16): the most-popular baseline, estimated logQ, mixed negatives,
// validation rows and early stopping.

namespace {

// The most-popular list's accuracy computed plainly: rank catalogue rows by training count
// (stable), a test row is a hit at k if its item's first row is among the first k.
std::vector<double> plain_popular(const Table& train, const Table& test, const Table& catalogue,
                                  const std::vector<size_t>& ks) {
  std::map<std::string, size_t> count;
  for (const std::string& id : train.column("item_id").strings()) ++count[id];
  const auto& cat = catalogue.column("item_id").strings();
  std::vector<size_t> order(cat.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return count[cat[a]] > count[cat[b]]; });
  std::vector<double> acc(ks.size(), 0.0);
  for (const std::string& id : test.column("item_id").strings()) {
    size_t pos = 0;
    while (cat[order[pos]] != id) ++pos;
    for (size_t j = 0; j < ks.size(); ++j) acc[j] += pos < ks[j];
  }
  for (double& a : acc) a /= static_cast<double>(test.num_rows());
  return acc;
}

// The training rows with a column holding each item's share of them (a hand-made logQ column).
Table train_with_share_column() {
  Table t = problem().train;
  std::map<std::string, size_t> count;
  const auto& ids = t.column("item_id").strings();
  for (const std::string& id : ids) ++count[id];
  std::vector<float> share;
  for (const std::string& id : ids) share.push_back(static_cast<float>(static_cast<double>(count[id]) / ids.size()));
  t.add(Column("train_share", share));
  return t;
}

double largest_difference(const Run& a, const Run& b, double* largest) {
  double worst = 0.0;
  *largest = 0.0;
  for (size_t i = 0; i < a.params.size(); ++i) {
    std::vector<float> x(a.params[i].size() / 4), y(x.size());
    std::memcpy(x.data(), a.params[i].data(), a.params[i].size());
    std::memcpy(y.data(), b.params[i].data(), b.params[i].size());
    for (size_t k = 0; k < x.size(); ++k) {
      worst = std::max(worst, static_cast<double>(std::fabs(x[k] - y[k])));
      *largest = std::max(*largest, static_cast<double>(std::fabs(x[k])));
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("popularity: the most-popular list by hand") {
  // Training counts b 3, a 2, c 2, d 0 (a before c: catalogue order).
  Table train, test, catalogue;
  train.add(Column("id", std::vector<std::string>{"b", "c", "a", "b", "a", "c", "b"}));
  catalogue.add(Column("id", std::vector<std::string>{"a", "b", "c", "d", "b"}));
  test.add(Column("id", std::vector<std::string>{"b", "a", "d", "c", "e"}));
  const CandidateCounts counts = count_candidates(train, "id");
  CHECK(counts.total == 7);
  CHECK(counts.of("b") == 3);
  CHECK(counts.of("d") == 0);
  // The list, duplicates competing as FactorizedTopK counts them: b, b (the second b row), a, c,
  // d. Positions of the test rows: b 0, a 2, d 4, c 3, and e (unknown, count 0) after every row
  // counted 0 or more: 5.
  const std::vector<double> acc = most_popular_accuracy(counts, test, catalogue, "id", false, {1, 2, 3, 4, 5, 6});
  CHECK(acc == std::vector<double>{0.2, 0.2, 0.4, 0.6, 0.8, 1.0});
  // Distinct candidates drop the second b row: b 0, a 1, c 2, d 3, e 4.
  const std::vector<double> distinct = most_popular_accuracy(counts, test, catalogue, "id", true, {1, 3, 4, 5});
  CHECK(distinct == std::vector<double>{0.2, 0.6, 0.8, 1.0});
  TopKMetrics m;
  m.k = {1, 5};
  m.accuracy = {0.3, 0.5};
  m.baseline = {0.2, 0.5};
  CHECK(m.not_beating_baseline() == std::vector<size_t>{5});
}

TEST_CASE("training: every evaluation carries the most-popular baseline") {
  const Run r = train(base_spec(), 1);
  REQUIRE(r.result.final_metrics);
  const std::vector<double> want = plain_popular(problem().train, problem().test, problem().catalogue, {1, 5, 10, 40});
  CHECK(r.result.final_metrics->baseline == want);
  CHECK(r.result.candidate_counts.total == kTrain);
  // The synthetic users each like one cluster: the model beats the one list for everybody.
  INFO("model top-5 " << r.result.final_metrics->at(5) << ", most popular " << want[1]);
  CHECK(r.result.final_metrics->at(5) > want[1]);
  CHECK(want[1] < 0.5);  // a baseline that is not trivially perfect
}

TEST_CASE("training: sampling_probability counts is the hand-made share column, without the column") {
  nlohmann::json by_hand = base_spec(), estimated = base_spec();
  by_hand["task"] = {{"sampling_probability_column", "train_share"}};
  estimated["task"] = {{"sampling_probability", "counts"}};
  const Table rows = train_with_share_column();
  auto run = [&](const nlohmann::json& spec) {
    TwoTowerModel m = make_model(spec);
    TrainOptions opt;
    opt.threads = 1;
    opt.epochs = 2;
    Run r;
    r.result = train_model(m, rows, problem().test, problem().catalogue, opt);
    r.params = param_bytes(m);
    return r;
  };
  const Run a = run(by_hand), b = run(estimated), plain = train(base_spec(), 1, [](TrainOptions&o) { o.epochs = 2; });
  for (size_t e = 0; e < a.result.history.size(); ++e)
    CHECK(b.result.history[e].mean_loss == doctest::Approx(a.result.history[e].mean_loss).epsilon(1e-5));
  double largest = 0.0;
  const double worst = largest_difference(a, b, &largest);
  INFO("largest parameter " << largest << ", largest difference " << worst);
  CHECK(worst < 1e-4 * largest);
  CHECK(b.params != plain.params);  // the correction is applied
  // The estimate is what the model file keeps: each item's share of the training rows.
  REQUIRE(b.result.sampling_probability.size() == kItems);
  const auto& ids = rows.column("item_id").strings();
  const auto& share = rows.column("train_share").floats();
  for (size_t r = 0; r < 50; ++r) CHECK(b.result.sampling_probability.at(ids[r]) == doctest::Approx(share[r]));
}

TEST_CASE("streaming frequency: the estimate follows occurrences per batch, buckets collide") {
  StreamingFrequency f(1024, 0.05f);
  // Item 0 three times in every batch, item 1 once every 4th batch, item 2 once every batch.
  for (uint64_t step = 1; step <= 400; ++step) {
    std::vector<int32_t> codes = {0, 2, 0, 0};
    if (step % 4 == 0) codes.push_back(1);
    f.observe(step, codes);
  }
  CHECK(f.per_batch(1) == doctest::Approx(0.25).epsilon(0.01));
  CHECK(f.per_batch(2) == doctest::Approx(1.0).epsilon(0.01));
  CHECK(f.per_batch(0) > 2.0);  // three a batch: the gaps 1, 0, 0 average towards 1/3
  CHECK(f.per_batch(0) < 4.0);
  CHECK(f.per_batch(7) == 0.0f);  // never seen
  // One bucket: every candidate shares it, so each is overestimated as the sum of all.
  StreamingFrequency one(1, 0.05f);
  for (uint64_t step = 1; step <= 400; ++step) one.observe(step, std::vector<int32_t>{5, 6});
  CHECK(one.per_batch(5) == one.per_batch(6));
  CHECK(one.per_batch(5) > 1.5);
}

TEST_CASE("training: the streaming estimate trains close to exact counts") {
  nlohmann::json counts = base_spec(), streaming = base_spec();
  counts["task"] = {{"sampling_probability", "counts"}};
  streaming["task"] = {{"sampling_probability", "streaming"}, {"streaming_alpha", 0.01}, {"streaming_buckets", 4096}};
  const Run a = train(counts, 1), b = train(streaming, 1);
  CHECK(all_finite(b));
  CHECK(a.params != b.params);
  REQUIRE(b.result.final_metrics);
  CHECK(b.result.final_metrics->at(5) > 3 * chance(5));
  // 40 items in batches of 64 over 160 steps: each estimate within 35% of the exact share.
  REQUIRE(b.result.sampling_probability.size() == kItems);
  for (const auto& [key, p] : a.result.sampling_probability) {
    CAPTURE(key);
    CHECK(b.result.sampling_probability.at(key) == doctest::Approx(p).epsilon(0.35));
  }
}

TEST_CASE("training: mixed negatives add uniform catalogue candidates") {
  for (const char* correction : {"none", "counts"}) {
    CAPTURE(std::string(correction));
    nlohmann::json j = base_spec();
    j["task"] = {{"sampling_probability", correction}, {"uniform_negatives", 16}, {"remove_accidental_hits", true}};
    nlohmann::json without = j;
    without["task"].erase("uniform_negatives");
    const Run mixed = train(j, 2), plain = train(without, 2);
    CHECK(all_finite(mixed));
    CHECK(mixed.params != plain.params);
    REQUIRE(mixed.result.final_metrics);
    CHECK(mixed.result.final_metrics->at(5) > 3 * chance(5));
    // Grouped and one-column-per-example forms agree with the extra columns too.
    const Run full = train(j, 2, [](TrainOptions& o) { o.group_repeated_candidates = false; });
    for (size_t e = 0; e < full.result.history.size(); ++e)
      CHECK(mixed.result.history[e].mean_loss == doctest::Approx(full.result.history[e].mean_loss).epsilon(1e-5));
  }
}

TEST_CASE("training: validation rows, early stopping restores the best evaluation's weights") {
  nlohmann::json j = base_spec();
  // A learning rate that overfits 60 users quickly, evaluated every epoch.
  j["training"]["optimizer"]["learning_rate"] = 0.5;
  j["training"]["epochs"] = 30;
  j["training"]["eval_every"] = 1;
  j["training"]["patience"] = 2;
  j["training"]["early_stopping_k"] = 1;
  j["data"] = {{"validation_rows", 400}};  // early stopping needs validation rows (the split is made here)
  Split split = shuffle_split(problem().interactions, kTrain, kTest, 7);
  split_validation(split, 400);
  CHECK(split.train.num_rows() == kTrain - 400);
  CHECK(split.validation.num_rows() == 400);
  CHECK(split.test.column("user_id").strings() == problem().test.column("user_id").strings());
  TwoTowerModel m = make_model(j);
  TrainOptions opt;
  opt.threads = 1;
  const TrainResult r = train_model(m, split.train, split.validation, split.test, problem().catalogue, opt);
  REQUIRE(r.best_epoch >= 1);
  INFO("best epoch " << r.best_epoch << " of " << r.history.size());
  // Stopping happens exactly `patience` evaluations after the best, unless epochs ran out.
  if (r.stopped_early) CHECK(r.history.size() == r.best_epoch + 2);
  double best = -1.0;
  for (const EpochRecord& e : r.history) {
    REQUIRE(e.validation_metrics);
    REQUIRE(e.metrics);
    CHECK(e.validation_metrics->examples == 400);
    CHECK(e.validation_metrics->baseline.size() == 4);
    best = std::max(best, e.validation_metrics->at(1));
  }
  CHECK(r.history[r.best_epoch - 1].validation_metrics->at(1) == best);
  // The model holds the best epoch's weights: evaluating it again gives that epoch's test numbers.
  REQUIRE(r.final_metrics);
  CHECK(r.final_metrics->accuracy == r.history[r.best_epoch - 1].metrics->accuracy);
  ThreadPool pool(1);
  const EvalSet set = make_eval_set(m, split.test, problem().catalogue, false);
  CHECK(evaluate_factorized_topk(m, set, {1, 5, 10, 40}, 128, pool).accuracy == r.final_metrics->accuracy);
  // The history names the validation numbers and the epoch kept.
  const nlohmann::json h = nlohmann::json::parse(history_json(r));
  CHECK(h.at("best_epoch") == r.best_epoch);
  CHECK(h.at("history")[0].at("validation").contains("factorized_top_k/top_1_categorical_accuracy"));
  CHECK(h.at("most_popular").contains("validation"));
  CHECK(history_csv(r).find(",val_top_1,") != std::string::npos);
}
