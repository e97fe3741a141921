// The approximate index through the C API: build (with its recall calibration), drop, inspect.
// Query-time parameters are fields of tt_query_options (capi/query.cpp).
#include <cstring>

#include "capi/ann_options.h"
#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "index/partition_index.h"

using namespace tt;
using capi::read_options;
using capi::require;

PartitionBuildOptions capi::ann_build_options(const tt_ann_options* options, tt_ann_options* read) {
  const tt_ann_options o = read_options(options, tt_ann_options_init, "tt_ann_options");
  capi::range_field<uint32_t>(o.iterations, 0, 1000, "tt_ann_options.iterations");
  PartitionBuildOptions bo;
  bo.partitions = o.partitions;
  bo.iterations = o.iterations;
  bo.seed = o.seed;
  if (read) *read = o;
  return bo;
}

extern "C" {

TT_API void tt_ann_options_init(tt_ann_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->iterations = 12;
}

TT_API tt_status tt_model_build_ann(tt_model* model, const tt_ann_options* options) {
  return TT_GUARD({
    require(model, "model");
    tt_ann_options o{};
    const PartitionBuildOptions bo = capi::ann_build_options(options, &o);
    (void)model->trained();
    if (o.calibration_queries) {
      const Table q = o.calibration_queries->to_table();
      model->model->build_ann(bo, *model->pool, &q);
    } else {
      model->model->build_ann(bo, *model->pool);
    }
  });
}

TT_API tt_status tt_model_drop_ann(tt_model* model) {
  return TT_GUARD({
    require(model, "model");
    (void)model->trained();
    model->model->drop_ann();
  });
}

TT_API tt_status tt_model_ann_info(const tt_model* model, double recall, size_t* partitions, size_t* probe) {
  return TT_GUARD({
    require(model, "model");
    const PartitionIndex* p = model->trained().index().partitions();
    if (partitions) *partitions = p ? p->partitions() : 0;
    if (probe) *probe = p ? p->probe_for_recall(recall) : 0;
  });
}

}  // extern "C"
