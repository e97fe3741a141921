// Serving a model that gets replaced: reference counts on tt_model, deep copies, and the slot
// that hands the current model to query threads while a reloader swaps it. The slot's mutex
// guards a pointer copy and a reference increment only, never a query or a free, so a reloader
// waits at most for a few such increments however many threads query (a reader-preferring
// rwlock held across queries starved reloaders for minutes).
#include <memory>
#include <mutex>

#include "capi/api_guard.h"
#include "capi/model_handle.h"

using namespace tt;
using capi::require;

struct tt_model_slot {
  std::mutex mutex;
  tt_model* model = nullptr;  // the slot's own reference; nullptr when empty
  uint64_t generation = 0;    // models installed so far
};

extern "C" {

TT_API tt_status tt_model_retain(tt_model* model) {
  return TT_GUARD({
    require(model, "model");
    // Relaxed suffices to add a reference: the caller already holds one, so no free can race.
    model->refs.fetch_add(1, std::memory_order_relaxed);
  });
}

TT_API void tt_model_release(tt_model* model) {
  if (!model) return;
  // acq_rel: every use of the model by a releasing thread happens before the delete.
  if (model->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete model;
}

TT_API tt_status tt_model_clone(const tt_model* model, tt_model** out) {
  return TT_GUARD({
    require(model, "model");
    require(out, "out");
    auto copy = std::make_unique<tt_model>();
    copy->spec = model->spec;
    if (model->model) copy->model = std::make_unique<RetrievalModel>(*model->model);
    copy->format_version = model->format_version;
    copy->spec_json = model->spec_json;
    copy->metadata_json = model->metadata_json;
    if (model->pool) copy->pool = std::make_unique<ThreadPool>(model->pool->threads());
    copy->threads = model->threads;
    copy->training_warnings = model->training_warnings;
    *out = copy.release();
  });
}

TT_API tt_status tt_model_slot_create(tt_model* model, tt_model_slot** out) {
  return TT_GUARD({
    require(out, "out");
    auto slot = std::make_unique<tt_model_slot>();
    if (model) {
      model->refs.fetch_add(1, std::memory_order_relaxed);
      slot->model = model;
      slot->generation = 1;
    }
    *out = slot.release();
  });
}

TT_API void tt_model_slot_free(tt_model_slot* slot) {
  if (!slot) return;
  tt_model_release(slot->model);
  delete slot;
}

TT_API tt_status tt_model_slot_acquire(tt_model_slot* slot, tt_model** model, uint64_t* generation) {
  return TT_GUARD({
    require(slot, "slot");
    require(model, "model");
    std::lock_guard<std::mutex> lock(slot->mutex);
    if (!slot->model) fail(ErrorKind::invalid_argument, "the slot holds no model (tt_model_slot_replace installs one)");
    // Under the mutex the slot's reference keeps the model alive while we add ours.
    slot->model->refs.fetch_add(1, std::memory_order_relaxed);
    *model = slot->model;
    if (generation) *generation = slot->generation;
  });
}

TT_API tt_status tt_model_slot_replace(tt_model_slot* slot, tt_model* model, uint64_t* generation) {
  return TT_GUARD({
    require(slot, "slot");
    if (model) model->refs.fetch_add(1, std::memory_order_relaxed);
    tt_model* previous = nullptr;
    uint64_t installed = 0;
    {
      std::lock_guard<std::mutex> lock(slot->mutex);
      previous = slot->model;
      slot->model = model;
      installed = ++slot->generation;
    }
    // Outside the mutex: freeing a large model must not hold up the threads acquiring the new one.
    tt_model_release(previous);
    if (generation) *generation = installed;
  });
}

}  // extern "C"
