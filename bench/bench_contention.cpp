// Behaviour on a busy host (issue 14): training epochs of a MovieLens spec ([32] by default),
// evaluation, and exact top-100 queries over a synthetic million (single and batched), each
// measured alone and beside 1 and 2 busy-loop processes that this benchmark starts and stops
// itself, with the default thread count and with --threads 1, all in the same run.
//
// For each row it prints the time, the slowdown against the same work alone, against the ideal
// and against --threads 1 under the same load. The ideal is the time alone x the cores used
// alone / the cores left: cores - busy while the busy processes leave a core (each neighbour
// keeps one), else the fair share of the scheduler, cores x T / (T + busy) for T threads.
// "cores" is the CPU time this process got during the measurement / its wall time: what the
// host's scheduler actually gave it (beside one busy loop on 2 cores, Linux usually places the
// caller and the pool's worker on one core, so --threads 2 gets about one core; see
// docs/benchmarks.md, "A busy host").
//
// Usage: bench_contention [--data DIR] [--spec FILE] [--epochs N] [--threads T]
//                         [--candidates N] [--dim D] [--busy 0,1,2] [--queries N] [--skip-queries]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "data/locate.h"
#include "data/split.h"
#include "index/candidate_index.h"
#include "model/dataset.h"
#include "model/evaluation.h"
#include "model/trainer.h"
#include "model/two_tower_model.h"

using namespace tt;
using namespace tt::bench;

namespace {

// Busy-loop processes: started here, killed (and reaped) by the destructor.
class BusyNeighbours {
 public:
  explicit BusyNeighbours(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
        volatile unsigned long x = 0;
        for (;;) x = x + 1;
      }
      if (pid < 0) {
        std::perror("fork");
        std::exit(1);
      }
      pids_.push_back(pid);
    }
    if (n) usleep(200000);  // let the scheduler see them running
  }
  ~BusyNeighbours() {
    for (pid_t p : pids_) kill(p, SIGKILL);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
  }
  BusyNeighbours(const BusyNeighbours&) = delete;
  BusyNeighbours& operator=(const BusyNeighbours&) = delete;

 private:
  std::vector<pid_t> pids_;
};

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// CPU seconds (user + system) this process has used so far, all its threads.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// Wall time and CPU time of one measured stretch; cores() is the CPU the process got in it.
class Stretch {
 public:
  Stretch() : t0_(clk::now()), cpu0_(cpu_seconds()) {}
  double cores() const {
    const double wall = since(t0_);
    return wall > 0 ? (cpu_seconds() - cpu0_) / wall : 0.0;
  }

 private:
  clk::time_point t0_;
  double cpu0_;
};

struct Timing {
  double epoch = 0, eval = 0, single = 0, batch = 0;
  double train_cores = 0, single_cores = 0, batch_cores = 0;  // CPU time / wall time
  // Single queries whose caller scanned again a block a descheduled helper held.
  uint64_t single_redone = 0;
};

struct Workload {
  const Dataset& data;
  const ModelSpec& spec;
  const Split& split;
  size_t epochs;
  size_t single_queries;  // measured, after 5 unmeasured
  CandidateIndex* index;  // null: no queries
  const Matrix* queries;

  // Seconds per training epoch and per evaluation (median over the epochs), then query times.
  Timing run(int threads) const {
    Timing t;
    TwoTowerModel model(spec);
    model.fit_preprocessing(data.interactions, data.candidates);
    model.initialize(spec.training.seed);
    TrainOptions opt;
    opt.epochs = epochs;
    opt.eval_every = 0;  // evaluate once, after the last epoch
    opt.threads = threads;
    const Stretch training;
    TrainResult r = train_model(model, split.train, split.test, data.candidates, opt);
    std::vector<double> ep;
    for (const auto& e : r.history) {
      ep.push_back(e.seconds);
      t.eval += e.eval_seconds;
    }
    t.train_cores = training.cores();
    t.epoch = percentile(ep, 0.5);
    if (!index) return t;
    ThreadPool pool(threads);
    SearchOptions so;
    so.k = 100;
    const size_t nq = queries->rows();
    std::vector<int64_t> ids(nq * so.k);
    std::vector<float> scores(nq * so.k);
    std::vector<double> lat;
    std::optional<Stretch> singles;
    uint64_t redone0 = 0;
    for (size_t i = 0; i < 5 + single_queries; ++i) {
      if (i == 5) {
        singles.emplace();
        redone0 = CandidateIndex::searches_redone();
      }
      auto t0 = clk::now();
      index->search(queries->row(i % nq), 1, so, ids.data(), scores.data(), pool);
      if (i >= 5) lat.push_back(since(t0));
    }
    t.single_cores = singles->cores();
    t.single_redone = CandidateIndex::searches_redone() - redone0;
    t.single = percentile(lat, 0.5);
    const Stretch batch;
    auto t0 = clk::now();
    index->search(queries->data(), nq, so, ids.data(), scores.data(), pool);
    t.batch = since(t0);
    t.batch_cores = batch.cores();
    return t;
  }
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, spec_path = std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-32.json";
  size_t epochs = 4, single_queries = 35, candidates = 1'000'000, dim = 64;
  int threads = 0;
  std::vector<int> busy = {0, 1, 2};
  bool queries = true;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--data"))
      data_dir = argv[++i];
    else if (arg("--spec"))
      spec_path = argv[++i];
    else if (arg("--epochs"))
      epochs = std::stoul(argv[++i]);
    else if (arg("--threads"))
      threads = std::stoi(argv[++i]);
    else if (arg("--candidates"))
      candidates = std::stoul(argv[++i]);
    else if (arg("--dim"))
      dim = std::stoul(argv[++i]);
    else if (arg("--queries"))
      single_queries = std::max<size_t>(1, std::stoul(argv[++i]));
    else if (arg("--busy"))
      busy = parse_list(argv[++i]);
    else if (std::strcmp(argv[i], "--skip-queries") == 0)
      queries = false;
    else {
      std::fprintf(stderr,
                   "usage: %s [--data DIR] [--spec FILE] [--epochs N] [--threads T] [--candidates N] [--dim D] "
                   "[--busy 0,1,2] [--queries N] [--skip-queries]\n",
                   argv[0]);
      return 2;
    }
  }
  const int cores = hardware_threads();
  const int t_default = threads ? threads : cores;
  const Dataset data = load_movielens_dataset(locate_movielens(data_dir, TT_SOURCE_DIR));
  const ModelSpec spec = ModelSpec::from_file(spec_path);
  const Split split = split_for_spec(data.interactions, spec.data);
  std::optional<CandidateIndex> index;
  SyntheticSet synth;
  if (queries) {
    synth = make_synthetic(candidates, dim, 200);
    index.emplace(std::vector<std::string>(candidates), std::move(synth.candidates));
  }
  const Workload w{data, spec, split, epochs, single_queries, index ? &*index : nullptr, &synth.queries};

  print_isa();
  std::printf(
      "bench_contention: %s, %zu epochs (+1 evaluation); top-100 over %zu x %zu (median of %zu single queries); "
      "%d cores; load %s\n",
      spec.name.c_str(), epochs, candidates, dim, single_queries, cores, load_average().c_str());
  std::printf("ideal = alone x cores used alone / cores left (cores - busy, or the fair share cores x T/(T+busy))\n");
  std::printf("cores = CPU time this process got / wall time, during that measurement (training: all epochs)\n\n");
  std::printf("%-5s %-8s %-14s %10s %8s %8s %11s %6s\n", "busy", "threads", "what", "time", "x alone", "x ideal",
              "x threads 1", "cores");

  Timing alone_default, alone_one;
  for (int b : busy) {
    Timing by_threads[2];
    {
      BusyNeighbours neighbours(b);
      by_threads[0] = w.run(t_default);
      by_threads[1] = t_default == 1 ? by_threads[0] : w.run(1);
    }
    if (b == 0) {
      alone_default = by_threads[0];
      alone_one = by_threads[1];
    }
    for (int k = 0; k < 2; ++k) {
      const int t = k == 0 ? t_default : 1;
      if (k == 1 && t_default == 1) break;
      const Timing& now = by_threads[k];
      const Timing& alone = k == 0 ? alone_default : alone_one;
      const double used = std::min(t, cores);
      const double left = b < cores ? cores - b : static_cast<double>(cores) * t / (t + b);
      const double ideal_factor = b == 0 ? 1.0 : used / std::min(used, left);
      auto row = [&](const char* what, double Timing::*field, double Timing::*cores_got, const char* unit,
                     double scale) {
        const double v = now.*field;
        if (v <= 0) return;
        const double a = alone.*field;
        const double one = by_threads[1].*field;
        std::printf("%-5d %-8d %-14s %7.2f %-2s %7.2fx %7.2fx %10.2fx %6.2f\n", b, t, what, v * scale, unit,
                    a > 0 ? v / a : 0.0, a > 0 ? v / (a * ideal_factor) : 0.0, one > 0 ? v / one : 0.0, now.*cores_got);
      };
      row("epoch", &Timing::epoch, &Timing::train_cores, "s", 1.0);
      row("evaluation", &Timing::eval, &Timing::train_cores, "s", 1.0);
      row("single query", &Timing::single, &Timing::single_cores, "ms", 1e3);
      row("200 queries", &Timing::batch, &Timing::batch_cores, "ms", 1e3);
      if (now.single > 0 && t > 1)
        std::printf("%-5d %-8d (%llu of %zu single queries scanned again a block a descheduled helper held)\n", b, t,
                    static_cast<unsigned long long>(now.single_redone), single_queries);
    }
    std::fflush(stdout);
  }
  std::printf("\nload after: %s\n", load_average().c_str());
  return 0;
}
