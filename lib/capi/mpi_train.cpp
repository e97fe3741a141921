// twotower_mpi.h: tt_model_train_distributed, the C entry point of data-parallel training
// (docs/distributed.md). Part of the MPI component (libtwotower_mpi), never of the core library.
#include <mpi.h>

#include <cmath>
#include <cstring>

#include "capi/api_guard.h"
#include "capi/model_handle.h"
#include "capi/read_options.h"
#include "capi/table_handle.h"
#include "capi/train_call.h"
#include "data/columnar.h"
#include "dist/distributed_fit.h"
#include "twotower/twotower_mpi.h"

// tt_mpi_stats's first version ended at train_seconds (rows_held and the rank rows were
// appended); beside the other structs' in capi/struct_sizes.h, which cannot see twotower_mpi.h.
template <>
inline constexpr size_t tt::capi::kFirstSize<tt_mpi_stats> = offsetof(tt_mpi_stats, rows_held);

using namespace tt;
using capi::require;

namespace {

double checked_timeout(double seconds) {
  if (seconds == 0.0) return dist::timeout_from_environment(300.0);
  if (!(seconds >= 0.001 && seconds <= 1e6))
    fail(ErrorKind::invalid_argument,
         "tt_mpi_options.timeout_seconds is " + std::to_string(seconds) + "; it must be 0 (the default) or 0.001..1e6");
  return seconds;
}

// The library's own copy of the caller's communicator, freed however the call ends.
class DuplicateComm {
 public:
  DuplicateComm(MPI_Comm comm, double timeout) : comm_(dist::duplicate_communicator(comm, timeout)) {}
  ~DuplicateComm() { MPI_Comm_free(&comm_); }
  DuplicateComm(const DuplicateComm&) = delete;
  DuplicateComm& operator=(const DuplicateComm&) = delete;
  MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_;
};

// Both entry points: the checks before any collective, the run on a duplicate of `comm`, the
// handle and the outputs once it has succeeded. `fit` trains on the communicator.
template <class Fit>
void train_distributed(tt_model* model, const tt_table* candidates, MPI_Comm comm, const tt_train_options* options,
                       const tt_mpi_options* mpi_options, tt_metrics* final_metrics, tt_mpi_stats* stats, Fit&& fit) {
  require(model, "model");
  require(candidates, "candidates");
  const capi::TrainCall call = capi::read_train_call(*model, options, final_metrics);
  const tt_mpi_options mo = capi::read_options(mpi_options, tt_mpi_options_init, "tt_mpi_options");
  const double timeout = checked_timeout(mo.timeout_seconds);
  capi::check_result(stats, "tt_mpi_stats");
  if (model->model && !call.reset)
    fail(ErrorKind::invalid_argument,
         "the model is trained or loaded, and a distributed run trains a new model: set tt_train_options.reset "
         "to 1 to train it anew from its spec (a warm start runs in one process: tt_model_train)");
  DuplicateComm own(comm, timeout);
  dist::Communicator communicator(own.get(), timeout);
  dist::DistributedStats measured;
  FitResult result = fit(call.options, communicator, measured);
  capi::finish_train(*model, result, false, call, final_metrics);
  if (stats) {
    tt_mpi_stats full;
    tt_mpi_stats_init(&full);
    full.ranks = measured.ranks;
    full.steps = measured.steps;
    full.bytes_sent = measured.bytes_sent;
    full.exchange_seconds = measured.exchange_seconds;
    full.train_seconds = measured.train_seconds;
    full.rows_held = measured.rows_held;
    full.rank_train_rows = measured.rank_train_rows;
    full.rank_test_rows = measured.rank_test_rows;
    capi::write_result(full, stats, "tt_mpi_stats");
  }
}

}  // namespace

extern "C" {

TT_API void tt_mpi_options_init(tt_mpi_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
}

TT_API void tt_mpi_stats_init(tt_mpi_stats* s) {
  if (!s) return;
  std::memset(s, 0, sizeof *s);
  s->struct_size = sizeof *s;
}

TT_API tt_status tt_model_train_distributed(tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                            MPI_Comm comm, const tt_train_options* options,
                                            const tt_mpi_options* mpi_options, tt_metrics* final_metrics,
                                            tt_mpi_stats* stats) {
  return TT_GUARD({
    require(interactions, "interactions");
    train_distributed(model, candidates, comm, options, mpi_options, final_metrics, stats,
                      [&](const TrainOptions& o, dist::Communicator& c, dist::DistributedStats& measured) {
                        const Dataset data = capi::train_dataset(interactions, candidates);
                        return dist::fit_distributed(model->spec, data, o, c, &measured);
                      });
  });
}

TT_API tt_status tt_model_train_distributed_file(tt_model* model, const char* interactions_path,
                                                 const tt_table* candidates, MPI_Comm comm,
                                                 const tt_train_options* options, const tt_mpi_options* mpi_options,
                                                 tt_metrics* final_metrics, tt_mpi_stats* stats) {
  return TT_GUARD({
    require(interactions_path, "interactions_path");
    if (!is_columnar_file(interactions_path))
      fail(ErrorKind::invalid_argument, std::string(interactions_path) +
                                            " is not a columnar data file: convert it first (tt_data_convert), or "
                                            "load it and call tt_model_train_distributed");
    train_distributed(model, candidates, comm, options, mpi_options, final_metrics, stats,
                      [&](const TrainOptions& o, dist::Communicator& c, dist::DistributedStats& measured) {
                        return dist::fit_distributed_file(model->spec, interactions_path, candidates->to_table(), o, c,
                                                          &measured);
                      });
  });
}

}  // extern "C"
