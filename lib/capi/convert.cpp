// The conversion functions of the C API: quantize, strip, upgrade (tt_model_convert), export,
// import and the top-k overlap of two models. The engine side is persist/convert.h.
#include <cstring>
#include <filesystem>
#include <optional>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

using namespace tt;
using capi::precision_arg;
using capi::read_options;
using capi::require;

namespace {

RetrievalModel& trained_mut(tt_model* h) {
  if (!h->model) fail(ErrorKind::invalid_argument, "needs a trained or loaded model");
  return *h->model;
}

// tt_model_quantize*: `field` prefixes the option names in messages ("tt_quantize_options.").
void quantize(tt_model* model, const tt_quantize_options& o, const std::string& field) {
  RetrievalModel& m = trained_mut(model);
  quantize_model(m, precision_arg(o.index_precision, (field + "index_precision").c_str()),
                 precision_arg(o.weights_precision, (field + "weights_precision").c_str()));
  model->refresh_texts();
}

}  // namespace

extern "C" {

TT_API void tt_convert_options_init(tt_convert_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->index_precision = TT_PRECISION_KEEP;
  o->weights_precision = TT_PRECISION_KEEP;
  o->compression_level = 3;
}

TT_API tt_status tt_model_convert(const char* input_path, const char* output_path, const tt_convert_options* options) {
  return TT_GUARD({
    require(input_path, "input_path");
    require(output_path, "output_path");
    const tt_convert_options o = read_options(options, tt_convert_options_init, "tt_convert_options");
    capi::range_field(o.compression_level, 0, 19, "tt_convert_options.compression_level");
    const bool strip = capi::flag_field(o.strip, "tt_convert_options.strip");
    if (o.ann < -1 || o.ann > 1)
      fail(ErrorKind::invalid_argument,
           "tt_convert_options.ann must be -1 (drop), 0 (keep) or 1 (build), got " + std::to_string(o.ann));
    const auto index = precision_arg(o.index_precision, "tt_convert_options.index_precision");
    const auto weights = precision_arg(o.weights_precision, "tt_convert_options.weights_precision");
    std::error_code ec;
    if (std::filesystem::equivalent(input_path, output_path, ec))
      fail(ErrorKind::invalid_argument, std::string(output_path) + ": the output is the input file; write a new file");
    if (o.shard_count == 0 && o.shard_index != 0)
      fail(ErrorKind::invalid_argument,
           "tt_convert_options.shard_index is " + std::to_string(o.shard_index) + " without a shard_count");
    RetrievalModel m = load_model(input_path);
    if (index || weights) quantize_model(m, index, weights);
    if (strip) strip_model(m);
    if (o.ann == -1) m.drop_ann();
    PartitionBuildOptions bo;
    bo.partitions = o.ann_partitions;
    ThreadPool pool(0);
    // A shard's approximate index is built over its slice (so --ann with --shard builds it once).
    if (o.shard_count)
      shard_model(m, o.shard_index, o.shard_count, pool, o.ann == 1 ? &bo : nullptr);
    else if (o.ann == 1)
      m.build_ann(bo, pool);
    SaveOptions so;
    so.compression_level = o.compression_level;
    so.include_optimizer = !m.optimizer_state().empty();
    save_model(output_path, m, so);
  });
}

TT_API void tt_quantize_options_init(tt_quantize_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->index_precision = TT_PRECISION_KEEP;
  o->weights_precision = TT_PRECISION_KEEP;
}

TT_API tt_status tt_model_quantize_v2(tt_model* model, const tt_quantize_options* options) {
  return TT_GUARD({
    require(model, "model");
    quantize(model, read_options(options, tt_quantize_options_init, "tt_quantize_options"), "tt_quantize_options.");
  });
}

TT_API tt_status tt_model_quantize(tt_model* model, int32_t index_precision, int32_t weights_precision) {
  return TT_GUARD({
    require(model, "model");
    tt_quantize_options o;
    tt_quantize_options_init(&o);
    o.index_precision = index_precision;
    o.weights_precision = weights_precision;
    quantize(model, o, "");
  });
}

TT_API tt_status tt_model_strip(tt_model* model) {
  return TT_GUARD({
    require(model, "model");
    strip_model(trained_mut(model));
    model->refresh_texts();
  });
}

TT_API tt_status tt_model_set_search_precision(tt_model* model, int32_t precision) {
  return TT_GUARD({
    require(model, "model");
    // TT_SEARCH_PRECISION_AUTO and TT_PRECISION_KEEP are both -1: no explicit choice.
    trained_mut(model).set_search_precision(precision_arg(precision, "precision"));
  });
}

TT_API tt_status tt_model_search_precision(const tt_model* model, int32_t* precision) {
  return TT_GUARD({
    require(model, "model");
    require(precision, "precision");
    *precision = static_cast<int32_t>(model->trained().search_precision());
  });
}

TT_API tt_status tt_model_precision(const tt_model* model, int32_t* index_precision, int32_t* weights_precision) {
  return TT_GUARD({
    require(model, "model");
    const RetrievalModel& m = model->trained();
    if (index_precision) *index_precision = static_cast<int32_t>(m.candidate_precision());
    if (weights_precision) *weights_precision = static_cast<int32_t>(m.weights_precision());
  });
}

TT_API tt_status tt_model_topk_overlap(const tt_model* a, const tt_model* b, const tt_table* queries, size_t k,
                                       double* out) {
  return TT_GUARD({
    require(a, "a");
    require(b, "b");
    require(queries, "queries");
    require(out, "out");
    capi::range_field<size_t>(k, 1, kMaxTopK, "k");
    const Table q = queries->to_table();
    *out = topk_overlap(a->trained(), b->trained(), q, k, *a->pool);
  });
}

TT_API void tt_export_options_init(tt_export_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->npy = o->fvecs = o->candidates = o->weights = o->preprocessing = 1;
}

TT_API tt_status tt_model_export(const tt_model* model, const char* directory, const tt_export_options* options) {
  return TT_GUARD({
    require(model, "model");
    require(directory, "directory");
    const tt_export_options o = read_options(options, tt_export_options_init, "tt_export_options");
    ExportOptions eo;
    std::optional<Table> queries;
    if (o.queries) {
      queries = o.queries->to_table();
      eo.queries = &*queries;
    }
    eo.npy = capi::flag_field(o.npy, "tt_export_options.npy");
    eo.fvecs = capi::flag_field(o.fvecs, "tt_export_options.fvecs");
    eo.candidates = capi::flag_field(o.candidates, "tt_export_options.candidates");
    eo.weights = capi::flag_field(o.weights, "tt_export_options.weights");
    eo.preprocessing = capi::flag_field(o.preprocessing, "tt_export_options.preprocessing");
    export_model(model->trained(), directory, eo);
  });
}

TT_API void tt_import_options_init(tt_import_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

TT_API tt_status tt_model_import(const char* directory, const tt_import_options* options, tt_model** out) {
  return TT_GUARD({
    require(out, "out");
    const tt_import_options o = read_options(options, tt_import_options_init, "tt_import_options");
    if (!directory && (!o.spec_path || !o.weights_path))
      fail(ErrorKind::invalid_argument, "directory is NULL and spec_path or weights_path is not given");
    ImportOptions io;
    if (directory) io.dir = directory;
    if (o.spec_path) io.spec_path = o.spec_path;
    if (o.preprocessing_path) io.preprocessing_path = o.preprocessing_path;
    if (o.weights_path) io.weights_path = o.weights_path;
    io.threads = checked_threads(o.threads, "tt_import_options.threads");
    std::optional<Table> candidates, interactions;
    if (o.candidates) {
      candidates = o.candidates->to_table();
      io.candidates = &*candidates;
    }
    if (o.interactions) {
      interactions = o.interactions->to_table();
      io.interactions = &*interactions;
    }
    auto h = std::make_unique<tt_model>();
    h->model = std::make_unique<RetrievalModel>(import_model(io));
    h->spec = h->model->model().spec();
    h->use_threads(o.threads);
    h->refresh_texts();
    *out = h.release();
  });
}

}  // extern "C"
