// `twotower index build` (a vector index from .npy/.fvecs vectors and optional keys) and
// `twotower search` (top-k keys of an index, or of a model file's index, for query vectors).
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "base/checked_math.h"
#include "base/error.h"
#include "base/parallel.h"
#include "cli.h"
#include "io/array_files.h"
#include "persist/vector_index_file.h"

namespace tt::cli {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A 2-D float array from .npy or .fvecs (by extension); a 1-D .npy is one row.
FloatArray read_vectors(const std::string& path, const std::string& option) {
  FloatArray a;
  if (ends_with(path, ".npy"))
    a = read_npy(path);
  else if (ends_with(path, ".fvecs"))
    a = read_fvecs(path);
  else
    fail(ErrorKind::invalid_argument, option + " " + path + ": expected a .npy or .fvecs file");
  if (a.shape.size() > 2)
    fail(ErrorKind::invalid_argument, option + " " + path + ": a " + std::to_string(a.shape.size()) +
                                          "-D array; vectors are a 2-D array (rows x dimension)");
  return a;
}

// Keys: .npy of integers, or a text file with one decimal int64 per line.
std::vector<int64_t> read_keys(const std::string& path) {
  if (ends_with(path, ".npy")) {
    IntArray a = read_npy_int64(path);
    if (a.shape.size() > 2 || (a.shape.size() == 2 && a.shape[1] != 1))
      fail(ErrorKind::invalid_argument, "--keys " + path + ": keys are a 1-D array");
    return std::move(a.values);
  }
  std::vector<int64_t> keys;
  const std::vector<std::string> lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() && i + 1 == lines.size()) break;
    int64_t v = 0;
    const auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
    if (ec != std::errc() || p != line.data() + line.size())
      fail(ErrorKind::invalid_argument,
           path + ":" + std::to_string(i + 1) + ": '" + line + "' is not a decimal int64 key");
    keys.push_back(v);
  }
  return keys;
}

struct BuildFlags {
  std::string vectors, keys, output, precision = "f32";
  bool ann = false;
  size_t ann_partitions = 0;
  uint64_t ann_seed = 0;
  int compression = 3;
  int threads = 0;
};

void run_build(const BuildFlags& f) {
  const FloatArray x = read_vectors(f.vectors, "--vectors");
  const size_t rows = static_cast<size_t>(x.rows()), dim = static_cast<size_t>(x.cols());
  if (x.values.empty() || dim == 0) fail(ErrorKind::invalid_argument, "--vectors " + f.vectors + ": no vectors");
  std::vector<int64_t> keys;
  if (!f.keys.empty()) {
    keys = read_keys(f.keys);
    if (keys.size() != rows)
      fail(ErrorKind::invalid_argument, "--keys " + f.keys + " holds " + std::to_string(keys.size()) + " keys for " +
                                            std::to_string(rows) + " vectors");
  }
  ThreadPool pool(f.threads);
  VectorIndex index(dim, parse_precision(f.precision, "--precision"));
  index.add(x.values.data(), rows, keys.empty() ? nullptr : keys.data(), pool);
  if (f.ann) {
    PartitionBuildOptions o;
    o.partitions = f.ann_partitions;
    o.seed = f.ann_seed;
    index.build_ann(o, nullptr, pool);
  }
  save_vector_index(f.output, index, f.compression);
  const std::string key_source = keys.empty() ? "the row numbers" : "from " + f.keys;
  std::printf("%s: %zu vectors of dimension %zu, stored as %s, keys %s\n", f.output.c_str(), index.size(), dim,
              precision_name(index.precision()), key_source.c_str());
  if (const PartitionIndex* p = index.index().partitions()) {
    std::printf("approximate index: %zu partitions; calibrated recall@%zu:", p->partitions(), p->calibration_k());
    for (double r : {0.9, 0.95, 0.99}) std::printf(" %.2f at probe %zu,", r, p->probe_for_recall(r));
    std::printf(" of %zu\n", p->partitions());
  }
}

struct SearchFlags {
  std::string index, queries;
  size_t k = 10;
  double recall = 0.0;
  size_t probe = 0, rescore = 0;
  int threads = 0;
};

void run_search(const SearchFlags& f) {
  const VectorIndex index = load_vector_index(f.index);
  const FloatArray q = read_vectors(f.queries, "--queries");
  const size_t n = q.values.empty() ? 0 : static_cast<size_t>(q.rows()), dim = static_cast<size_t>(q.cols());
  if (n && dim != index.dim())
    fail(ErrorKind::invalid_argument, "--queries " + f.queries + ": vectors of dimension " + std::to_string(dim) +
                                          ", the index's are " + std::to_string(index.dim()));
  VectorIndex::check_finite(q.values.data(), n, dim, "--queries " + f.queries);
  if ((f.recall > 0 || f.probe) && !index.index().partitions())
    std::fprintf(stderr, "the index has no approximate index (twotower index build --ann adds one): exact search\n");
  SearchOptions so;
  so.k = f.k;
  so.recall = f.recall;
  so.probe = f.probe;
  so.rescore = f.rescore;
  const size_t slots = checked_mul(n, f.k, "search: queries x k");
  std::vector<int64_t> keys(slots);
  std::vector<float> scores(slots);
  ThreadPool pool(f.threads);
  index.search(q.values.data(), n, so, keys.data(), scores.data(), pool);
  // A model file keyed by text: the keys are row numbers, and the text goes in a last column.
  const bool names = index.positional_keys();
  std::printf("query\trank\tkey\tscore%s\n", names ? "\tname" : "");
  for (size_t i = 0; i < n; ++i)
    for (size_t r = 0; r < f.k && keys[i * f.k + r] != -1; ++r) {
      const int64_t key = keys[i * f.k + r];
      std::printf("%zu\t%zu\t%lld\t%.6g", i, r + 1, static_cast<long long>(key), scores[i * f.k + r]);
      if (names) std::printf("\t%s", index.index().keys()[static_cast<size_t>(key)].c_str());
      std::printf("\n");
    }
}

}  // namespace

void register_search(CLI::App& app) {
  auto f = std::make_shared<SearchFlags>();
  auto* cmd = app.add_subcommand(
      "search", "top-k keys by inner product for query vectors, from a vector index or a model file's index");
  cmd->add_option("--index", f->index, "index file (twotower index build) or model file")->required();
  cmd->add_option("--queries", f->queries, "query vectors: .npy (float32/float16/float64) or .fvecs")->required();
  add_number_option<size_t>(*cmd, "-k", f->k, 1, 100000, "results per query (default 10)");
  add_real_option(*cmd, "--recall", f->recall, 0.0, 1.0,
                  "approximate search: the breadth calibrated to reach this recall (0 < R < 1; default exact)");
  add_number_option<size_t>(*cmd, "--probe", f->probe, 1, UINT32_MAX,
                            "approximate search: partitions to scan (overrides --recall)");
  add_number_option<size_t>(*cmd, "--rescore", f->rescore, 1, UINT32_MAX,
                            "approximate search: shortlist re-scored in float32 (default max(2k, 32))");
  add_threads_option(*cmd, f->threads);
  cmd->callback([f] { run_search(*f); });
}

void register_index(CLI::App& app) {
  auto* index = app.add_subcommand("index", "vector indexes of embeddings made elsewhere (Faiss IndexFlatIP-like)");
  index->require_subcommand(1);
  auto f = std::make_shared<BuildFlags>();
  auto* cmd = index->add_subcommand("build", "build an index file from vectors and optional keys");
  cmd->add_option("--vectors", f->vectors, "vectors: .npy (rows x dimension) or .fvecs")->required();
  cmd->add_option("--keys", f->keys,
                  "int64 keys: .npy of integers or a text file, one per line (default: row numbers)");
  cmd->add_option("-o,--output", f->output, "index file to write (atomically)")->required();
  cmd->add_option("--precision", f->precision, "store the vectors as f32 (default), bf16, fp16 or int8");
  cmd->add_flag("--ann", f->ann, "also build the approximate index (k-means partitions, recall calibrated)");
  add_number_option<size_t>(*cmd, "--ann-partitions", f->ann_partitions, 1, size_t{1} << 24,
                            "partitions of the approximate index (default about 2 sqrt(vectors))");
  add_number_option<uint64_t>(*cmd, "--ann-seed", f->ann_seed, 0, UINT64_MAX, "k-means seed (default 0)");
  add_number_option(*cmd, "--compression", f->compression, 0, 19, "zstd level (0: uncompressed; default 3)");
  add_threads_option(*cmd, f->threads);
  cmd->callback([f] {
    if (!f->ann && (f->ann_partitions || f->ann_seed))
      fail(ErrorKind::invalid_argument, "index build: --ann-partitions and --ann-seed go with --ann");
    run_build(*f);
  });
}

}  // namespace tt::cli
