// Streaming training from a columnar file (issue 17): the held-out rows chosen per row number,
// the row stream's windows (every training row once per epoch, never more than the buffer
// resident), preprocessing fitted chunk by chunk equal to the in-memory fit, and the streamed
// model bit for bit the in-memory one when the shuffle buffer holds every training row.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "data/columnar.h"
#include "data_test_helpers.h"
#include "model/columnar_stream.h"
#include "model/dataset.h"
#include "model/popularity.h"
#include "model/rank_share.h"
#include "model/step_exchange.h"
#include "model/stream_memory.h"
#include "model/streamed_fit.h"
#include "model_test_support.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::check_same_weights;
using tt::test::expect_error;
using tt::test::TempDir;

namespace {

constexpr size_t kRows = 3000, kItems = 120, kUsers = 150;

Table stream_catalogue() {
  static const char* words[] = {"red", "blue", "fish", "dog", "cat", "green", "night", "day", "sea", "sky"};
  std::vector<int64_t> ids;
  std::vector<std::string> titles, genres;
  for (size_t i = 0; i < kItems; ++i) {
    ids.push_back(static_cast<int64_t>(1000 + i));
    titles.push_back(std::string(words[i % 10]) + " " + words[(i / 10) % 10] + " " + std::to_string(1950 + i % 50));
    // A multi-valued column: none, one or two values.
    genres.push_back(i % 7 == 0 ? ""
                     : i % 2    ? std::string(words[i % 5])
                                : std::string(words[i % 3]) + "|" + words[5 + i % 4]);
  }
  Table t;
  t.add(Column("item_id", std::move(ids)));
  t.add(Column("title", std::move(titles)));
  t.add(Column("genres", std::move(genres)));
  return t;
}

// Interactions with ids only (joined) or with the title too (own columns); row_number lets a
// test follow rows through the stream.
Table stream_interactions(bool with_titles) {
  Rng rng(7, 1);
  std::vector<int64_t> users, items, times, numbers;
  for (size_t r = 0; r < kRows; ++r) {
    users.push_back(static_cast<int64_t>(rng.below(kUsers)));
    // Popular items first: the minimum of two draws.
    items.push_back(static_cast<int64_t>(1000 + std::min(rng.below(kItems), rng.below(kItems))));
    times.push_back(static_cast<int64_t>(880'000'000 + rng.below(5'000'000)));
    numbers.push_back(static_cast<int64_t>(r));
  }
  Table t;
  t.add(Column("user_id", std::move(users)));
  t.add(Column("item_id", items));
  t.add(Column("timestamp", std::move(times)));
  t.add(Column("row_number", std::move(numbers)));
  if (with_titles) {
    const Table catalogue = stream_catalogue();
    std::vector<size_t> rows;
    for (int64_t id : items) rows.push_back(static_cast<size_t>(id - 1000));
    t.add(catalogue.column("title").take(rows));
    t.add(catalogue.column("genres").take(rows));
  }
  return t;
}

ModelSpec stream_spec(const nlohmann::json& task = nullptr, size_t validation_rows = 0) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "columns": {"user_id": "int64", "item_id": "int64", "timestamp": "int64", "title": "string", "genres": "string"},
    "query_tower": {"features": [
        {"column": "user_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "time_bucket", "column": "timestamp", "kind": "discretization", "num_boundaries": 20, "embedding_dim": 4},
        {"name": "time", "column": "timestamp", "kind": "normalization"}], "layers": [16, 8]},
    "candidate_tower": {"id_column": "item_id", "features": [
        {"name": "item", "column": "item_id", "kind": "string_lookup", "embedding_dim": 8},
        {"name": "title", "column": "title", "kind": "text", "max_tokens": 12, "embedding_dim": 4},
        {"name": "genres", "column": "genres", "kind": "multi_value_lookup", "embedding_dim": 4,
         "fit_on": "interactions"}], "layers": [16, 8]},
    "training": {"batch_size": 128, "epochs": 2, "eval_every": 1, "eval_batch_size": 256, "seed": 5},
    "data": {"train_rows": 0, "test_rows": 200, "split_seed": 11},
    "evaluation": {"k": [1, 10, 50]}
  })");
  if (!task.is_null()) j["task"] = task;
  if (validation_rows) j["data"]["validation_rows"] = validation_rows;
  return ModelSpec::from_json(j.dump(), "stream spec");
}

std::string write_file(const TempDir& dir, const Table& t, uint32_t block_rows,
                       const std::string& name = "clicks.ttc") {
  const std::string path = dir.path() + "/" + name;
  write_columnar(path, t, ColumnarWriteOptions{block_rows});
  return path;
}

std::vector<size_t> as_sizes(const std::vector<uint64_t>& v) { return std::vector<size_t>(v.begin(), v.end()); }

}  // namespace

TEST_CASE("streaming: held-out rows are chosen per row number, exactly as many as asked, seeded") {
  DataSpec d;
  d.train_rows = 0;
  d.test_rows = 100;
  d.validation_rows = 30;
  d.split_seed = 3;
  const HeldOutRows a = select_held_out(1000, d), b = select_held_out(1000, d);
  CHECK(a.test == b.test);
  CHECK(a.validation == b.validation);
  CHECK(a.test.size() == 100);
  CHECK(a.validation.size() == 30);
  CHECK(a.train_rows == 870);
  CHECK(std::is_sorted(a.test.begin(), a.test.end()));
  std::set<uint64_t> all(a.test.begin(), a.test.end());
  all.insert(a.validation.begin(), a.validation.end());
  CHECK(all.size() == 130);
  CHECK(*all.rbegin() < 1000);
  // Spread over the file, not its head: some held rows in the last third.
  CHECK(std::count_if(a.test.begin(), a.test.end(), [](uint64_t r) { return r >= 667; }) > 10);
  d.split_seed = 4;
  CHECK(select_held_out(1000, d).test != a.test);
  // The same rows are held out whatever else the file holds after them? No: the ranking is
  // over all rows, but a row's hash depends on its number and the seed only.
  d.train_rows = 500;
  check_message_has(expect_error([&] { (void)select_held_out(1000, d); }), {"data.train_rows must be 0 (or 900)"});
  d.train_rows = 0;
  d.test_rows = 1000;
  check_message_has(expect_error([&] { (void)select_held_out(1000, d); }), {"leave none of the 1000"});
}

TEST_CASE("streaming: each epoch hands out every training row once, in windows no larger than asked") {
  TempDir dir;
  const std::string path = write_file(dir, stream_interactions(false), 256);
  const ColumnarFile file = ColumnarFile::open(path);
  DataSpec d;
  d.train_rows = 0;
  d.test_rows = 200;
  d.validation_rows = 50;
  const HeldOutRows held = select_held_out(kRows, d);
  for (size_t buffer : {size_t{100}, size_t{700}, kRows}) {
    CAPTURE(buffer);
    ColumnarRowStream stream(file, {"row_number", "user_id"}, held, buffer);
    CHECK(stream.rows() == kRows - 250);
    Rng rng(1, 2);
    std::vector<std::vector<int64_t>> epochs;
    for (int epoch = 0; epoch < 2; ++epoch) {
      stream.start_epoch(rng);
      std::vector<int64_t> seen;
      size_t windows = 0;
      for (;;) {
        const size_t ask = 1 + (windows * 37) % buffer;  // windows of varying size, as carry-over makes them
        const Table w = stream.next(ask);
        if (w.num_rows() == 0) break;
        ++windows;
        CHECK(w.num_rows() <= ask);
        const auto& n = w.column("row_number").ints();
        seen.insert(seen.end(), n.begin(), n.end());
      }
      std::vector<int64_t> sorted = seen;
      std::sort(sorted.begin(), sorted.end());
      std::vector<int64_t> expected;
      for (size_t r = 0; r < kRows; ++r)
        if (!held.held(r)) expected.push_back(static_cast<int64_t>(r));
      CHECK(sorted == expected);
      epochs.push_back(seen);
    }
    if (buffer >= kRows) {
      CHECK(epochs[0] == epochs[1]);  // file order: the trainer's window shuffle is the epoch's
      CHECK(std::is_sorted(epochs[0].begin(), epochs[0].end()));
    } else {
      CHECK(epochs[0] != epochs[1]);  // a new block order every epoch
    }
  }
}

TEST_CASE("streaming: with a buffer holding every row, the model is bit for bit the in-memory one") {
  const std::vector<nlohmann::json> tasks = {
      nullptr,
      {{"remove_accidental_hits", true}, {"sampling_probability", "counts"}},
      {{"uniform_negatives", 16}, {"sampling_probability", "streaming"}, {"streaming_buckets", 64}}};
  for (size_t variant = 0; variant < 2 * tasks.size(); ++variant) {
    const bool own_titles = variant % 2;  // interactions carry the title (no join), or ids only
    const nlohmann::json& task = tasks[variant / 2];
    CAPTURE(own_titles);
    CAPTURE(task.dump());
    TempDir dir;
    const Table all = stream_interactions(own_titles);
    const Table catalogue = stream_catalogue();
    const std::string path = write_file(dir, all, 256);
    const ModelSpec spec = stream_spec(task, variant == 0 ? 100 : 0);
    TrainOptions opt;
    opt.threads = 2;
    StreamOptions so;
    so.shuffle_buffer_rows = kRows;
    so.chunk_rows = 333;  // preprocessing passes in chunks that cut the file's blocks
    const FitResult streamed = fit_streamed(spec, path, catalogue, opt, so);

    // In memory: the same split, training rows in file order.
    const HeldOutRows held = select_held_out(kRows, spec.data);
    std::vector<size_t> train_rows;
    for (size_t r = 0; r < kRows; ++r)
      if (!held.held(r)) train_rows.push_back(r);
    TwoTowerModel m(spec);
    m.fit_preprocessing(all, catalogue);
    m.initialize(spec.training.seed);
    CHECK(m.describe() == streamed.model->model().describe());
    const TrainResult r = train_model(m, all.take(train_rows), all.take(as_sizes(held.validation)),
                                      all.take(as_sizes(held.test)), catalogue, opt);
    check_same_weights(m, streamed.model->model());
    REQUIRE(r.history.size() == streamed.training.history.size());
    for (size_t e = 0; e < r.history.size(); ++e)
      CHECK(r.history[e].mean_loss == streamed.training.history[e].mean_loss);
    REQUIRE(r.final_metrics);
    REQUIRE(streamed.training.final_metrics);
    CHECK(r.final_metrics->accuracy == streamed.training.final_metrics->accuracy);
    CHECK(r.final_metrics->baseline == streamed.training.final_metrics->baseline);
    CHECK(r.sampling_probability == streamed.training.sampling_probability);
    CHECK(streamed.training.peak_resident_rows == train_rows.size());
    CHECK(streamed.train_rows == train_rows.size());
    CHECK(streamed.test_rows == 200);
  }
}

TEST_CASE("streaming: a small buffer bounds the resident rows and still trains every row each epoch") {
  TempDir dir;
  const std::string path = write_file(dir, stream_interactions(false), 256);
  const ModelSpec spec = stream_spec();
  TrainOptions opt;
  opt.threads = 1;
  StreamOptions so;
  so.shuffle_buffer_rows = 300;
  size_t batches = 0;
  opt.on_progress = [&](const TrainProgress& p) {
    if (!p.record && p.epoch == 1) ++batches;
    return true;
  };
  const FitResult r = fit_streamed(spec, path, stream_catalogue(), opt, so);
  CHECK(r.training.peak_resident_rows <= 300);
  CHECK(r.training.peak_resident_rows >= 128);
  // 2,800 training rows in windows of at most 300 rows: at least 10 windows per epoch.
  CHECK(r.training.windows >= 2 * 10);
  CHECK(batches == (kRows - 200 + 127) / 128);  // full batches only, but the epoch's last
  CHECK(r.training.examples == kRows - 200);
  REQUIRE(r.training.final_metrics);
  CHECK(r.training.final_metrics->accuracy.back() > 0.0);
  // Another buffer is another order, hence (slightly) other weights; the same buffer repeats.
  so.shuffle_buffer_rows = 500;
  const FitResult other = fit_streamed(spec, path, stream_catalogue(), opt, so);
  CHECK(other.training.history.back().mean_loss != r.training.history.back().mean_loss);
  const FitResult again = fit_streamed(spec, path, stream_catalogue(), opt, so);
  check_same_weights(other.model->model(), again.model->model());
}

TEST_CASE("streaming: a memory limit sizes the shuffle buffer from what the fixed part leaves") {
  TempDir dir;
  const std::string path = write_file(dir, stream_interactions(false), 256);
  const ModelSpec spec = stream_spec();
  TrainOptions opt;
  opt.threads = 1;
  StreamOptions so;
  MemoryPlan plan;
  so.plan = &plan;
  // A limit far above the need: the buffer holds every training row.
  so.memory_limit_bytes = uint64_t{64} << 30;
  const FitResult all = fit_streamed(spec, path, stream_catalogue(), opt, so);
  CHECK(plan.buffer_rows == kRows - 200);
  CHECK(plan.per_row > 3 * 8);  // at least the row's three int64 values as read
  CHECK(plan.resident > 0);
  CHECK(plan.optimizer > 0);
  CHECK(all.training.peak_resident_rows == kRows - 200);
  // A tighter limit (the process's resident set varies by megabytes between runs, so it leaves
  // 4 MiB more than the plan's fixed part): the buffer is what it leaves, and bounds the rows.
  const uint64_t grown = resident_bytes() > plan.resident ? resident_bytes() - plan.resident : 0;
  so.memory_limit_bytes = (plan.fixed() + grown + (uint64_t{4} << 20)) * 20 / 19;
  const FitResult part = fit_streamed(spec, path, stream_catalogue(), opt, so);
  CHECK(plan.buffer_rows >= 128);
  CHECK(plan.fixed() + plan.buffer_rows * plan.per_row <= plan.usable());
  CHECK(part.training.peak_resident_rows <= plan.buffer_rows);
  CHECK(part.training.examples == kRows - 200);
  // Too small for the fixed part and one batch: refused with the figures.
  so.memory_limit_bytes = uint64_t{1} << 20;
  check_message_has(expect_error([&] { (void)fit_streamed(spec, path, stream_catalogue(), opt, so); }),
                    {"the memory limit of 1.0 MiB cannot hold"});
}

TEST_CASE("streaming: a memory plan holds the fixed part and one batch, or the buffer asked, in 95% of the limit") {
  MemoryPlan p;
  p.limit = 1'000'000;  // 950,000 usable
  p.resident = 600'000;
  p.workspace = 100'000;
  p.per_row = 100;
  CHECK(p.usable() == 950'000);
  check_plan(p, 128, 0);     // 700,000 + 12,800
  check_plan(p, 128, 2500);  // 700,000 + 250,000
  check_message_has(expect_error([&] { check_plan(p, 128, 2501); }),
                    {"the memory limit of 1.0 MiB cannot hold the fixed part of streaming training plus a shuffle "
                     "buffer of 2501 rows of 100 bytes per row"});
  p.resident = 940'000;
  check_message_has(expect_error([&] { check_plan(p, 128, 0); }), {"plus one batch (128 rows)", "raise the limit"});
}

TEST_CASE("streaming: table_bytes counts the values and each long string's allocation") {
  Table t;
  t.add(Column("n", Column::Ints{1, 2, 3, 4}));
  t.add(Column("s", Column::Strings{"short", std::string(40, 'x'), "", "y"}));
  CHECK(table_bytes(t) == 4 * 8 + 4 * sizeof(std::string) + 64);  // 41 bytes + header in 16-byte steps
}

TEST_CASE("streaming: bad options and unknown ids are refused with a clear message") {
  TempDir dir;
  Table t = stream_interactions(false);
  t.column("item_id").ints()[1234] = 77;
  const std::string path = write_file(dir, t, 256);
  const ModelSpec spec = stream_spec();
  StreamOptions so;
  so.shuffle_buffer_rows = 100;
  check_message_has(expect_error([&] { (void)fit_streamed(spec, path, stream_catalogue(), TrainOptions{}, so); }),
                    {"shuffle buffer of 100 rows must hold at least one batch (training.batch_size 128)"});
  so.shuffle_buffer_rows = 1000;
  check_message_has(expect_error([&] { (void)fit_streamed(spec, path, stream_catalogue(), TrainOptions{}, so); }),
                    {"clicks.ttc row 1234: candidate id 77", "not in the catalogue"});
  TrainOptions ranks;
  ranks.order_ranks = 2;
  check_message_has(expect_error([&] { (void)fit_streamed(spec, path, stream_catalogue(), ranks, so); }),
                    {"one process"});
  ModelSpec refit = spec;
  refit.training.refit_after_validation = true;
  check_message_has(expect_error([&] { (void)fit_streamed(refit, path, stream_catalogue(), TrainOptions{}, so); }),
                    {"training.refit_after_validation is not supported with streaming training"});
  Table wrong;
  wrong.add(Column("user_id", std::vector<std::string>{"a", "b"}));
  wrong.add(Column("item_id", std::vector<int64_t>{1000, 1001}));
  wrong.add(Column("timestamp", std::vector<int64_t>{1, 2}));
  const std::string wrong_path = write_file(dir, wrong, 256, "wrong.ttc");
  const Error e = expect_error([&] { (void)fit_streamed(spec, wrong_path, stream_catalogue(), TrainOptions{}, so); });
  check_message_has(e, {"wrong.ttc", "'user_id' is stored as string, expected int64"});
}

TEST_CASE("evaluation.sample_rows: a seeded sample of the held-out rows is what is evaluated") {
  const Table all = stream_interactions(true);
  std::vector<size_t> first(1000);
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  const Table test = all.take(first);
  const Table s = evaluation_sample(test, 100, 9);
  REQUIRE(s.num_rows() == 100);
  const auto& numbers = s.column("row_number").ints();
  CHECK(std::is_sorted(numbers.begin(), numbers.end()));
  CHECK(std::adjacent_find(numbers.begin(), numbers.end()) == numbers.end());
  CHECK(evaluation_sample(test, 100, 9).column("row_number").ints() == numbers);
  CHECK(evaluation_sample(test, 100, 10).column("row_number").ints() != numbers);
  CHECK(evaluation_sample(test, 0, 9).num_rows() == 1000);
  CHECK(evaluation_sample(test, 5000, 9).num_rows() == 1000);

  // Training with the option reports the metrics of that sample, seeded by sample_seed.
  nlohmann::json j = nlohmann::json::parse(stream_spec().to_json());
  j["evaluation"]["sample_rows"] = 100;
  j["evaluation"]["sample_seed"] = 9;
  const ModelSpec sampled = ModelSpec::from_json(j.dump(), "sampled");
  CHECK(ModelSpec::from_json(sampled.to_json(), "again").eval.sample_rows == 100);
  std::vector<size_t> rest;
  for (size_t r = 1000; r < kRows; ++r) rest.push_back(r);
  const Table train = all.take(rest);
  TrainOptions opt;
  opt.threads = 1;
  opt.epochs = 1;
  TwoTowerModel a(sampled), b(stream_spec());
  a.fit_preprocessing(all, stream_catalogue());
  b.fit_preprocessing(all, stream_catalogue());
  a.initialize(1);
  b.initialize(1);
  const TrainResult ra = train_model(a, train, test, stream_catalogue(), opt);
  const TrainResult rb = train_model(b, train, s, stream_catalogue(), opt);
  REQUIRE(ra.final_metrics);
  REQUIRE(rb.final_metrics);
  CHECK(ra.final_metrics->accuracy == rb.final_metrics->accuracy);
  CHECK(ra.final_metrics->baseline == rb.final_metrics->baseline);
  TwoTowerModel c(stream_spec());
  c.fit_preprocessing(all, stream_catalogue());
  c.initialize(1);
  const TrainResult rc = train_model(c, train, test, stream_catalogue(), opt);
  CHECK(rc.final_metrics->accuracy != ra.final_metrics->accuracy);
}

// Distributed training from a columnar file: each rank keeps only its share of the rows, and
// that share is exactly what the in-memory distributed path trains and evaluates the rank on.
TEST_CASE("rank share: a rank holds exactly its ranges of the split, in split order, and all-row counts") {
  for (const bool own_titles : {false, true}) {
    CAPTURE(own_titles);
    TempDir dir;
    const Table all = stream_interactions(own_titles);
    const Table catalogue = stream_catalogue();
    const ModelSpec spec = stream_spec();
    const ColumnarFile file = ColumnarFile::open(write_file(dir, all, 256));
    const Split split = split_for_spec(all, spec.data);
    const CandidateCounts expected_counts = count_candidates(split.train, "item_id");
    for (size_t ranks : {size_t{1}, size_t{2}, size_t{3}}) {
      size_t held = 0;
      for (size_t rank = 0; rank < ranks; ++rank) {
        CAPTURE(ranks);
        CAPTURE(rank);
        // Chunks smaller than, equal to and larger than the file's blocks.
        const RankShare share = read_rank_share(spec, file, catalogue, rank, ranks, 100 + 300 * rank);
        for (const auto& [mine, whole] : {std::pair(&share.train, &split.train), std::pair(&share.test, &split.test)}) {
          const auto [first, last] = rank_rows(whole->num_rows(), rank, ranks);
          std::vector<size_t> rows;
          for (size_t i = first; i < last; ++i) rows.push_back(i);
          // The columns training reads (the file's row_number is not one), rows in split order.
          Table expected;
          for (const Column& c : mine->columns()) expected.add(whole->column(c.name()).take(rows));
          CHECK(mine->num_rows() == rows.size());
          CHECK(mine->columns().size() >= 3);
          CHECK(table_fingerprint(*mine) == table_fingerprint(expected));
        }
        CHECK(share.train_rows == split.train.num_rows());
        CHECK(share.test_rows == split.test.num_rows());
        CHECK(share.counts.total == expected_counts.total);
        CHECK(share.counts.count == expected_counts.count);
        held += share.train.num_rows() + share.test.num_rows();
      }
      CHECK(held == kRows);  // the ranks' shares cover the split once
    }
  }
}

TEST_CASE("rank share: validation rows and a rank beyond the ranks are refused") {
  TempDir dir;
  const ColumnarFile file = ColumnarFile::open(write_file(dir, stream_interactions(false), 256));
  check_message_has(
      expect_error([&] { (void)read_rank_share(stream_spec(nullptr, 50), file, stream_catalogue(), 0, 2, 1000); }),
      {"validation rows", "not supported with distributed training"});
  check_message_has(expect_error([&] { (void)read_rank_share(stream_spec(), file, stream_catalogue(), 2, 2, 1000); }),
                    {"rank out of range"});
}
