// tt_ann_options as PartitionBuildOptions, checked (tt_model_build_ann, tt_index_build_ann).
#pragma once

#include "index/partition_index.h"
#include "twotower/twotower.h"

namespace tt::capi {

// NULL: the defaults. calibration_queries is left to the caller (a table for a model).
PartitionBuildOptions ann_build_options(const tt_ann_options* options, tt_ann_options* read = nullptr);

}  // namespace tt::capi
