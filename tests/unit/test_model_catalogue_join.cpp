// Interactions joined to the catalogue: the candidate tower reads the catalogue row with the
// interaction's id. Join semantics (int64 and string ids, missing ids counted, duplicate
// catalogue ids and type mismatches refused), the file loader's messages naming file and line
// and its option to leave unknown ids out, and the join in fitting, training and evaluation.
#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "data/catalogue_join.h"
#include "data_test_helpers.h"
#include "model/candidate_inputs.h"
#include "model/dataset.h"
#include "model/evaluation.h"
#include "model/trainer.h"
#include "model_test_support.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;
using tt::test::TempDir;

namespace {

std::string row_name(size_t r) { return "row " + std::to_string(r); }

Table ids_table(const std::string& name, std::vector<int64_t> ids) {
  Table t;
  t.add(Column(name, std::move(ids)));
  return t;
}

Table string_ids_table(const std::string& name, std::vector<std::string> ids) {
  Table t;
  t.add(Column(name, std::move(ids)));
  return t;
}

ModelSpec join_spec(bool title_fitted_on_interactions = false, const nlohmann::json& task = nullptr) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "columns": {"user_id": "int64", "item_id": "int64", "title": "string"},
    "query_tower": {"features": [{"column": "user_id", "kind": "string_lookup", "embedding_dim": 4}], "layers": [4]},
    "candidate_tower": {"id_column": "item_id", "features": [
      {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 4},
      {"name": "title", "column": "title", "kind": "text", "embedding_dim": 4}], "layers": [4]},
    "training": {"batch_size": 4, "epochs": 1, "eval_batch_size": 8},
    "data": {"train_rows": 0, "test_rows": 2}
  })");
  if (title_fitted_on_interactions) j["candidate_tower"]["features"][1]["fit_on"] = "interactions";
  if (!task.is_null()) j["task"] = task;
  return ModelSpec::from_json(j.dump(), "spec");
}

}  // namespace

TEST_CASE("catalogue join: int64 and string ids find their catalogue rows; missing ids are counted") {
  const Table catalogue = ids_table("item", {30, 10, 20});
  const CatalogueJoin j = join_catalogue(ids_table("item", {10, 20, 99, 30, 10, 98}), catalogue, "item", row_name);
  CHECK(j.catalogue_row ==
        std::vector<uint32_t>{1, 2, CatalogueJoin::kNoCatalogueRow, 0, 1, CatalogueJoin::kNoCatalogueRow});
  CHECK(j.missing == 2);
  CHECK(j.first_missing == 2);

  const CatalogueJoin s =
      join_catalogue(string_ids_table("item", {"b", "a", "b"}), string_ids_table("item", {"a", "b"}), "item", row_name);
  CHECK(s.catalogue_row == std::vector<uint32_t>{1, 0, 1});
  CHECK(s.missing == 0);
  CHECK(s.first_missing == SIZE_MAX);
}

TEST_CASE("catalogue join: duplicate catalogue ids, mismatched or float id types and absent columns are errors") {
  Error e = expect_error([] {
    (void)join_catalogue(ids_table("item", {1}), ids_table("item", {5, 7, 5}), "item", row_name);
  });
  CHECK(e.kind() == ErrorKind::invalid_argument);
  check_message_has(e, {"row 2: candidate id 5", "first at row 0", "unique"});
  e = expect_error([] {
    (void)join_catalogue(ids_table("item", {1}), string_ids_table("item", {"x", "y", "x"}), "item", row_name);
  });
  check_message_has(e, {"int64 in the interactions but string in the catalogue"});
  e = expect_error([] {
    (void)join_catalogue(string_ids_table("item", {"a"}), string_ids_table("item", {"x", "y", "x"}), "item", row_name);
  });
  check_message_has(e, {"row 2: candidate id 'x'", "first at row 0"});
  e = expect_error([] {
    Table t;
    t.add(Column("item", std::vector<float>{1.0f}));
    (void)join_catalogue(t, t, "item", row_name);
  });
  check_message_has(e, {"'item' must be string or int64"});
  e = expect_error([] { (void)join_catalogue(ids_table("other", {1}), ids_table("item", {1}), "item", row_name); });
  check_message_has(e, {"interactions have no candidate id column 'item'"});
}

TEST_CASE("catalogue join: the file loader names the file and line of an unknown id, or leaves such rows out") {
  TempDir dir;
  // A quoted field spanning two lines: the reported line is the file's, not the row's number.
  const std::string clicks =
      dir.write("clicks.csv", "user_id,item_id,note\n1,10,\"two\nlines\"\n2,20,x\n3,77,x\n4,10,x\n5,78,x\n");
  const std::string items = dir.write("items.csv", "item_id,title\n10,Red fish\n20,Blue dog\n30,Green cat\n");
  const ModelSpec spec = join_spec();
  Error e = expect_error([&] { (void)load_delimited_dataset(clicks, items, spec); });
  CHECK(e.kind() == ErrorKind::parse);
  check_message_has(e, {clicks + ":5: candidate id 77", "column 'item_id'", "not in the catalogue " + items,
                        "2 interactions", "--skip-unknown-candidates"});

  LoadOptions skip;
  skip.skip_unknown_candidates = true;
  const Dataset d = load_delimited_dataset(clicks, items, spec, skip);
  CHECK(d.skipped_unknown_candidates == 2);
  CHECK(d.interactions.column("user_id").ints() == std::vector<int64_t>{1, 2, 4});
  // The interactions carry the id and the query columns only; titles stay in the catalogue.
  CHECK(d.interactions.num_columns() == 2);
  CHECK_FALSE(d.interactions.has("title"));
  CHECK(d.candidates.column("title").strings()[1] == "Blue dog");

  const std::string dup = dir.write("dup.csv", "item_id,title\n10,Red fish\n20,Blue dog\n\n10,Red fish again\n");
  e = expect_error([&] { (void)load_delimited_dataset(clicks, dup, spec, skip); });
  check_message_has(e, {dup + ":5: candidate id 10", "first at " + dup + ":2", "unique"});
}

TEST_CASE("catalogue join: fitting, training and evaluation read the candidate tower from the catalogue") {
  Table catalogue;
  catalogue.add(Column("item_id", std::vector<int64_t>{10, 20, 30}));
  catalogue.add(Column("title", std::vector<std::string>{"red fish", "blue dog", "green cat cat"}));
  const std::vector<int64_t> items = {10, 20, 10, 30, 10, 20, 10, 10};
  const std::vector<size_t> rows = {0, 1, 0, 2, 0, 1, 0, 0};
  Table joined;
  joined.add(Column("user_id", std::vector<int64_t>{1, 2, 3, 1, 2, 3, 1, 2}));
  joined.add(Column("item_id", items));
  joined.add(Column("prob", std::vector<float>{0.5f, 0.25f, 0.5f, 0.125f, 0.5f, 0.25f, 0.5f, 0.5f}));
  Table denormalised = joined;
  denormalised.add(catalogue.column("title").take(rows));

  const std::vector<nlohmann::json> tasks = {
      nullptr, {{"remove_accidental_hits", true}}, {{"sampling_probability_column", "prob"}}};
  for (size_t variant = 0; variant < 2 * tasks.size(); ++variant) {
    const bool on_interactions = variant % 2;
    const nlohmann::json& task = tasks[variant / 2];
    CAPTURE(on_interactions);
    CAPTURE(task.dump());
    const ModelSpec spec = join_spec(on_interactions, task);
    CHECK(reads_catalogue(spec, joined));
    CHECK_FALSE(reads_catalogue(spec, denormalised));
    TwoTowerModel a(spec), b(spec);
    a.fit_preprocessing(joined, catalogue);
    b.fit_preprocessing(denormalised, catalogue);
    CHECK(a.describe() == b.describe());
    a.initialize(3);
    b.initialize(3);
    TrainOptions opt;
    opt.threads = 1;
    opt.epochs = 3;
    const TrainResult ra = train_model(a, joined, joined, catalogue, opt);
    const TrainResult rb = train_model(b, denormalised, denormalised, catalogue, opt);
    CHECK(ra.history.back().mean_loss == rb.history.back().mean_loss);
    REQUIRE(ra.final_metrics);
    CHECK(ra.final_metrics->accuracy == rb.final_metrics->accuracy);
    tt::test::check_same_weights(a, b);
  }

  // An id the catalogue lacks, reaching training through tables (no file lines): the row and id.
  Table unknown = joined;
  unknown.column("item_id").ints()[5] = 44;
  TwoTowerModel fitted_on_interactions(join_spec(true));
  Error e = expect_error([&] { fitted_on_interactions.fit_preprocessing(unknown, catalogue); });
  check_message_has(e, {"interactions row 5: candidate id 44"});
  TwoTowerModel m(join_spec());
  m.fit_preprocessing(joined, catalogue);
  m.initialize(1);
  e = expect_error([&] { (void)train_model(m, unknown, joined, catalogue, TrainOptions{}); });
  CHECK(e.kind() == ErrorKind::invalid_argument);
  check_message_has(e, {"interactions row 5: candidate id 44", "not in the catalogue"});
  e = expect_error([&] { (void)make_eval_set(m, unknown, catalogue, false); });
  check_message_has(e, {"interactions row 5: candidate id 44"});
}
