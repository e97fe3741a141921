// `twotower convert`: offline model conversion. Quantize the index and the weights, strip
// training-only content, upgrade an older file to the current format, export embeddings,
// weights and preprocessing for other tools, and import a model trained elsewhere.
// Formats and worked examples: docs/convert.md.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/parallel.h"
#include "cli.h"
#include "io/model_file.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

namespace tt::cli {

namespace {

struct ConvertFlags {
  std::string input;
  std::string output;
  std::string quantize, quantize_index, quantize_weights;
  bool strip = false;
  bool upgrade = false;
  bool evaluate = false;
  int compression = 3;
  std::string export_dir;
  bool no_npy = false, no_fvecs = false;
  std::string import_dir;
  std::string spec, preprocessing, weights;
  DataFlags data;
  int threads = 0;
  bool ann = false, no_ann = false;
  size_t ann_partitions = 0;
  uint64_t ann_seed = 0;
  std::string shard;  // "i/S"
};

// --shard i/S: two whole decimal numbers, 0 <= i < S <= ShardInfo::kMaxCount.
std::pair<size_t, size_t> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos)
    fail(ErrorKind::invalid_argument,
         "--shard: '" + text + "' is not INDEX/COUNT (e.g. 0/4 for the first of 4 shards)");
  const size_t count = parse_uint_option(text.substr(slash + 1), "--shard COUNT", 1, ShardInfo::kMaxCount);
  const size_t index = parse_uint_option(text.substr(0, slash), "--shard INDEX", 0, count - 1);
  return {index, count};
}

bool has_data(const ConvertFlags& f) {
  return f.evaluate || !f.data.data_dir.empty() || !f.data.interactions.empty() || !f.data.candidates.empty();
}

uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

std::string size_text(uint64_t bytes) {
  char buf[64];
  if (bytes >= 10 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= 10 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

// Accuracy of the stored index before and after, and the top-100 overlap, on the spec's
// held-out split of the data.
void compare(const RetrievalModel& before, const RetrievalModel& after, const ConvertFlags& f) {
  const ModelSpec& spec = before.model().spec();
  Dataset d = f.data.load(&spec);
  const Split split = split_for_spec(d.interactions, spec.data);
  const Table& test = split.test.num_rows() ? split.test : d.interactions;
  ThreadPool pool(f.threads);
  size_t examples = 0;
  const std::vector<double> a = index_topk_accuracy(before, test, spec.eval.k, pool, &examples);
  const std::vector<double> b = index_topk_accuracy(after, test, spec.eval.k, pool);
  std::printf("\naccuracy of the stored index on %zu held-out interactions (%s):\n", examples, d.source.c_str());
  std::printf("  %-8s %9s %9s %9s\n", "", "before", "after", "change");
  for (size_t i = 0; i < a.size(); ++i)
    std::printf("  top-%-4zu %9.4f %9.4f %+9.4f\n", spec.eval.k[i], a[i], b[i], b[i] - a[i]);
  const double overlap = topk_overlap(before, after, test, 100, pool);
  std::printf("  top-100 list overlap: %.4f (mean share of the 100 results both models return)\n", overlap);
}

void run_export(const ConvertFlags& f) {
  RetrievalModel rm = load_model(f.input);
  ExportOptions o;
  o.npy = !f.no_npy;
  o.fvecs = !f.no_fvecs;
  std::optional<Dataset> d;
  if (has_data(f)) {
    d = f.data.load(&rm.model().spec());
    o.queries = &d->interactions;
  }
  const auto files = export_model(rm, f.export_dir, o);
  std::printf("exported %s to %s:\n", f.input.c_str(), f.export_dir.c_str());
  for (const auto& p : files) std::printf("  %-50s %12s\n", p.c_str(), size_text(file_size(p)).c_str());
  if (d) std::printf("query embeddings: one row per interaction of %s, in table order\n", d->source.c_str());
}

void run_import(const ConvertFlags& f) {
  ImportOptions o;
  o.dir = f.import_dir;
  o.spec_path = f.spec;
  o.preprocessing_path = f.preprocessing;
  o.weights_path = f.weights;
  o.threads = f.threads;
  std::optional<Dataset> d;
  if (has_data(f)) {
    const std::string spec_path =
        f.spec.empty() ? (std::filesystem::path(f.import_dir) / "spec.json").string() : f.spec;
    const ModelSpec spec = ModelSpec::from_file(spec_path);
    d = f.data.load(&spec);
    o.candidates = &d->candidates;
    o.interactions = &d->interactions;
  }
  RetrievalModel rm = import_model(o);
  SaveOptions so;
  so.compression_level = f.compression;
  save_model(f.output, rm, so);
  std::printf("imported %s (%zu parameters, %zu candidates%s) into %s (%s)\n",
              f.import_dir.empty() ? f.weights.c_str() : f.import_dir.c_str(), rm.model().parameter_count(),
              rm.index().size(), d ? ", index built from the candidates table" : "", f.output.c_str(),
              size_text(file_size(f.output)).c_str());
}

void run_convert(const ConvertFlags& f) {
  const ModelInfo info = read_model_info(f.input);
  RetrievalModel rm = load_model(f.input);
  std::optional<Precision> index, weights;
  if (!f.quantize.empty()) index = weights = parse_precision(f.quantize, "--quantize");
  if (!f.quantize_index.empty()) index = parse_precision(f.quantize_index, "--quantize-index");
  if (!f.quantize_weights.empty()) weights = parse_precision(f.quantize_weights, "--quantize-weights");
  const Precision index_before = rm.candidate_precision(), weights_before = rm.weights_precision();
  if (index || weights) quantize_model(rm, index, weights);
  if (f.strip) strip_model(rm);
  const PartitionIndex* ann_before = rm.index().partitions();
  const size_t partitions_before = ann_before ? ann_before->partitions() : 0;
  if (f.no_ann) rm.drop_ann();
  PartitionBuildOptions ann_options;
  ann_options.partitions = f.ann_partitions;
  ann_options.seed = f.ann_seed;
  ThreadPool pool(f.threads);
  // A shard's approximate index is built over its slice.
  if (!f.shard.empty()) {
    const auto [i, count] = parse_shard(f.shard);
    shard_model(rm, i, count, pool, f.ann ? &ann_options : nullptr);
  } else if (f.ann) {
    rm.build_ann(ann_options, pool);
  }

  SaveOptions so;
  so.compression_level = f.compression;
  so.include_optimizer = !rm.optimizer_state().empty();
  save_model(f.output, rm, so);

  std::printf("%s: format version %u, written by %s\n", f.input.c_str(), info.format_version,
              info.written_by.empty() ? "an unknown twotower" : info.written_by.c_str());
  std::printf("%s: format version %u%s\n", f.output.c_str(), kModelFormatVersion,
              model_required_features(rm) ? ", required feature bit 0 (quantized tensors)" : "");
  std::printf("  index embeddings: %s -> %s\n", precision_name(index_before), precision_name(rm.candidate_precision()));
  std::printf("  weights (embedding tables, kernels): %s -> %s\n", precision_name(weights_before),
              precision_name(rm.weights_precision()));
  if (f.ann || f.no_ann) {
    const PartitionIndex* ann = rm.index().partitions();
    std::printf("  approximate index: %s -> ",
                partitions_before ? (std::to_string(partitions_before) + " partitions").c_str() : "none");
    if (ann) {
      std::printf("%zu partitions; calibrated recall@%zu:", ann->partitions(), ann->calibration_k());
      for (double r : {0.9, 0.95, 0.99}) std::printf(" %.2f at probe %zu,", r, ann->probe_for_recall(r));
      std::printf(" of %zu\n", ann->partitions());
    } else {
      std::printf("none\n");
    }
  }
  if (const auto& sh = rm.shard())
    std::printf("  shard %zu of %zu: catalogue rows %zu..%zu of %zu (%zu candidates; its ids are catalogue rows)\n",
                sh->index, sh->count, sh->offset, sh->offset + rm.index().size() - 1, sh->catalogue_size,
                rm.index().size());
  if (f.strip)
    std::printf("  stripped: optimizer state %s, training metadata dropped\n",
                info.has_optimizer_state ? "dropped" : "(none)");
  const uint64_t before = file_size(f.input), after = file_size(f.output);
  std::printf("  file size: %s -> %s (%.1f%%)\n", size_text(before).c_str(), size_text(after).c_str(),
              100.0 * static_cast<double>(after) / static_cast<double>(before));
  if (has_data(f)) compare(load_model(f.input), rm, f);
}

void run(const ConvertFlags& f) {
  if (!f.output.empty()) check_writable_path(f.output, "--output");
  const bool transform = !f.quantize.empty() || !f.quantize_index.empty() || !f.quantize_weights.empty() || f.strip ||
                         f.upgrade || f.ann || f.no_ann || !f.shard.empty();
  if (f.ann && f.no_ann) fail(ErrorKind::invalid_argument, "convert: --ann and --no-ann contradict each other");
  if (!f.shard.empty() && has_data(f))
    fail(ErrorKind::invalid_argument,
         "convert --shard: a shard holds part of the catalogue; evaluate the whole model, not a shard");
  if (!f.ann && (f.ann_partitions || f.ann_seed))
    fail(ErrorKind::invalid_argument, "convert: --ann-partitions and --ann-seed go with --ann");
  if (!f.import_dir.empty() || !f.weights.empty()) {
    if (!f.input.empty()) fail(ErrorKind::invalid_argument, "convert --import takes no input model file");
    if (f.output.empty()) fail(ErrorKind::invalid_argument, "convert --import needs --output FILE");
    if (transform || !f.export_dir.empty())
      fail(ErrorKind::invalid_argument,
           "convert --import writes a new model: quantize, strip or export it in a second step");
    return run_import(f);
  }
  if (f.input.empty()) fail(ErrorKind::invalid_argument, "convert needs an input model file (or --import DIR)");
  if (!f.export_dir.empty()) {
    if (transform || !f.output.empty())
      fail(ErrorKind::invalid_argument, "convert --export only reads the model: convert it in a separate step");
    return run_export(f);
  }
  if (f.output.empty())
    fail(ErrorKind::invalid_argument,
         "convert needs --output FILE (and --quantize, --strip, --ann, --shard or --upgrade), or --export DIR");
  std::error_code ec;
  if (std::filesystem::equivalent(f.input, f.output, ec))
    fail(ErrorKind::invalid_argument, "convert: --output is the input file; write a new file");
  run_convert(f);
}

}  // namespace

void register_convert(CLI::App& app) {
  auto f = std::make_shared<ConvertFlags>();
  auto* cmd =
      app.add_subcommand("convert", "quantize, strip, upgrade, export or import a model file (docs/convert.md)");
  cmd->add_option("model", f->input, "input model file (any format version this build reads)");
  cmd->add_option("-o,--output", f->output, "model file to write (current format version, atomically)");
  cmd->add_option("--quantize", f->quantize, "store the index embeddings and the weights as bf16, fp16, int8 (or f32)");
  cmd->add_option("--quantize-index", f->quantize_index, "precision of the index embeddings only");
  cmd->add_option("--quantize-weights", f->quantize_weights, "precision of the embedding tables and kernels only");
  cmd->add_flag("--strip", f->strip, "drop optimizer state and training metadata (a serving-only file)");
  cmd->add_flag("--upgrade", f->upgrade, "rewrite in the current format version (also what every conversion writes)");
  add_number_option(*cmd, "--compression", f->compression, 0, 19,
                    "zstd level of the output (0 stores it uncompressed; default 3)");
  cmd->add_flag("--evaluate", f->evaluate,
                "compare accuracy and top-100 lists before and after (MovieLens by default)");
  cmd->add_option("--export", f->export_dir, "write embeddings, weights and preprocessing files into this directory");
  cmd->add_flag("--no-npy", f->no_npy, "export: no .npy embeddings");
  cmd->add_flag("--no-fvecs", f->no_fvecs, "export: no .fvecs embeddings");
  cmd->add_option("--import", f->import_dir, "build a model from the files in this directory (an export's layout)");
  cmd->add_option("--spec", f->spec, "import: the model spec (default DIR/spec.json)");
  cmd->add_option("--preprocessing", f->preprocessing, "import: preprocessing state (default DIR/preprocessing.json)");
  cmd->add_option("--weights", f->weights, "import: weights, .safetensors or .npz (default DIR/weights.safetensors)");
  cmd->add_flag("--ann", f->ann,
                "build (or rebuild) the approximate index: k-means partitions of the candidate embeddings, "
                "stored in an optional section, recall calibrated at build time");
  add_number_option<size_t>(*cmd, "--ann-partitions", f->ann_partitions, 1, size_t{1} << 24,
                            "partitions of the approximate index (default about 2 sqrt(candidates))");
  add_number_option<uint64_t>(*cmd, "--ann-seed", f->ann_seed, 0, UINT64_MAX,
                              "seed of the approximate index's k-means (default 0)");
  cmd->add_flag("--no-ann", f->no_ann, "drop the approximate index");
  cmd->add_option("--shard", f->shard,
                  "INDEX/COUNT: keep shard INDEX of COUNT of the candidate index (catalogue rows "
                  "[INDEX*N/COUNT, (INDEX+1)*N/COUNT)), for sharded serving (docs/distributed.md)");
  f->data.add_to(*cmd);
  add_threads_option(*cmd, f->threads);
  cmd->callback([f] { run(*f); });
}

}  // namespace tt::cli
