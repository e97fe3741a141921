// The C side of the training progress callback: tt_model_train calls tt_go_progress, which
// hands the report to the exported Go function with the cgo.Handle of the Go-side state.
#include <stdint.h>

#include "_cgo_export.h"

static int tt_go_progress(const tt_progress* progress, void* user_data) {
  return ttGoProgress((tt_progress*)progress, (uintptr_t)user_data);
}

void tt_go_set_progress(tt_train_options* options, uintptr_t handle) {
  options->progress = tt_go_progress;
  options->user_data = (void*)handle;
}
