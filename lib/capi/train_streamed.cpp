// tt_model_train_streamed: training from a columnar file larger than memory, through a shuffle
// buffer or under a memory limit (docs/data-format.md, "Streaming training").
#include <cstring>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "capi/train_call.h"
#include "data/columnar.h"
#include "model/streamed_fit.h"

using namespace tt;
using capi::range_field;
using capi::read_options;
using capi::require;

TT_API void tt_stream_options_init(tt_stream_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

TT_API tt_status tt_model_train_streamed(tt_model* model, const char* interactions_path, const tt_table* candidates,
                                         const tt_train_options* options, const tt_stream_options* stream,
                                         tt_metrics* final_metrics) {
  return TT_GUARD({
    require(model, "model");
    require(interactions_path, "interactions_path");
    require(candidates, "candidates");
    const capi::TrainCall call = capi::read_train_call(*model, options, final_metrics);
    const tt_stream_options so = read_options(stream, tt_stream_options_init, "tt_stream_options");
    if (model->model && !call.reset)
      fail(ErrorKind::invalid_argument,
           "streaming training trains a new model: set tt_train_options.reset to train a trained one anew");
    if (so.shuffle_buffer_rows == 0 && so.memory_limit == 0)
      fail(ErrorKind::invalid_argument, "tt_stream_options: set shuffle_buffer_rows, memory_limit or both");
    if (!is_columnar_file(interactions_path))
      fail(ErrorKind::invalid_argument,
           std::string(interactions_path) + " is not a columnar data file: convert it first (tt_data_convert)");
    StreamOptions s;
    s.shuffle_buffer_rows = static_cast<size_t>(
        range_field<uint64_t>(so.shuffle_buffer_rows, 0, SIZE_MAX / 2, "tt_stream_options.shuffle_buffer_rows"));
    s.memory_limit_bytes = so.memory_limit;
    FitResult fit = fit_streamed(model->spec, interactions_path, candidates->to_table(), call.options, s);
    capi::finish_train(*model, fit, false, call, final_metrics);
  });
}
