// Seeds of fuzz_spec: the specs in the repository (samples/, tests/data), the unit tests'
// spec, one that sets every field of every section and uses every feature kind (with given vocabularies and boundaries,
// unicode names, type aliases), the smallest valid spec, the same specs as to_json writes
// them, and specs with one mistake each.
#include <string>

#include "../unit/io_test_support.h"
#include "model/spec.h"
#include "seeds.h"

namespace tt::fuzz {

namespace {

const char* const kEveryField = R"({
  "name": "every-field \u00e9\u65e5",
  "columns": {"user": "str", "age": "int", "score": "float", "item": "string", "title": "string",
              "w": "float32", "p": "float32", "\u00fcber": "int64"},
  "query_tower": {
    "features": [
      {"name": "user_vocab", "column": "user", "kind": "string_lookup", "embedding_dim": 4,
       "vocabulary": ["alice", "bob", "caf\u00e9", "\ud83c\udfac", ""]},
      {"name": "user_hash", "column": "user", "kind": "hashing", "num_buckets": 2147483648, "embedding_dim": 2},
      {"name": "age_given", "column": "age", "kind": "discretization", "boundaries": [-1.5, 0, 18, 65, 1e300],
       "embedding_dim": 3},
      {"name": "age_fitted", "column": "\u00fcber", "kind": "discretization", "num_boundaries": 7,
       "embedding_dim": 3, "fit_on": "candidates"},
      {"name": "score_norm", "column": "score", "kind": "normalization", "fit_on": "interactions"}
    ],
    "layers": [16, 8]
  },
  "candidate_tower": {
    "id_column": "item",
    "features": [
      {"column": "item", "kind": "string_lookup", "embedding_dim": 8},
      {"name": "title_text", "column": "title", "kind": "text", "max_tokens": 2, "embedding_dim": 4096},
      {"name": "tags", "column": "title", "kind": "multi_value_lookup", "embedding_dim": 2, "separator": " ",
       "pooling": "sum", "vocabulary": ["a", "\u00e9t\u00e9", "c d"]}
    ],
    "layers": [65536, 8]
  },
  "task": {"temperature": 0.05, "remove_accidental_hits": true, "num_hard_negatives": 65536,
           "sample_weight_column": "w", "sampling_probability_column": "p"},
  "training": {"optimizer": {"kind": "sgd", "learning_rate": 1e-3, "initial_accumulator": 0.0,
                             "epsilon": 1e-8, "beta1": 0.8, "beta2": 0.99, "momentum": 0.9},
               "batch_size": 1, "epochs": 1000000, "eval_every": 1000000, "eval_batch_size": 3,
               "seed": 0},
  "data": {"train_rows": 0, "test_rows": 0, "split_seed": 18446744073709551615, "max_unknown_candidates": 1},
  "evaluation": {"k": [100, 1, 1], "distinct_candidates": true}
})";

const char* const kSmallest = R"({"query_tower": {"features": [{"column": "u", "kind": "hashing",
 "num_buckets": 1, "embedding_dim": 1}], "layers": [1]}, "candidate_tower": {"id_column": "i",
 "features": [{"column": "i", "kind": "normalization"}], "layers": [1]}})";

}  // namespace

void write_spec_seeds(SeedDir& out) {
  out.copy_from_source("samples/movielens/deep-32.json");
  out.copy_from_source("samples/movielens/deep-64-32.json");
  out.copy_from_source("samples/movielens/deep-128-64-32.json");
  out.copy_from_source("samples/movielens/recommended.json");  // multi_value_lookup, data.history
  out.copy_from_source("tests/data/model-v1/spec.json");
  out.write("io_test_adagrad.json", iotest::spec_json("adagrad", 8));
  out.write("io_test_adam.json", iotest::spec_json("adam", 4));
  out.write("every_field.json", std::string(kEveryField));
  out.write("smallest.json", std::string(kSmallest));
  // As to_json writes them: every default spelt out.
  out.write("every_field.to_json.json", ModelSpec::from_json(kEveryField, "every field").to_json());
  out.write("smallest.to_json.json", ModelSpec::from_json(kSmallest, "smallest").to_json());
  // One mistake each.
  out.write("bad_syntax.json", std::string(R"({"name": "x", "query_tower": {"features": [}})"));
  out.write("bad_misspelt_key.json", std::string(kSmallest).replace(2, 11, "query_tover"));
  out.write("bad_duplicate_key.json", std::string(R"({"name": "a", "name": "b", )") + (kSmallest + 1));
  out.write("bad_number_overflow.json",
            std::string(kSmallest).replace(std::string(kSmallest).find("\"num_buckets\": 1"), 16,
                                           "\"num_buckets\": 1e99999"));
  out.write("bad_layers_differ.json", std::string(kSmallest).replace(std::string(kSmallest).rfind("[1]"), 3, "[2]"));
}

}  // namespace tt::fuzz
