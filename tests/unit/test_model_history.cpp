// data.history (watch history as a query feature): the history column is built after the split
// from the rows the run trains on only. These tests fail on leakage: every row's item is unique,
// so an item in a history names the one row it came from.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/random.h"
#include "data/history.h"
#include "data_test_helpers.h"
#include "model/fit.h"

using namespace tt;

namespace {

// 40 users, 1,300 rows (1,000 train of which 200 validation, 300 test), each row its own item,
// timestamps 0..99 (many ties).
Dataset unique_items() {
  Rng rng(5);
  Dataset d;
  std::vector<std::string> user, item;
  Column::Ints time;
  for (size_t r = 0; r < 1300; ++r) {
    user.push_back("user" + std::to_string(rng.below(40)));
    item.push_back("item" + std::to_string(r));
    time.push_back(static_cast<int64_t>(rng.below(100)));
  }
  d.interactions.add(Column("user_id", user));
  d.interactions.add(Column("item_id", item));
  d.interactions.add(Column("timestamp", std::move(time)));
  d.candidates.add(Column("item_id", item));
  d.source = "history test";
  return d;
}

nlohmann::json history_json(bool refit) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "query_tower": {"features": [
        {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "history", "column": "watched", "kind": "multi_value_lookup", "embedding_dim": 8}], "layers": [8]},
    "candidate_tower": {"id_column": "item_id", "features": [
        {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8}], "layers": [8]},
    "training": {"batch_size": 128, "epochs": 4, "eval_every": 1, "seed": 3, "patience": 1,
                 "early_stopping_k": 10},
    "data": {"train_rows": 1000, "test_rows": 300, "validation_rows": 200, "split_seed": 4,
             "history": {"column": "watched", "user_column": "user_id", "time_column": "timestamp",
                         "max_items": 20}},
    "evaluation": {"k": [1, 10]}
  })");
  j["training"]["refit_after_validation"] = refit;
  return j;
}

ModelSpec history_spec(bool refit) { return ModelSpec::from_json(history_json(refit).dump(), "history spec"); }

std::set<std::string> items_of(const Table& t) {
  if (t.num_rows() == 0) return {};
  const auto& v = t.column("item_id").strings();
  return {v.begin(), v.end()};
}

// Every item named in the history column of `t`.
std::set<std::string> history_items(const Table& t) {
  std::set<std::string> out;
  if (t.num_rows() == 0) return out;
  for (const std::string& cell : t.column("watched").strings()) {
    std::stringstream in(cell);
    for (std::string item; std::getline(in, item, '|');) out.insert(item);
  }
  return out;
}

void check_subset(const std::set<std::string>& part, const std::set<std::string>& whole) {
  for (const std::string& s : part) {
    INFO("item " << s);
    CHECK(whole.count(s) == 1);
  }
}

void check_disjoint(const std::set<std::string>& a, const std::set<std::string>& b) {
  for (const std::string& s : a) {
    INFO("item " << s);
    CHECK(b.count(s) == 0);
  }
}

}  // namespace

TEST_CASE("history: no held-out row's item enters a history, and no row is in its own") {
  const Dataset d = unique_items();
  for (bool refit : {false, true}) {
    CAPTURE(refit);
    const ModelSpec spec = history_spec(refit);
    const Split split = split_for_spec(d.interactions, spec.data);
    const std::set<std::string> test = items_of(split.test), validation = items_of(split.validation);
    // The first run (the selection run of a refit): histories from the 800 training rows only.
    const RunTables first = run_tables(spec, split, false);
    REQUIRE(first.train.num_rows() == 800);
    REQUIRE(first.validation.num_rows() == 200);
    REQUIRE(first.test.num_rows() == 300);
    std::set<std::string> seen;
    for (const Table* t : {&first.train, &first.validation, &first.test}) {
      const std::set<std::string> h = history_items(*t);
      seen.insert(h.begin(), h.end());
      check_subset(h, items_of(split.train));
    }
    CHECK(seen.size() > 400);  // histories are not empty: the test tests something
    check_disjoint(seen, test);
    check_disjoint(seen, validation);
    // The refit: histories from training + validation rows, never from test rows.
    const RunTables second = run_tables(spec, split, true);
    REQUIRE(second.train.num_rows() == 1000);
    CHECK(second.validation.num_rows() == 0);
    check_disjoint(history_items(second.train), test);
    check_disjoint(history_items(second.test), test);
    CHECK(!history_items(second.test).empty());
    // A row's own item is never in its own history (ties and the row itself are not "before").
    for (const Table* t : {&first.train, &second.train}) {
      const auto& items = t->column("item_id").strings();
      const auto& cells = t->column("watched").strings();
      for (size_t r = 0; r < t->num_rows(); ++r) {
        const std::string cell = "|" + cells[r] + "|";
        CHECK(cell.find("|" + items[r] + "|") == std::string::npos);
      }
    }
    // The test rows the final model meets: those of the refit, or of the only run.
    const Table final_test = final_test_rows(spec, split);
    CHECK(final_test.column("watched").strings() == (refit ? second.test : first.test).column("watched").strings());
  }
}

TEST_CASE("history: training fits the feature on histories of the final model's training rows only") {
  const Dataset d = unique_items();
  TrainOptions o;
  o.threads = 1;
  for (bool refit : {false, true}) {
    CAPTURE(refit);
    const ModelSpec spec = history_spec(refit);
    const Split split = split_for_spec(d.interactions, spec.data);
    const FitResult fit = fit_retrieval_model(spec, d, o);
    REQUIRE(fit.training.final_metrics);
    const MultiValueLookup* lookup = nullptr;
    for (const auto& e : fit.model->model().query().encoders())
      if (e.multi_value_lookup()) lookup = e.multi_value_lookup();
    REQUIRE(lookup);
    const std::set<std::string> vocabulary(lookup->vocabulary().begin(), lookup->vocabulary().end());
    CHECK(vocabulary.size() > 400);
    check_disjoint(vocabulary, items_of(split.test));
    // Without the refit the final model never trained on the validation rows: not theirs either.
    if (!refit) check_disjoint(vocabulary, items_of(split.validation));
  }
}

TEST_CASE("history: the spec checks the feature that reads it and round-trips") {
  const ModelSpec spec = history_spec(true);
  CHECK(spec.data.history.item_column == "item_id");
  CHECK(spec.data.history.max_items == 20);
  const ModelSpec again = ModelSpec::from_json(spec.to_json(), "again");
  CHECK(again.data.history.column == "watched");
  CHECK(again.data.history.time_column == "timestamp");
  CHECK(again.data.history.max_items == 20);

  nlohmann::json j = history_json(false);
  j["query_tower"]["features"][1]["kind"] = "string_lookup";
  j["query_tower"]["features"][1].erase("pooling");
  test::check_message_has(test::expect_error([&] { ModelSpec::from_json(j.dump(), "s"); }),
                          {"data.history.column", "must be a multi_value_lookup"});
  j = history_json(false);
  j["data"]["history"]["column"] = "elsewhere";
  test::check_message_has(test::expect_error([&] { ModelSpec::from_json(j.dump(), "s"); }),
                          {"no query_tower feature reads 'elsewhere'"});
  j = history_json(false);
  j["data"]["history"].erase("time_column");
  test::check_message_has(test::expect_error([&] { ModelSpec::from_json(j.dump(), "s"); }),
                          {"data.history.time_column", "missing required field"});
}

TEST_CASE("history: a column missing from the interactions is an error naming the data.history field") {
  const Dataset d = unique_items();
  for (const char* field : {"user_column", "time_column"}) {
    CAPTURE(field);
    nlohmann::json j = history_json(false);
    j["data"]["history"][field] = "nope";
    const ModelSpec spec = ModelSpec::from_json(j.dump(), "s");
    const Split split = split_for_spec(d.interactions, spec.data);
    const Error e = test::expect_error([&] { run_tables(spec, split, false); });
    CHECK(e.kind() == ErrorKind::invalid_argument);
    test::check_message_has(e, {std::string("data.history.") + field, "no column 'nope'", "user_id"});
  }
}

TEST_CASE("history: a non-finite float32 time is an error naming the column and row, not a wrong history") {
  // A NaN among the known times would break their sort: a row at time 5 could get the item
  // of time 7 in its history.
  Table known;
  known.add(Column("user_id", Column::Strings{"u", "u", "u"}));
  known.add(Column("item_id", Column::Strings{"a", "b", "c"}));
  known.add(Column("t", Column::Floats{7.0f, std::nanf(""), 2.0f}));
  Table rows;
  rows.add(Column("user_id", Column::Strings{"u"}));
  rows.add(Column("t", Column::Floats{5.0f}));
  const HistoryOptions o{"watched", "user_id", "item_id", "t", 0, '|'};
  const Error e = test::expect_error([&] { history_column(known, rows, o); });
  CHECK(e.kind() == ErrorKind::invalid_argument);
  test::check_message_has(e, {"'t'", "non-finite", "row 2", "data.history.time_column"});
  known = Table();
  known.add(Column("user_id", Column::Strings{"u", "u"}));
  known.add(Column("item_id", Column::Strings{"a", "c"}));
  known.add(Column("t", Column::Floats{7.0f, 2.0f}));
  CHECK(history_column(known, rows, o).strings()[0] == "c");
}
