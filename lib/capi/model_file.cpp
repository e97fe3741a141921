#include <cstdlib>
#include <cstring>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "data/read_file.h"
#include "io/model_file.h"
#include "persist/model_serialization.h"

using namespace tt;
using capi::require;

static SaveOptions save_options(const tt_save_options* given) {
  const tt_save_options o = capi::read_options(given, tt_save_options_init, "tt_save_options");
  SaveOptions s;
  s.compression_level = capi::range_field(o.compression_level, 0, 19, "tt_save_options.compression_level");
  s.include_optimizer = capi::flag_field(o.include_optimizer, "tt_save_options.include_optimizer");
  return s;
}

static void adopt(tt_model* h, RetrievalModel model, uint32_t format_version, int threads) {
  h->spec = model.model().spec();
  h->model = std::make_unique<RetrievalModel>(std::move(model));
  h->format_version = format_version;
  h->use_threads(threads);
  h->refresh_texts();
}

static int load_threads(const tt_load_options* given) {
  const tt_load_options o = capi::read_options(given, tt_load_options_init, "tt_load_options");
  return checked_threads(o.threads, "tt_load_options.threads");
}

static tt_model* load_file(const char* path, int threads) {
  // One read of the file; the header (for its format version) and the model come from it.
  const std::string file = read_file(path, "model file");
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  auto h = std::make_unique<tt_model>();
  const uint32_t version = read_model_info_from_buffer(bytes, path).format_version;
  adopt(h.get(), load_model_from_buffer(bytes, path), version, threads);
  return h.release();
}

static tt_model* load_buffer(const void* data, size_t size, int threads) {
  std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data), size);
  auto h = std::make_unique<tt_model>();
  const uint32_t version = read_model_info_from_buffer(bytes).format_version;
  adopt(h.get(), load_model_from_buffer(bytes), version, threads);
  return h.release();
}

extern "C" {

TT_API uint32_t tt_model_format_version(void) { return kModelFormatVersion; }
TT_API uint32_t tt_model_format_min_version(void) { return 1; }

TT_API void tt_save_options_init(tt_save_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->compression_level = 3;
}

TT_API tt_status tt_model_save(const tt_model* model, const char* path, const tt_save_options* options) {
  return TT_GUARD({
    require(model, "model");
    require(path, "path");
    save_model(path, model->trained(), save_options(options));
  });
}

TT_API tt_status tt_model_save_to_buffer(const tt_model* model, const tt_save_options* options, void** data,
                                         size_t* size) {
  return TT_GUARD({
    require(model, "model");
    require(data, "data");
    require(size, "size");
    std::vector<uint8_t> bytes = save_model_to_buffer(model->trained(), save_options(options));
    void* p = std::malloc(bytes.empty() ? 1 : bytes.size());
    if (!p) throw std::bad_alloc();
    std::memcpy(p, bytes.data(), bytes.size());
    *data = p;
    *size = bytes.size();
  });
}

TT_API void tt_buffer_free(void* data) { std::free(data); }

TT_API void tt_load_options_init(tt_load_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

TT_API tt_status tt_model_load_v2(const char* path, const tt_load_options* options, tt_model** out) {
  return TT_GUARD({
    require(path, "path");
    require(out, "out");
    *out = load_file(path, load_threads(options));
  });
}

TT_API tt_status tt_model_load_from_buffer_v2(const void* data, size_t size, const tt_load_options* options,
                                              tt_model** out) {
  return TT_GUARD({
    require(data, "data");
    require(out, "out");
    *out = load_buffer(data, size, load_threads(options));
  });
}

TT_API tt_status tt_model_load(const char* path, tt_model** out) {
  return TT_GUARD({
    require(path, "path");
    require(out, "out");
    *out = load_file(path, 0);
  });
}

TT_API tt_status tt_model_load_from_buffer(const void* data, size_t size, tt_model** out) {
  return TT_GUARD({
    require(data, "data");
    require(out, "out");
    *out = load_buffer(data, size, 0);
  });
}

}  // extern "C"
