// `twotower inspect`: a model file's sections, spec and metrics, without loading its weights.
#include <cstdio>
#include <ctime>

#include "cli.h"
#include "persist/model_serialization.h"

namespace tt::cli {

namespace {

void run(const std::string& path, bool show_spec) {
  ModelInfo info = read_model_info(path);
  std::printf("%s: twotower model file, format version %u, %llu bytes, written by %s\n", path.c_str(),
              info.format_version, static_cast<unsigned long long>(info.file_size), info.written_by.c_str());
  std::printf("\n%-14s %-6s %-9s %12s %12s  %-16s\n", "section", "codec", "required", "stored", "raw", "xxh64");
  uint64_t stored = 0, raw = 0;
  for (const auto& s : info.sections) {
    std::printf("%-14s %-6s %-9s %12llu %12llu  %016llx\n", s.name.c_str(), s.codec.c_str(), s.required ? "yes" : "no",
                static_cast<unsigned long long>(s.stored_size), static_cast<unsigned long long>(s.raw_size),
                static_cast<unsigned long long>(s.checksum));
    stored += s.stored_size;
    raw += s.raw_size;
  }
  std::printf("%-14s %-6s %-9s %12llu %12llu\n", "total", "", "", static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(raw));

  const ModelSpec& spec = info.spec;
  std::printf("\nmodel %s: %zu parameters (%zu bytes as float32), %zu candidates, embedding dimension %zu%s\n",
              spec.name.c_str(), info.parameter_count, info.parameter_count * 4, info.candidates, info.embedding_dim,
              info.has_optimizer_state ? ", with optimizer state" : "");
  std::printf("  stored precision: index %s, weights %s\n", precision_name(info.index_precision),
              precision_name(info.weights_precision));
  if (info.shard)
    std::printf("  shard %zu of %zu: catalogue rows from %zu of %zu (candidate ids are catalogue rows)\n",
                info.shard->index, info.shard->count, info.shard->offset, info.shard->catalogue_size);
  for (const auto* t : {&spec.query, &spec.candidate}) {
    std::printf("  %s tower: layers [", t == &spec.query ? "query" : "candidate");
    for (size_t i = 0; i < t->layers.size(); ++i) std::printf("%s%zu", i ? ", " : "", t->layers[i]);
    std::printf("]; features:");
    for (const auto& f : t->features)
      std::printf(" %s(%s of %s)", f.name.c_str(), feature_kind_name(f.kind), f.column.c_str());
    std::printf("\n");
  }
  const TrainingMetadata& m = info.metadata;
  std::printf("\ntrained with twotower %s on %s\n", m.library_version.c_str(), m.data_source.c_str());
  std::printf("  data fingerprint %s, seed %llu, %zu epochs, %.1f s\n", m.data_fingerprint.c_str(),
              static_cast<unsigned long long>(m.seed), m.epochs, m.train_seconds);
  if (m.created_unix) {
    std::time_t t = static_cast<std::time_t>(m.created_unix);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    std::printf("  created %s\n", buf);
  }
  for (const auto& [name, value] : m.metrics) std::printf("  %-45s %.4f\n", name.c_str(), value);
  if (show_spec) std::printf("\n%s\n", spec.to_json().c_str());
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto spec = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("inspect", "show a model file's sections, sizes, codecs, spec and metrics");
  cmd->add_option("model", *path, "model file")->required();
  cmd->add_flag("--spec", *spec, "also print the full JSON spec");
  cmd->callback([path, spec] { run(*path, *spec); });
}

}  // namespace tt::cli
