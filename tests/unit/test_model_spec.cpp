// The JSON model spec: the MovieLens samples parse as declared, to_json round-trips, and every
// kind of mistake is rejected with ErrorKind::parse and a message naming the source and the
// field path (a misspelt option must never be silently ignored).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "model/spec.h"

using namespace tt;

namespace {

const std::string kSamples = std::string(TT_SOURCE_DIR) + "/samples/movielens/";

// A small valid spec that each error case breaks in one place.
nlohmann::json base_spec() {
  return nlohmann::json::parse(R"({
    "name": "tiny",
    "columns": {"user_id": "string", "ts": "int64", "item": "string"},
    "query_tower": {
      "features": [
        {"name": "user", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "ts_norm", "column": "ts", "kind": "normalization"}
      ],
      "layers": [16, 8]
    },
    "candidate_tower": {
      "id_column": "item",
      "features": [
        {"name": "item_id", "column": "item", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "item_text", "column": "item", "kind": "text", "embedding_dim": 8, "max_tokens": 100}
      ],
      "layers": [8]
    },
    "task": {"temperature": 1.0},
    "training": {"optimizer": {"kind": "adagrad", "learning_rate": 0.1}, "batch_size": 64, "epochs": 3},
    "evaluation": {"k": [1, 5]}
  })");
}

// Parses `text` expecting a parse error; returns its message.
std::string parse_error(const std::string& text) {
  try {
    (void)ModelSpec::from_json(text, "spec.json");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::parse);
    return e.what();
  }
  FAIL("no error for: " << text);
  return "";
}

// Expects the modified spec to fail with a message that starts with the source name and
// contains every one of `parts` (the field path, the offending value...).
void check_error(const nlohmann::json& j, const std::vector<std::string>& parts) {
  const std::string msg = parse_error(j.dump());
  INFO(msg);
  CHECK(msg.rfind("spec.json: ", 0) == 0);
  for (const auto& p : parts) {
    CAPTURE(p);
    CHECK(msg.find(p) != std::string::npos);
  }
}

void check_sample(const std::string& file, const std::string& name, const std::vector<size_t>& layers) {
  CAPTURE(file);
  const ModelSpec s = ModelSpec::from_file(kSamples + file);
  CHECK(s.name == name);
  CHECK(s.query.layers == layers);
  CHECK(s.candidate.layers == layers);
  REQUIRE(s.columns.size() == 3);
  CHECK(s.columns.at("user_id") == DType::string);
  CHECK(s.columns.at("timestamp") == DType::int64);
  CHECK(s.columns.at("movie_title") == DType::string);

  REQUIRE(s.query.features.size() == 3);
  const FeatureSpec& user = s.query.features[0];
  CHECK(user.name == "user_id");
  CHECK(user.column == "user_id");
  CHECK(user.kind == FeatureKind::string_lookup);
  CHECK(user.embedding_dim == 32);
  CHECK(user.fit_on == FitOn::interactions);
  CHECK(user.vocabulary.empty());
  const FeatureSpec& bucket = s.query.features[1];
  CHECK(bucket.name == "timestamp_bucket");
  CHECK(bucket.column == "timestamp");
  CHECK(bucket.kind == FeatureKind::discretization);
  CHECK(bucket.num_boundaries == 1000);
  CHECK(bucket.boundaries.empty());
  CHECK(bucket.embedding_dim == 32);
  CHECK(bucket.fit_on == FitOn::interactions);
  const FeatureSpec& norm = s.query.features[2];
  CHECK(norm.name == "timestamp_normalized");
  CHECK(norm.column == "timestamp");
  CHECK(norm.kind == FeatureKind::normalization);
  CHECK(norm.embedding_dim == 0);

  CHECK(s.candidate_id_column == "movie_title");
  REQUIRE(s.candidate.features.size() == 2);
  const FeatureSpec& title = s.candidate.features[0];
  CHECK(title.name == "title_id");
  CHECK(title.column == "movie_title");
  CHECK(title.kind == FeatureKind::string_lookup);
  CHECK(title.embedding_dim == 32);
  CHECK(title.fit_on == FitOn::candidates);  // the candidate tower's default
  const FeatureSpec& text = s.candidate.features[1];
  CHECK(text.name == "title_text");
  CHECK(text.column == "movie_title");
  CHECK(text.kind == FeatureKind::text);
  CHECK(text.max_tokens == 10000);
  CHECK(text.embedding_dim == 32);
  CHECK(text.fit_on == FitOn::candidates);

  CHECK(s.task.loss.temperature == 1.0f);
  CHECK_FALSE(s.task.loss.remove_accidental_hits);
  CHECK(s.task.loss.num_hard_negatives == 0);
  CHECK(s.task.sample_weight_column.empty());
  CHECK(s.task.sampling_probability_column.empty());
  CHECK(s.training.optimizer.kind == "adagrad");
  CHECK(s.training.optimizer.learning_rate == 0.1f);
  CHECK(s.training.optimizer.initial_accumulator == 0.1f);
  CHECK(s.training.optimizer.epsilon == 1e-7f);
  CHECK(s.training.batch_size == 2048);
  CHECK(s.training.epochs == 300);
  CHECK(s.training.eval_every == 5);
  CHECK(s.training.eval_batch_size == 4096);
  CHECK(s.training.seed == 42);
  CHECK(s.data.train_rows == 80000);
  CHECK(s.data.test_rows == 20000);
  CHECK(s.data.split_seed == 42);
  CHECK(s.eval.k == std::vector<size_t>{1, 5, 10, 50, 100});
  CHECK_FALSE(s.eval.distinct_candidates);

  // Round trip: what to_json writes parses back to the same spec.
  const std::string once = s.to_json();
  CHECK(ModelSpec::from_json(once, "round trip").to_json() == once);
}

}  // namespace

TEST_CASE("model spec: the MovieLens sample specs parse as declared") {
  check_sample("deep-32.json", "movielens-deep-32", {32});
  check_sample("deep-64-32.json", "movielens-deep-64-32", {64, 32});
  check_sample("deep-128-64-32.json", "movielens-deep-128-64-32", {128, 64, 32});
}

TEST_CASE("model spec: defaults of omitted sections and fields") {
  nlohmann::json j = base_spec();
  j.erase("task");
  j.erase("training");
  j.erase("evaluation");
  j.erase("columns");
  j.erase("name");
  j["query_tower"]["features"][0].erase("name");
  const ModelSpec s = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(s.name == "model");
  CHECK(s.columns.empty());
  CHECK(s.query.features[0].name == "user_id");  // the name defaults to the column
  CHECK(s.query.features[0].fit_on == FitOn::interactions);
  CHECK(s.candidate.features[0].fit_on == FitOn::candidates);
  CHECK(s.task.loss.temperature == 1.0f);
  CHECK_FALSE(s.task.loss.remove_accidental_hits);
  CHECK(s.task.loss.num_hard_negatives == 0);
  CHECK(s.training.optimizer.kind == "adagrad");
  CHECK(s.training.optimizer.learning_rate == 0.1f);
  CHECK(s.training.batch_size == 2048);
  CHECK(s.training.epochs == 300);
  CHECK(s.training.eval_every == 5);
  CHECK(s.training.seed == 42);
  CHECK(s.data.train_rows == 80000);
  CHECK(s.data.test_rows == 20000);
  CHECK(s.eval.k == std::vector<size_t>{1, 5, 10, 50, 100});
  CHECK_FALSE(s.eval.distinct_candidates);

  // Adam and SGD default to learning rate 0.001; Adagrad to 0.1.
  j["training"] = {{"optimizer", {{"kind", "adam"}}}};
  CHECK(ModelSpec::from_json(j.dump(), "spec.json").training.optimizer.learning_rate == 0.001f);
  j["training"] = {{"optimizer", {{"kind", "sgd"}, {"momentum", 0.9}}}};
  const ModelSpec sgd = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(sgd.training.optimizer.learning_rate == 0.001f);
  CHECK(sgd.training.optimizer.momentum == 0.9f);
  // Null counts as absent.
  j["task"] = nullptr;
  CHECK(ModelSpec::from_json(j.dump(), "spec.json").task.loss.temperature == 1.0f);
}

TEST_CASE("model spec: every field round-trips through to_json") {
  nlohmann::json j = base_spec();
  j["query_tower"]["features"].push_back({{"name", "ts_bucket"},
                                          {"column", "ts"},
                                          {"kind", "discretization"},
                                          {"embedding_dim", 4},
                                          {"boundaries", {1.5, 2.25, 1e9}}});
  j["query_tower"]["features"].push_back({{"name", "ts_fitted"},
                                          {"column", "ts"},
                                          {"kind", "discretization"},
                                          {"embedding_dim", 4},
                                          {"num_boundaries", 17},
                                          {"fit_on", "candidates"}});
  j["query_tower"]["features"].push_back(
      {{"name", "user_hash"}, {"column", "user_id"}, {"kind", "hashing"}, {"embedding_dim", 4}, {"num_buckets", 97}});
  j["candidate_tower"]["features"].push_back({{"name", "item_given"},
                                              {"column", "item"},
                                              {"kind", "string_lookup"},
                                              {"embedding_dim", 4},
                                              {"vocabulary", {"b", "a", "c"}},
                                              {"fit_on", "interactions"}});
  j["task"] = {{"temperature", 0.05},
               {"remove_accidental_hits", true},
               {"num_hard_negatives", 7},
               {"sample_weight_column", "w"},
               {"sampling_probability_column", "p"}};
  j["training"] = {{"optimizer",
                    {{"kind", "adam"},
                     {"learning_rate", 0.003},
                     {"initial_accumulator", 0.2},
                     {"epsilon", 1e-6},
                     {"beta1", 0.8},
                     {"beta2", 0.99},
                     {"momentum", 0.5}}},
                   {"batch_size", 128},
                   {"epochs", 7},
                   {"eval_every", 0},
                   {"eval_batch_size", 99},
                   {"seed", 12345678901234ull}};
  j["data"] = {{"train_rows", 0}, {"test_rows", 10}, {"split_seed", 3}};
  j["evaluation"] = {{"k", {3, 1, 40}}, {"distinct_candidates", true}};

  const ModelSpec s = ModelSpec::from_json(j.dump(), "spec.json");
  REQUIRE(s.query.features.size() == 5);
  CHECK(s.query.features[2].boundaries == std::vector<double>{1.5, 2.25, 1e9});
  CHECK(s.query.features[3].num_boundaries == 17);
  CHECK(s.query.features[3].fit_on == FitOn::candidates);
  CHECK(s.query.features[4].kind == FeatureKind::hashing);
  CHECK(s.query.features[4].num_buckets == 97);
  CHECK(s.candidate.features[1].max_tokens == 100);
  CHECK(s.candidate.features[2].vocabulary == std::vector<std::string>{"b", "a", "c"});
  CHECK(s.candidate.features[2].fit_on == FitOn::interactions);
  CHECK(s.task.loss.temperature == 0.05f);
  CHECK(s.task.loss.remove_accidental_hits);
  CHECK(s.task.loss.num_hard_negatives == 7);
  CHECK(s.task.sample_weight_column == "w");
  CHECK(s.task.sampling_probability_column == "p");
  CHECK(s.training.optimizer.kind == "adam");
  CHECK(s.training.optimizer.learning_rate == 0.003f);
  CHECK(s.training.optimizer.beta1 == 0.8f);
  CHECK(s.training.optimizer.beta2 == 0.99f);
  CHECK(s.training.optimizer.epsilon == 1e-6f);
  CHECK(s.training.eval_every == 0);
  CHECK(s.training.seed == 12345678901234ull);
  CHECK(s.data.train_rows == 0);
  CHECK(s.eval.k == std::vector<size_t>{3, 1, 40});
  CHECK(s.eval.distinct_candidates);

  const std::string once = s.to_json();
  const ModelSpec back = ModelSpec::from_json(once, "round trip");
  CHECK(back.to_json() == once);
  CHECK(back.query.features[2].boundaries == s.query.features[2].boundaries);
  CHECK(back.task.loss.temperature == s.task.loss.temperature);
  CHECK(back.training.optimizer.learning_rate == s.training.optimizer.learning_rate);
}

TEST_CASE("model spec: invalid JSON names the source and the byte offset") {
  const std::string msg = parse_error("{\"name\": \"x\",\n  \"query_tower\": }");
  INFO(msg);
  CHECK(msg.rfind("spec.json: invalid JSON at byte ", 0) == 0);
  CHECK(msg.find("at byte 32") != std::string::npos);  // the offending '}' is the 32nd byte
  CHECK(msg.find("line 2, column 18") != std::string::npos);
  CHECK(parse_error("").find("spec.json: invalid JSON at byte") == 0);
  CHECK(parse_error("[1, 2]").find("spec.json: expected an object") == 0);
}

TEST_CASE("model spec: a duplicated key is refused, naming the key and its path") {
  // nlohmann::json alone keeps the last value: "epochs": 300 would have trained 1 epoch.
  std::string text = base_spec().dump();
  text.replace(text.find("\"epochs\":3"), 10, "\"epochs\":300,\"epochs\":1");
  std::string msg = parse_error(text);
  CHECK(msg.find("spec.json: training: duplicated key 'epochs'") != std::string::npos);
  text = base_spec().dump();
  text.replace(text.find("\"embedding_dim\":8"), 17, "\"embedding_dim\":8,\"embedding_dim\":4");
  msg = parse_error(text);
  CHECK(msg.find("spec.json: candidate_tower.features[0]: duplicated key 'embedding_dim'") != std::string::npos);
  msg = parse_error(R"({"name": "a", "name": "b"})");
  CHECK(msg.find("spec.json: duplicated key 'name'") != std::string::npos);
  msg = parse_error(R"({"columns": {"x": "string", "y": "int64", "x": "int64"}})");
  CHECK(msg.find("spec.json: columns: duplicated key 'x'") != std::string::npos);
  msg = parse_error(R"({"evaluation": {"k": [1, [2, {"a": 1, "a\n": 2, "a": 3}]]}})");
  CHECK(msg.find("spec.json: evaluation.k[1][1]: duplicated key 'a'") != std::string::npos);
  // The same key in sibling objects is fine.
  CHECK_NOTHROW(ModelSpec::from_json(base_spec().dump(), "spec.json"));
}

TEST_CASE("model spec: unknown and misspelt fields are rejected") {
  nlohmann::json j = base_spec();
  j["epochs"] = 3;
  check_error(j, {"unknown field 'epochs'"});

  // A typo of a required field: reported at the missing field, pointing at the misspelling.
  j = base_spec();
  j["query_tower"]["features"][0].erase("embedding_dim");
  j["query_tower"]["features"][0]["embeding_dim"] = 8;
  check_error(j, {"query_tower.features[0].embedding_dim: missing required field", "'embeding_dim'"});

  // A typo of an optional field: reported as unknown, with the likely intended name.
  j = base_spec();
  j["candidate_tower"]["features"][1]["max_token"] = 50;
  check_error(j, {"candidate_tower.features[1]: unknown field 'max_token'", "did you mean 'max_tokens'"});
  j = base_spec();
  j["training"]["optimizer"]["learnig_rate"] = 0.5;
  check_error(j, {"training.optimizer: unknown field 'learnig_rate'", "did you mean 'learning_rate'"});
  j = base_spec();
  j["task"]["temprature"] = 0.5;
  check_error(j, {"task: unknown field 'temprature'", "did you mean 'temperature'"});
  j = base_spec();
  j["evaluation"]["distinct"] = true;
  check_error(j, {"evaluation: unknown field 'distinct'"});
  j = base_spec();
  j["data"] = {{"train_row", 10}};
  check_error(j, {"data: unknown field 'train_row'", "did you mean 'train_rows'"});
  j = base_spec();
  j["candidate_tower"]["id_colum"] = "item";
  check_error(j, {"candidate_tower: unknown field 'id_colum'"});

  // A field of another kind is unknown for this one.
  j = base_spec();
  j["query_tower"]["features"][0]["num_buckets"] = 10;
  check_error(j, {"query_tower.features[0]: unknown field 'num_buckets'"});
  // Normalization has no embedding.
  j = base_spec();
  j["query_tower"]["features"][1]["embedding_dim"] = 8;
  check_error(j, {"query_tower.features[1].embedding_dim", "normalization"});
}

TEST_CASE("model spec: wrong types name the field") {
  nlohmann::json j = base_spec();
  j["query_tower"]["layers"] = "32";
  check_error(j, {"query_tower.layers: expected an array", "\"32\""});
  j = base_spec();
  j["query_tower"]["layers"] = {16, -8};
  check_error(j, {"query_tower.layers[1]: expected a non-negative integer", "-8"});
  j = base_spec();
  j["query_tower"]["layers"] = {16, 8.5};
  check_error(j, {"query_tower.layers[1]: expected a non-negative integer"});
  j = base_spec();
  j["query_tower"]["features"][0]["embedding_dim"] = "8";
  check_error(j, {"query_tower.features[0].embedding_dim: expected a non-negative integer"});
  j = base_spec();
  j["name"] = 5;
  check_error(j, {"name: expected a string"});
  j = base_spec();
  j["task"]["remove_accidental_hits"] = 1;
  check_error(j, {"task.remove_accidental_hits: expected true or false"});
  j = base_spec();
  j["task"]["temperature"] = "0.1";
  check_error(j, {"task.temperature: expected a number"});
  j = base_spec();
  j["task"]["num_hard_negatives"] = 1e3;
  check_error(j, {"task.num_hard_negatives: expected a 32-bit integer"});
  j = base_spec();
  j["task"]["num_hard_negatives"] = 5000000000ll;
  check_error(j, {"task.num_hard_negatives: expected a 32-bit integer"});
  j = base_spec();
  j["evaluation"]["k"] = {1, -5};
  check_error(j, {"evaluation.k[1]: expected a non-negative integer"});
  j = base_spec();
  j["candidate_tower"]["features"][0]["vocabulary"] = {"a", 3};
  check_error(j, {"candidate_tower.features[0].vocabulary[1]: expected a string"});
  j = base_spec();
  j["columns"]["ts"] = "date";
  check_error(j, {"columns.ts", "unknown column type 'date'"});
  j = base_spec();
  j["columns"]["ts"] = 64;
  check_error(j, {"columns.ts: expected a type name"});
  j = base_spec();
  j["query_tower"]["features"] = nlohmann::json::array();
  check_error(j, {"query_tower.features: expected a non-empty array"});
  j = base_spec();
  j["query_tower"]["features"][1] = "ts";
  check_error(j, {"query_tower.features[1]: expected an object"});
  j = base_spec();
  j["query_tower"]["features"][0]["fit_on"] = "test";
  check_error(j, {"query_tower.features[0].fit_on: expected 'interactions' or 'candidates'"});
}

TEST_CASE("model spec: missing and out-of-range values") {
  nlohmann::json j = base_spec();
  j["query_tower"]["features"][0]["kind"] = "embedding";
  check_error(j, {"query_tower.features[0].kind: unknown kind 'embedding'", "string_lookup"});
  j = base_spec();
  j["candidate_tower"]["features"][0].erase("column");
  check_error(j, {"candidate_tower.features[0].column: missing required field"});
  j = base_spec();
  j["query_tower"]["features"][0].erase("kind");
  check_error(j, {"query_tower.features[0].kind: missing required field"});
  j = base_spec();
  j["candidate_tower"]["features"][1].erase("embedding_dim");
  check_error(j, {"candidate_tower.features[1].embedding_dim: missing required field"});
  j = base_spec();
  j["query_tower"]["features"][0]["embedding_dim"] = 0;
  check_error(j, {"query_tower.features[0].embedding_dim: must be in 1..4096"});
  j = base_spec();
  j["candidate_tower"].erase("id_column");
  check_error(j, {"candidate_tower.id_column: missing required field"});
  j = base_spec();
  j.erase("query_tower");
  check_error(j, {"query_tower: missing required field"});
  j = base_spec();
  j["query_tower"]["features"][0]["kind"] = "hashing";
  check_error(j, {"query_tower.features[0].num_buckets: missing required field"});
  j["query_tower"]["features"][0]["num_buckets"] = 0;
  check_error(j, {"query_tower.features[0].num_buckets: must be in 1..2^31"});
  j = base_spec();
  j["query_tower"]["features"][0]["kind"] = "discretization";
  j["query_tower"]["features"][0]["num_boundaries"] = 0;
  check_error(j, {"query_tower.features[0].num_boundaries: must be in 1..10000000"});
  j = base_spec();
  j["candidate_tower"]["features"][1]["max_tokens"] = 1;
  check_error(j, {"candidate_tower.features[1].max_tokens: must be in 2..10000000"});

  j = base_spec();
  j["query_tower"]["layers"] = {16, 0, 8};
  check_error(j, {"query_tower.layers: layer sizes must be in 1..65536"});
  j = base_spec();
  j["candidate_tower"]["layers"] = nlohmann::json::array();
  check_error(j, {"candidate_tower.layers: needs at least one layer"});
  j = base_spec();
  j["candidate_tower"]["layers"] = {16};
  check_error(j, {"candidate_tower.layers: the last layers of the two towers must have the same size",
                  "query 8, candidate 16"});
  j = base_spec();
  j["candidate_tower"]["features"][1]["name"] = "user";
  check_error(j, {"candidate_tower.features[1].name: feature name 'user' is already used by query_tower.features[0]"});
  j = base_spec();
  j["query_tower"]["features"][1]["name"] = "user";
  check_error(j, {"query_tower.features[1].name: feature name 'user'"});

  j = base_spec();
  j["training"]["optimizer"]["kind"] = "rmsprop";
  check_error(j, {"training.optimizer.kind: unknown optimizer 'rmsprop'", "adagrad, adam or sgd"});
  for (double lr : {0.0, -0.1}) {
    j = base_spec();
    j["training"]["optimizer"]["learning_rate"] = lr;
    check_error(j, {"training.optimizer.learning_rate: must be a positive finite number"});
  }
  for (double t : {0.0, -1.0}) {
    j = base_spec();
    j["task"]["temperature"] = t;
    check_error(j, {"task.temperature: must be a positive finite number"});
  }
  j = base_spec();
  j["task"]["num_hard_negatives"] = -1;
  check_error(j, {"task.num_hard_negatives: must be in 0..65536"});
  j = base_spec();
  j["evaluation"]["k"] = {1, 0, 5};
  check_error(j, {"evaluation.k: k must be positive"});
  j = base_spec();
  j["evaluation"]["k"] = nlohmann::json::array();
  check_error(j, {"evaluation.k: needs at least one k"});
  j = base_spec();
  j["training"]["batch_size"] = 0;
  check_error(j, {"training.batch_size: must be in 1..1048576"});
  j = base_spec();
  j["training"]["eval_batch_size"] = 0;
  check_error(j, {"training.eval_batch_size: must be in 1..1048576"});
  j = base_spec();
  j["training"]["epochs"] = 0;
  check_error(j, {"training.epochs: must be in 1..1000000"});

  // Upper bounds: a value beyond them would wrap, exhaust memory or run for years.
  j = base_spec();
  j["training"]["epochs"] = 1000001;
  check_error(j, {"training.epochs: must be in 1..1000000"});
  j = base_spec();
  j["training"]["epochs"] = 18446744073709551615ull;
  check_error(j, {"training.epochs: must be in 1..1000000"});
  j = base_spec();
  j["training"]["eval_every"] = 2000000;
  check_error(j, {"training.eval_every: must be in 0..1000000"});
  j = base_spec();
  j["training"]["batch_size"] = 1 << 21;
  check_error(j, {"training.batch_size: must be in 1..1048576"});
  j = base_spec();
  j["task"]["num_hard_negatives"] = 100000;
  check_error(j, {"task.num_hard_negatives: must be in 0..65536"});
  j = base_spec();
  j["evaluation"]["k"] = nlohmann::json::array();
  for (int k = 1; k <= 17; ++k) j["evaluation"]["k"].push_back(k);
  check_error(j, {"evaluation.k: at most 16 k values (TT_MAX_K), got 17"});
  j = base_spec();
  j["evaluation"]["k"] = {1, 1ull << 31};
  check_error(j, {"evaluation.k: k must be positive and at most 2147483647"});
  for (const char* field : {"beta1", "beta2", "momentum"})
    for (double v : {-0.1, 1.0, 2.0}) {
      j = base_spec();
      j["training"]["optimizer"][field] = v;
      check_error(j, {std::string("training.optimizer.") + field + ": must be in [0, 1)"});
    }
  j = base_spec();
  j["training"]["optimizer"]["epsilon"] = 0.0;
  check_error(j, {"training.optimizer.epsilon: must be a positive finite number"});
  j = base_spec();
  j["training"]["optimizer"]["initial_accumulator"] = -1.0;
  check_error(j, {"training.optimizer.initial_accumulator: must be a finite number >= 0"});
  j = base_spec();
  j["task"]["temperature"] = 1e39;  // infinite as a float32
  check_error(j, {"task.temperature: must be a positive finite number"});
}

TEST_CASE("model spec: from_file errors") {
  const std::string missing = kSamples + "no-such-spec.json";
  try {
    (void)ModelSpec::from_file(missing);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::io);
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
  // A parse error from a file names the file.
  try {
    (void)ModelSpec::from_file(std::string(TT_SOURCE_DIR) + "/CMakeLists.txt");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::parse);
    CHECK(std::string(e.what()).find("CMakeLists.txt: invalid JSON at byte") != std::string::npos);
  }
}

TEST_CASE("spec: a number too large for a double is a parse error, not a crash") {
  try {
    tt::ModelSpec::from_json("{\"name\": 1e99999}", "big.json");
    FAIL("expected an error");
  } catch (const tt::Error& e) {
    CHECK(e.kind() == tt::ErrorKind::parse);
    CHECK(std::string(e.what()).find("big.json") != std::string::npos);
  }
}

TEST_CASE("model spec: the recipe options (estimated logQ, mixed negatives, validation, early stopping)") {
  nlohmann::json j = base_spec();
  const ModelSpec plain = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(plain.task.sampling_estimate == SamplingEstimate::none);
  CHECK(plain.task.uniform_negatives == 0);
  CHECK(plain.data.validation_rows == 0);
  CHECK(plain.training.patience == 0);
  // Options left at their defaults are not written (older readers reject unknown fields).
  const std::string text = plain.to_json();
  for (const char* key : {"sampling_probability\"", "uniform_negatives", "validation_rows", "patience", "refit"})
    CHECK(text.find(key) == std::string::npos);

  j["task"] = {{"sampling_probability", "streaming"},
               {"streaming_buckets", 4096},
               {"streaming_alpha", 0.05},
               {"uniform_negatives", 32}};
  j["training"]["patience"] = 3;
  j["training"]["early_stopping_k"] = 5;
  j["training"]["refit_after_validation"] = true;
  j["data"] = {{"validation_rows", 1000}};
  const ModelSpec s = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(s.training.refit_after_validation);
  CHECK(s.task.sampling_estimate == SamplingEstimate::streaming);
  CHECK(s.task.streaming_buckets == 4096);
  CHECK(s.task.streaming_alpha == 0.05f);
  CHECK(s.task.uniform_negatives == 32);
  CHECK(s.training.patience == 3);
  CHECK(s.training.early_stopping_k == 5);
  CHECK(s.data.validation_rows == 1000);
  const ModelSpec again = ModelSpec::from_json(s.to_json(), "round trip");
  CHECK(again.to_json() == s.to_json());
  CHECK(again.task.sampling_estimate == SamplingEstimate::streaming);
  CHECK(again.data.validation_rows == 1000);
  CHECK(again.training.early_stopping_k == 5);
  CHECK(again.training.refit_after_validation);

  nlohmann::json bad = j;
  bad["task"]["sampling_probability"] = "popularity";
  check_error(bad, {"task.sampling_probability: unknown estimate 'popularity'", "counts"});
  bad = j;
  bad["task"]["sampling_probability_column"] = "p";
  check_error(bad, {"task.sampling_probability: give either"});
  bad = j;
  bad["task"]["streaming_alpha"] = 0.0;
  check_error(bad, {"task.streaming_alpha: must be in (0, 1]"});
  bad = j;
  bad["task"]["streaming_buckets"] = 0;
  check_error(bad, {"task.streaming_buckets: must be in 1..2^30"});
  bad = j;
  bad["data"].erase("validation_rows");
  check_error(bad, {"training.patience: early stopping needs data.validation_rows"});
  bad = j;
  bad["training"]["early_stopping_k"] = 10;
  check_error(bad, {"training.early_stopping_k: 10 is not one of evaluation.k"});
  bad = j;
  bad["training"].erase("patience");
  check_error(bad, {"training.refit_after_validation: refitting needs the epoch chosen by early stopping"});
}

TEST_CASE("model spec: multi_value_lookup features (separator, pooling, vocabulary)") {
  nlohmann::json j = base_spec();
  j["columns"]["genres"] = "string";
  j["candidate_tower"]["features"].push_back(
      {{"name", "genres"}, {"column", "genres"}, {"kind", "multi_value_lookup"}, {"embedding_dim", 4}});
  ModelSpec s = ModelSpec::from_json(j.dump(), "spec.json");
  const FeatureSpec& f = s.candidate.features.back();
  CHECK(f.kind == FeatureKind::multi_value_lookup);
  CHECK(f.separator == '|');
  CHECK(f.pooling == Pooling::mean);
  CHECK(f.vocabulary.empty());
  CHECK(f.fit_on == FitOn::candidates);

  j["candidate_tower"]["features"][2]["separator"] = ",";
  j["candidate_tower"]["features"][2]["pooling"] = "sum";
  j["candidate_tower"]["features"][2]["vocabulary"] = {"Drama", "Action"};
  s = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(s.candidate.features.back().separator == ',');
  CHECK(s.candidate.features.back().pooling == Pooling::sum);
  CHECK(s.candidate.features.back().vocabulary == std::vector<std::string>{"Drama", "Action"});
  // Round trip.
  const ModelSpec back = ModelSpec::from_json(s.to_json(), "round trip");
  CHECK(back.to_json() == s.to_json());
  CHECK(back.candidate.features.back().separator == ',');
  CHECK(back.candidate.features.back().pooling == Pooling::sum);

  nlohmann::json bad = j;
  bad["candidate_tower"]["features"][2]["separator"] = "||";
  check_error(bad, {"candidate_tower.features[2].separator: must be one character"});
  bad["candidate_tower"]["features"][2]["separator"] = "";
  check_error(bad, {"candidate_tower.features[2].separator: must be one character"});
  bad = j;
  bad["candidate_tower"]["features"][2]["pooling"] = "max";
  check_error(bad, {"candidate_tower.features[2].pooling: expected 'mean' or 'sum', got 'max'"});
  bad = j;
  bad["candidate_tower"]["features"][2]["max_tokens"] = 10;
  check_error(bad, {"candidate_tower.features[2]", "unknown field 'max_tokens'"});
  // The options belong to this kind only.
  bad = base_spec();
  bad["candidate_tower"]["features"][0]["pooling"] = "sum";
  check_error(bad, {"candidate_tower.features[0]", "unknown field 'pooling'"});
}

TEST_CASE("model spec: training.optimizer.weight_decay") {
  nlohmann::json j = base_spec();
  CHECK(ModelSpec::from_json(j.dump(), "spec.json").training.optimizer.weight_decay == 0.0f);
  // Not written when zero, so such specs stay readable by readers that predate the field.
  CHECK(ModelSpec::from_json(j.dump(), "spec.json").to_json().find("weight_decay") == std::string::npos);
  j["training"]["optimizer"]["weight_decay"] = 0.001;
  const ModelSpec s = ModelSpec::from_json(j.dump(), "spec.json");
  CHECK(s.training.optimizer.weight_decay == 0.001f);
  CHECK(ModelSpec::from_json(s.to_json(), "round trip").training.optimizer.weight_decay == 0.001f);
  j["training"]["optimizer"]["weight_decay"] = -0.5;
  check_error(j, {"training.optimizer.weight_decay: must be a finite number >= 0"});
}

TEST_CASE("model spec: a given vocabulary with a repeated entry is refused, naming the feature's field") {
  // Found by fuzz_spec: the spec parsed, and building the feature failed later without a path.
  nlohmann::json j = base_spec();
  j["candidate_tower"]["features"][0]["vocabulary"] = {"a", "b", "a"};
  const std::string msg = parse_error(j.dump());
  CAPTURE(msg);
  CHECK(msg.find("spec.json: candidate_tower.features[0].vocabulary: duplicate entry 'a' at positions 0 and 2") !=
        std::string::npos);
  j["candidate_tower"]["features"][0]["vocabulary"] = {"a", "b"};
  CHECK_NOTHROW(ModelSpec::from_json(j.dump(), "spec.json"));
}

TEST_CASE("model spec: given boundaries out of order are refused, naming the feature's field") {
  // Found by fuzz_spec: the spec parsed, and fitting the feature failed later without a path.
  nlohmann::json j = base_spec();
  j["query_tower"]["features"][1] = nlohmann::json::parse(
      R"({"name": "ts_bucket", "column": "ts", "kind": "discretization", "embedding_dim": 4,
          "boundaries": [1930, 1940, 9995, 1960]})");
  const std::string msg = parse_error(j.dump());
  CAPTURE(msg);
  CHECK(msg.find("spec.json: query_tower.features[1].boundaries: not sorted ascending: boundary 3 (1960) is below "
                 "boundary 2 (9995)") != std::string::npos);
  j["query_tower"]["features"][1]["boundaries"] = {1930, 1940, 1940, 9995};  // repeats are allowed
  CHECK_NOTHROW(ModelSpec::from_json(j.dump(), "spec.json"));
}
