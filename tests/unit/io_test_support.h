// Small synthetic retrieval models for the model-file tests: a spec with every kind of feature,
// interactions and a catalogue, trained for an epoch, with an index and metadata. Free of
// doctest, so that tests/fuzz/make_fuzz_corpus.cpp builds its seeds from the same models.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "base/random.h"
#include "model/retrieval_model.h"
#include "model/trainer.h"
#include "nn/optimizer.h"

#include "engine_test_helpers.h"
#include "test_support.h"

namespace tt::iotest {

inline std::string spec_json(const std::string& optimizer = "adagrad", size_t top_layer = 8) {
  return R"({
    "name": "io-test",
    "columns": {"user_id": "string", "timestamp": "int64", "movie_title": "string"},
    "query_tower": {
      "features": [
        {"name": "user_id", "column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "user_hash", "column": "user_id", "kind": "hashing", "num_buckets": 16, "embedding_dim": 4},
        {"name": "timestamp_bucket", "column": "timestamp", "kind": "discretization", "num_boundaries": 10,
         "embedding_dim": 4},
        {"name": "timestamp_normalized", "column": "timestamp", "kind": "normalization"}
      ],
      "layers": [16, )" +
         std::to_string(top_layer) + R"(]
    },
    "candidate_tower": {
      "id_column": "movie_title",
      "features": [
        {"name": "title_id", "column": "movie_title", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "title_text", "column": "movie_title", "kind": "text", "max_tokens": 50, "embedding_dim": 4}
      ],
      "layers": [)" +
         std::to_string(top_layer) + R"(]
    },
    "task": {"temperature": 1.0},
    "training": {"optimizer": {"kind": ")" +
         optimizer + R"(", "learning_rate": 0.05}, "batch_size": 32,
                 "epochs": 1, "seed": 7},
    "evaluation": {"k": [1, 5]}
  })";
}

inline const char* const kWords[] = {"red", "blue", "green", "fish", "cat", "dog", "the", "night", "day", "star"};

// The catalogue: `n` titles of two or three words plus a year.
inline Table catalogue(size_t n = 30) {
  Rng rng(11);
  Column::Strings titles;
  for (size_t i = 0; i < n; ++i) {
    std::string t = kWords[rng.below(10)];
    t += std::string(" ") + kWords[rng.below(10)];
    if (i % 3 == 0) t += std::string(" ") + kWords[rng.below(10)];
    t += std::string(" (") + std::to_string(1980 + i) + ")";
    titles.push_back(t);
  }
  Table c;
  c.add(Column("movie_title", std::move(titles)));
  return c;
}

inline Table interactions(const Table& cat, size_t n = 240, uint64_t seed = 5) {
  Rng rng(seed);
  Column::Strings users, titles;
  Column::Ints ts;
  const auto& all = cat.column("movie_title").strings();
  for (size_t i = 0; i < n; ++i) {
    users.push_back(std::string("u") + std::to_string(rng.below(20)));
    titles.push_back(all[rng.below(all.size())]);
    ts.push_back(static_cast<int64_t>(880000000 + rng.below(1000000)));
  }
  Table t;
  t.add(Column("user_id", std::move(users)));
  t.add(Column("timestamp", std::move(ts)));
  t.add(Column("movie_title", std::move(titles)));
  return t;
}

// Queries including ids never seen in training (out of vocabulary).
inline Table queries() {
  Table t;
  t.add(Column("user_id", Column::Strings{"u0", "u3", "u19", "stranger", ""}));
  t.add(Column("timestamp", Column::Ints{880000000, 880500000, 881000000, 0, 999999999}));
  return t;
}

struct ModelOptions {
  std::string optimizer = "adagrad";
  bool train = true;
  bool optimizer_state = true;
  size_t top_layer = 8;
  // Adds a sum-pooled multi_value_lookup feature to the candidate tower: the title's words.
  bool multi_value = false;
};

inline RetrievalModel make_model(const ModelOptions& o = {}) {
  const Table cat = catalogue();
  const Table inter = interactions(cat);
  std::string spec = spec_json(o.optimizer, o.top_layer);
  if (o.multi_value) {
    const std::string text = R"("kind": "text", "max_tokens": 50, "embedding_dim": 4})";
    spec.replace(spec.find(text), text.size(),
                 text + R"(, {"name": "title_words", "column": "movie_title", "kind": "multi_value_lookup",
                              "separator": " ", "pooling": "sum", "embedding_dim": 4})");
  }
  RetrievalModel rm{TwoTowerModel(ModelSpec::from_json(spec, "test spec"))};
  TwoTowerModel& m = rm.model();
  m.fit_preprocessing(inter, cat);
  m.initialize(3);
  if (o.train) {
    TrainOptions t;
    t.epochs = 1;
    t.threads = 1;
    train_model(m, inter, Table(), cat, t);
  }
  if (o.optimizer_state) {
    // Optimizer state as a checkpoint would hold it: one step with zero gradients creates every
    // slot without changing the weights.
    auto opt = make_optimizer(m.spec().training.optimizer);
    auto params = m.parameters();
    for (Parameter* p : params) p->grad.zero();
    optimizer_step(*opt, params);
    ByteWriter w;
    opt->save_state(w);
    rm.optimizer_state() = w.take();
  }
  ThreadPool pool(1);
  rm.build_index(cat, pool);
  TrainingMetadata& meta = rm.metadata();
  meta.library_version = "0.1.0";
  meta.data_source = "synthetic";
  meta.data_fingerprint = table_fingerprint(inter);
  meta.seed = 0xFFFFFFFFFFFFFFF1ull;
  meta.epochs = 1;
  meta.metrics = {{"factorized_top_k/top_1_categorical_accuracy", 0.125},
                  {"factorized_top_k/top_5_categorical_accuracy", 1.0 / 3.0}};
  meta.train_seconds = 0.1 + 0.2;
  meta.created_unix = 1700000000;
  return rm;
}

inline bool same_bits(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The ErrorKind and message `f` throws (kind 0 when it returns normally).
struct Thrown {
  int kind = 0;
  std::string message;
};
template <class F>
Thrown thrown(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {static_cast<int>(e.kind()), e.what()};
  }
  return {};
}
inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
using test::kCorrupt;
using test::kInvalid;
using test::kIo;
using test::kUnsupported;

}  // namespace tt::iotest
