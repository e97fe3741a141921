// tt_model: a RetrievalModel (untrained until tt_model_train or loaded from a file), the JSON
// texts whose pointers the API hands out, and the thread pool queries run on.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "model/retrieval_model.h"
#include "model/spec.h"
#include "twotower/twotower.h"

// tt_model_clone (capi/model_slot.cpp) copies the fields one by one: a new field needs a line there.
struct tt_model {
  tt::ModelSpec spec;
  std::unique_ptr<tt::RetrievalModel> model;  // null until trained or loaded
  uint32_t format_version = 0;                // of the file it was loaded from (0: trained here)
  std::string spec_json;
  std::string metadata_json;
  // The model's threads (tt_model_set_threads): every parallel loop of a call on the model runs
  // on this pool (docs/architecture.md, "Threads": no OpenMP team is ever started). 0: all cores.
  int threads = 0;
  std::unique_ptr<tt::ThreadPool> pool;
  std::vector<std::string> training_warnings;  // of tt_model_train, shown in metadata_json
  // References (tt_model_retain/release); the last release deletes the handle.
  std::atomic<uint64_t> refs{1};

  // Throws invalid_argument unless the model has been trained or loaded.
  const tt::RetrievalModel& trained() const;
  // The catalogue row of index position 0: the shard's offset (tt_model_shard), else 0. The
  // C API's candidate ids are index positions plus this.
  int64_t candidate_offset() const {
    return model && model->shard() ? static_cast<int64_t>(model->shard()->offset) : 0;
  }
  // Recomputes spec_json and metadata_json after training or loading.
  void refresh_texts();
  // Makes `count` (0: all cores; else 1..TT_MAX_THREADS, checked by the caller) the model's.
  void use_threads(int count);
};

namespace tt::capi {

// A shard's index is a slice of a catalogue whose ids are catalogue rows; an operation that
// would replace it with another index (`what`: "train it") is refused, naming the shard.
inline void refuse_shard(const tt_model& m, const char* what) {
  if (!m.model || !m.model->shard()) return;
  const tt::ShardInfo& sh = *m.model->shard();
  tt::fail(tt::ErrorKind::invalid_argument, "the model is shard " + std::to_string(sh.index) + " of " +
                                                std::to_string(sh.count) + " of a catalogue; to " + what +
                                                ", do so with the whole model and shard it again");
}

}  // namespace tt::capi
