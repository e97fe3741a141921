#include "dist/distributed_fit.h"

#include "dist/agreement.h"
#include "dist/mpi_exchange.h"

namespace tt::dist {

FitResult fit_distributed(const ModelSpec& spec, const Dataset& data, TrainOptions options, Communicator& comm,
                          DistributedStats* stats) {
  check_agreement(comm, run_description(spec, data));
  MpiExchange exchange(comm);
  options.exchange = &exchange;
  options.order_ranks = static_cast<size_t>(comm.size());
  size_t steps = 0;
  auto user_progress = std::move(options.on_progress);
  options.on_progress = [&](const TrainProgress& p) {
    if (!p.record) ++steps;
    return user_progress ? user_progress(p) : true;
  };
  FitResult fit = fit_retrieval_model(spec, data, options);
  if (stats) {
    stats->ranks = comm.size();
    stats->steps = steps;
    stats->bytes_sent = exchange.bytes_sent();
    stats->exchange_seconds = exchange.seconds();
    stats->train_seconds = 0;
    for (const EpochRecord& e : fit.training.history) stats->train_seconds += e.seconds;
  }
  return fit;
}

}  // namespace tt::dist
