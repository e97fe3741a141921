// Training data at scale: a seeded generator of MovieLens-25M-shaped data (162,000 users,
// 62,000 items with titles and genres in a catalogue, Zipf popularity; the interactions carry
// ids and a timestamp only) and, for each row count, the time to ingest the CSV, to convert it
// to the columnar file and to read that back, then one epoch of the [64, 32] shape trained from
// the columnar file in a child process: seconds per epoch, rows/s, evaluation seconds and the
// child's peak RSS against the bound of issue 17 (1.5 x the columnar file + the model's
// parameters and optimizer state). The same epoch on MovieLens 100k (when found) gives the
// seconds per 10^6 rows it is compared with, in the same run.
//
// With --stream N the child streams the columnar file (model/streamed_fit.h) with a shuffle
// buffer of N rows instead of loading it: peak RSS is then bounded by N, not the row count.
// With --memory-limit BYTES it streams with the buffer that limit leaves (model/stream_memory.h).
//
// Usage: bench_scale [--rows 1000000,5000000,25000000] [--dir /var/tmp/scale] [--threads T]
//                    [--test-rows N] [--data DIR] [--keep] [--stream BUFFER_ROWS]
//                    [--memory-limit BYTES]
//        bench_scale --generate N [--dir D]        writes D/clicks-N.csv and D/items.csv only
//        bench_scale --ingest FILE [--threads T]   parses FILE's three int64 columns, best of 3
//                                                  (bench/ingest.sh runs it beside pyarrow)
// Files are generated once per row count under --dir and removed at the end unless --keep.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "data/columnar.h"
#include "data/delimited.h"
#include "data/locate.h"
#include "model/dataset.h"
#include "model/spec.h"
#include "model/streamed_fit.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"

extern char** environ;

using namespace tt;
namespace fs = std::filesystem;

namespace {

using clk = std::chrono::steady_clock;
double since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

constexpr size_t kUsers = 162'000, kItems = 62'000;

// Peak resident set of this process so far, in bytes (Linux: VmHWM).
double peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) * 1024.0;
  return 0;
}

// Ranks 0..n-1 drawn with probability proportional to 1 / (rank + 1)^s.
struct Zipf {
  std::vector<double> cdf;
  Zipf(size_t n, double s) : cdf(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (double& c : cdf) c /= sum;
  }
  size_t draw(Rng& rng) const {
    const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;
    return std::min<size_t>(cdf.size() - 1, std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  }
};

// The catalogue: the same for every row count.
void generate_items(const std::string& items) {
  Rng rng(2517, 0);
  static const char* kGenres[] = {"Action",  "Adventure", "Animation", "Children", "Comedy", "Crime",   "Documentary",
                                  "Drama",   "Fantasy",   "Film-Noir", "Horror",   "IMAX",   "Musical", "Mystery",
                                  "Romance", "Sci-Fi",    "Thriller",  "War",      "Western"};
  std::vector<std::string> words(4000);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string w;
    const size_t len = 3 + rng.below(6);
    for (size_t k = 0; k < len; ++k) w.push_back(static_cast<char>('a' + rng.below(26)));
    words[i] = w;
  }
  const Zipf word_zipf(words.size(), 1.0);
  {
    std::ofstream out(items);
    out << "item_id,title,genres\n";
    for (size_t i = 0; i < kItems; ++i) {
      out << i << ",\"";
      const size_t n = 1 + rng.below(4);
      for (size_t k = 0; k < n; ++k) out << (k ? " " : "") << words[word_zipf.draw(rng)];
      out << " (" << 1920 + rng.below(100) << ")\",";
      const size_t g = 1 + rng.below(3);
      for (size_t k = 0; k < g; ++k) out << (k ? "|" : "") << kGenres[rng.below(std::size(kGenres))];
      out << "\n";
    }
  }
}

void generate_clicks(const std::string& clicks, size_t rows) {
  Rng rng(2517, rows);
  // Popularity ranks are shuffled over the ids, so popular items are not the small ids.
  std::vector<size_t> item_of_rank = permutation(kItems, rng), user_of_rank = permutation(kUsers, rng);
  const Zipf items_zipf(kItems, 1.0), users_zipf(kUsers, 0.6);
  std::ofstream out(clicks);
  out << "user_id,item_id,timestamp\n";
  std::string buf;
  for (size_t r = 0; r < rows; ++r) {
    buf += std::to_string(user_of_rank[users_zipf.draw(rng)]);
    buf += ',';
    buf += std::to_string(item_of_rank[items_zipf.draw(rng)]);
    buf += ',';
    buf += std::to_string(789'652'009 + rng.below(785'000'000));
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      out << buf;
      buf.clear();
    }
  }
  out << buf;
}

const char* kSpec = R"({
  "name": "scale-64-32",
  "columns": {"user_id": "int64", "item_id": "int64", "timestamp": "int64", "title": "string", "genres": "string"},
  "query_tower": {"features": [
      {"name": "user_id", "column": "user_id", "kind": "string_lookup", "embedding_dim": 32},
      {"name": "timestamp_bucket", "column": "timestamp", "kind": "discretization", "num_boundaries": 1000, "embedding_dim": 32},
      {"name": "timestamp_normalized", "column": "timestamp", "kind": "normalization"}],
    "layers": [64, 32]},
  "candidate_tower": {"id_column": "item_id", "features": [
      {"name": "item_id", "column": "item_id", "kind": "string_lookup", "embedding_dim": 32},
      {"name": "title_text", "column": "title", "kind": "text", "max_tokens": 10000, "embedding_dim": 32},
      {"name": "genres", "column": "genres", "kind": "text", "max_tokens": 100, "embedding_dim": 8}],
    "layers": [64, 32]},
  "training": {"optimizer": {"kind": "adagrad", "learning_rate": 0.1}, "batch_size": 2048, "epochs": 1,
               "eval_every": 0, "eval_batch_size": 4096, "seed": 42},
  "data": {"train_rows": 0, "test_rows": TEST_ROWS, "split_seed": 42}
})";

struct EpochFigures {
  double fit_s = 0, epoch_s = 0, eval_s = 0, top100 = 0;
  size_t train_rows = 0, params = 0;
};

EpochFigures one_epoch(const ModelSpec& spec, const Dataset& d, int threads) {
  EpochFigures f;
  auto t0 = clk::now();
  Split split = split_for_spec(d.interactions, spec.data);
  TwoTowerModel model(spec);
  model.fit_preprocessing(d.interactions, d.candidates);
  model.initialize(spec.training.seed);
  f.fit_s = since(t0);
  TrainOptions opt;
  opt.threads = threads;
  opt.epochs = 1;
  opt.eval_every = 0;
  const TrainResult r = train_model(model, split.train, split.test, d.candidates, opt);
  f.epoch_s = r.history.back().seconds;
  f.eval_s = r.history.back().eval_seconds;
  f.top100 = r.final_metrics ? r.final_metrics->accuracy.back() : 0;
  f.train_rows = split.train.num_rows();
  f.params = model.parameter_count();
  return f;
}

std::string spec_text(size_t test_rows) {
  std::string s = kSpec;
  s.replace(s.find("TEST_ROWS"), 9, std::to_string(test_rows));
  return s;
}

// Child, streaming: the preprocessing passes, one streamed epoch and its evaluation.
int run_stream_child(const ModelSpec& spec, const std::string& ttc, const std::string& items, int threads,
                     size_t buffer, uint64_t memory_limit) {
  auto t0 = clk::now();
  const Table catalogue = read_catalogue(items, spec);
  const double load_s = since(t0);
  TrainOptions opt;
  opt.threads = threads;
  opt.epochs = 1;
  opt.eval_every = 0;
  StreamOptions so;
  so.shuffle_buffer_rows = buffer;
  so.memory_limit_bytes = memory_limit;
  t0 = clk::now();
  const FitResult r = fit_streamed(spec, ttc, catalogue, opt, so);
  const double total_s = since(t0);
  const auto& last = r.training.history.back();
  // fit_s: the preprocessing passes, the split and the index (all but the epoch and evaluation).
  std::printf(
      "RESULT load_s=%.3f fit_s=%.3f epoch_s=%.3f eval_s=%.3f top100=%.4f train_rows=%zu params=%zu "
      "peak_rss=%.0f resident_rows=%zu\n",
      load_s, total_s - last.seconds - last.eval_seconds, last.seconds, last.eval_seconds,
      r.training.final_metrics ? r.training.final_metrics->accuracy.back() : 0.0, r.train_rows,
      r.model->model().parameter_count(), peak_rss_bytes(), r.training.peak_resident_rows);
  return 0;
}

// Child: train one epoch from the columnar file and print one line of figures.
int run_child(const std::string& ttc, const std::string& items, size_t test_rows, int threads, size_t stream,
              uint64_t memory_limit) {
  const ModelSpec spec = ModelSpec::from_json(spec_text(test_rows), "bench spec");
  if (stream || memory_limit) return run_stream_child(spec, ttc, items, threads, stream, memory_limit);
  auto t0 = clk::now();
  const Dataset d = load_delimited_dataset(ttc, items, spec);
  const double load_s = since(t0);
  const EpochFigures f = one_epoch(spec, d, threads);
  // Adagrad keeps one accumulator per parameter.
  std::printf(
      "RESULT load_s=%.3f fit_s=%.3f epoch_s=%.3f eval_s=%.3f top100=%.4f train_rows=%zu params=%zu "
      "peak_rss=%.0f\n",
      load_s, f.fit_s, f.epoch_s, f.eval_s, f.top100, f.train_rows, f.params, peak_rss_bytes());
  return 0;
}

double field(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  return at == std::string::npos ? -1 : std::stod(line.substr(at + key.size() + 1));
}

std::string run_self(const std::vector<std::string>& args) {
  int pipefd[2];
  if (pipe(pipefd) != 0) fail(ErrorKind::io, "pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  std::vector<char*> argv;
  std::string self = fs::read_symlink("/proc/self/exe").string();
  argv.push_back(self.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ) != 0)
    fail(ErrorKind::io, "cannot start " + self);
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail(ErrorKind::internal, "child failed: " + out);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<size_t> rows = {1'000'000, 5'000'000, 25'000'000};
    std::string dir = "/var/tmp/scale", data_dir, child_ttc, child_items;
    int threads = 0;
    size_t test_rows = 100'000, stream = 0;
    uint64_t memory_limit = 0;
    bool keep = false;
    size_t generate_rows = 0;
    std::string ingest;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) fail(ErrorKind::invalid_argument, a + " needs a value");
        return argv[++i];
      };
      if (a == "--rows") {
        rows.clear();
        std::stringstream ss(next());
        for (std::string x; std::getline(ss, x, ',');) rows.push_back(std::stoull(x));
      } else if (a == "--dir") {
        dir = next();
      } else if (a == "--threads") {
        threads = std::stoi(next());
      } else if (a == "--test-rows") {
        test_rows = std::stoull(next());
      } else if (a == "--data") {
        data_dir = next();
      } else if (a == "--generate") {
        generate_rows = std::stoull(next());
      } else if (a == "--ingest") {
        ingest = next();
      } else if (a == "--stream") {
        stream = std::stoull(next());
      } else if (a == "--memory-limit") {
        memory_limit = std::stoull(next());
      } else if (a == "--keep") {
        keep = true;
      } else if (a == "--child") {
        child_ttc = next();
        child_items = next();
      } else {
        fail(ErrorKind::invalid_argument, "unknown argument " + a);
      }
    }
    if (!child_ttc.empty()) return run_child(child_ttc, child_items, test_rows, threads, stream, memory_limit);
    if (generate_rows) {
      fs::create_directories(dir);
      const std::string csv = dir + "/clicks-" + std::to_string(generate_rows) + ".csv";
      generate_items(dir + "/items.csv");
      generate_clicks(csv, generate_rows);
      std::printf("%s\n", csv.c_str());
      return 0;
    }
    if (!ingest.empty()) {
      DelimitedOptions o = delimited_options_for_path(ingest);
      o.threads = threads;
      const std::vector<ColumnSpec> cols = {
          {"user_id", DType::int64}, {"item_id", DType::int64}, {"timestamp", DType::int64}};
      double best = 1e30;
      size_t rows_read = 0;
      for (int rep = 0; rep < 3; ++rep) {
        auto t0 = clk::now();
        const Table t = read_delimited(ingest, cols, o);
        best = std::min(best, since(t0));
        rows_read = t.num_rows();
      }
      const double mb = static_cast<double>(fs::file_size(ingest)) / 1e6;
      std::printf("twotower threads=%d rows=%zu MB=%.1f best_s=%.3f MB/s=%.1f\n", threads, rows_read, mb, best,
                  mb / best);
      return 0;
    }

    fs::create_directories(dir);
    std::printf("bench_scale: threads %d (0 = all %u cores), test rows %zu, files in %s; training %s\n", threads,
                std::thread::hardware_concurrency(), test_rows, dir.c_str(),
                memory_limit ? ("streamed, memory limit " + std::to_string(memory_limit) + " bytes").c_str()
                : stream     ? ("streamed, shuffle buffer " + std::to_string(stream) + " rows").c_str()
                             : "from the columnar file loaded in memory");
    {
      std::ifstream l("/proc/loadavg");
      std::string load;
      std::getline(l, load);
      std::printf("load average at start: %s\n", load.c_str());
    }
    // The baseline: one epoch of MovieLens 100k with the same shapes, in this run.
    double ml_s_per_mrow = 0;
    try {
      const std::string ml = locate_movielens(data_dir, TT_SOURCE_DIR);
      const ModelSpec spec = ModelSpec::from_file(std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-64-32.json");
      const Dataset d = load_movielens_dataset(ml);
      const EpochFigures f = one_epoch(spec, d, threads);
      ml_s_per_mrow = f.epoch_s / (static_cast<double>(f.train_rows) / 1e6);
      std::printf("MovieLens 100k [64,32], one epoch: %.3f s for %zu rows = %.2f s per 10^6 rows\n", f.epoch_s,
                  f.train_rows, ml_s_per_mrow);
    } catch (const Error& e) {
      std::printf("MovieLens 100k not found (%s): no baseline\n", e.what());
    }
    std::printf("\n%10s %9s %8s %8s %8s %9s %9s %8s %9s %9s %9s %8s %8s\n", "rows", "csv_MB", "csv_s", "csv_MB/s",
                "conv_s", "ttc_MB", "ttc_load", "epoch_s", "rows/s", "s/Mrow", "vs_ML", "eval_s", "RSS_MB");
    const std::string items = dir + "/items.csv";
    for (size_t n : rows) {
      const std::string csv = dir + "/clicks-" + std::to_string(n) + ".csv";
      const std::string ttc = dir + "/clicks-" + std::to_string(n) + ".ttc";
      if (!fs::exists(items)) generate_items(items);
      if (!fs::exists(csv)) generate_clicks(csv, n);
      const ModelSpec spec = ModelSpec::from_json(spec_text(test_rows), "bench spec");
      auto t0 = clk::now();
      const Dataset d = load_delimited_dataset(csv, items, spec);
      const double csv_s = since(t0);
      t0 = clk::now();
      write_columnar(ttc, d.interactions);
      const double conv_s = since(t0);
      const std::string line = run_self({"--child", ttc, items, "--test-rows", std::to_string(test_rows), "--threads",
                                         std::to_string(threads), "--stream", std::to_string(stream), "--memory-limit",
                                         std::to_string(memory_limit)});
      const double csv_mb = static_cast<double>(fs::file_size(csv)) / 1e6;
      const double ttc_mb = static_cast<double>(fs::file_size(ttc)) / 1e6;
      const double epoch_s = field(line, "epoch_s"), train_rows = field(line, "train_rows");
      const double s_per_mrow = epoch_s / (train_rows / 1e6);
      const double rss = field(line, "peak_rss");
      // Parameters and Adagrad's accumulators: two floats each.
      const double bound = 1.5 * ttc_mb * 1e6 + 2.0 * 4.0 * field(line, "params");
      std::printf("%10zu %9.1f %8.2f %8.1f %8.2f %9.1f %9.2f %8.2f %9.0f %9.2f %9.2f %8.2f %8.0f\n", n, csv_mb, csv_s,
                  csv_mb / csv_s, conv_s, ttc_mb, field(line, "load_s"), epoch_s, train_rows / epoch_s, s_per_mrow,
                  ml_s_per_mrow > 0 ? s_per_mrow / ml_s_per_mrow : 0.0, field(line, "eval_s"), rss / 1e6);
      std::printf("%10s peak RSS / (1.5 x columnar file + parameters and optimizer state) = %.2f; top-100 %.4f\n", "",
                  rss / bound, field(line, "top100"));
      if (stream || memory_limit)
        std::printf(
            "%10s streamed: at most %.0f training rows resident (buffer %zu, memory limit %.0f MB); preprocessing "
            "passes + index %.2f s; peak RSS %.0f MB against the 4 GiB cap of a 10^8-row run\n",
            "", field(line, "resident_rows"), stream, static_cast<double>(memory_limit) / 1e6, field(line, "fit_s"),
            rss / 1e6);
      std::fflush(stdout);
      if (!keep) {
        fs::remove(csv);
        fs::remove(ttc);
      }
    }
    if (!keep) fs::remove(items);
    std::ifstream l("/proc/loadavg");
    std::string load;
    std::getline(l, load);
    std::printf("load average at end: %s\n", load.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_scale: %s\n", e.what());
    return 1;
  }
  return 0;
}
