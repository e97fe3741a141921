// Sharded serving in the C API: making a model a shard of its catalogue, reading its shard, and
// merging the shards' top-k answers. Candidate ids of a shard are catalogue rows; query.cpp
// translates them (capi/model_handle.h, candidate_offset).
#include <cstring>
#include <vector>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "index/topk_merge.h"
#include "persist/convert.h"

using namespace tt;
using capi::require;

extern "C" {

TT_API void tt_shard_info_init(tt_shard_info* info) {
  if (!info) return;
  std::memset(info, 0, sizeof *info);
  info->struct_size = sizeof *info;
  info->count = 1;
}

TT_API tt_status tt_model_shard(tt_model* model, uint32_t index, uint32_t count) {
  return TT_GUARD({
    require(model, "model");
    if (!model->model) fail(ErrorKind::invalid_argument, "needs a trained or loaded model");
    shard_model(*model->model, index, count, *model->pool);
    model->refresh_texts();
  });
}

TT_API tt_status tt_model_shard_info(const tt_model* model, tt_shard_info* info) {
  return TT_GUARD({
    require(model, "model");
    require(info, "info");
    capi::check_result(info, "tt_shard_info");
    const RetrievalModel& rm = model->trained();
    const size_t n = rm.index().size();
    const ShardInfo sh = rm.shard().value_or(ShardInfo{0, 1, 0, n});
    tt_shard_info full;
    tt_shard_info_init(&full);
    full.index = static_cast<uint32_t>(sh.index);
    full.count = static_cast<uint32_t>(sh.count);
    full.offset = sh.offset;
    full.candidates = n;
    full.catalogue_size = sh.catalogue_size;
    capi::write_result(full, info, "tt_shard_info");
  });
}

TT_API tt_status tt_topk_merge(const int64_t* const* ids, const float* const* scores, size_t lists, size_t rows,
                               size_t k_in, size_t k, int64_t* out_ids, float* out_scores) {
  return TT_GUARD({
    if (lists) {
      require(ids, "ids");
      require(scores, "scores");
    }
    if (rows) {
      require(out_ids, "out_ids");
      require(out_scores, "out_scores");
    }
    if (k == 0 || k > kMaxTopK)
      fail(ErrorKind::invalid_argument,
           "k is " + std::to_string(k) + "; it must be positive and at most " + std::to_string(kMaxTopK));
    merge_topk(std::span<const int64_t* const>(ids, lists), std::span<const float* const>(scores, lists), rows, k_in, k,
               out_ids, out_scores);
  });
}

}  // extern "C"
