#include "dist/distributed_fit.h"

#include "base/parallel.h"
#include "dist/agreement.h"
#include "dist/mpi_exchange.h"
#include "model/rank_share.h"
#include "model/streamed_fit.h"

namespace tt::dist {

namespace {

// Both entry points: the exchange installed in the options, the steps counted, the stats filled
// from `fit(options)`'s result.
template <class Fit>
FitResult run_with_exchange(TrainOptions options, Communicator& comm, DistributedStats* stats, Fit&& fit) {
  MpiExchange exchange(comm);
  options.exchange = &exchange;
  options.order_ranks = static_cast<size_t>(comm.size());
  size_t steps = 0;
  auto user_progress = std::move(options.on_progress);
  options.on_progress = [&](const TrainProgress& p) {
    if (!p.record) ++steps;
    return user_progress ? user_progress(p) : true;
  };
  FitResult out = fit(options);
  if (stats) {
    stats->ranks = comm.size();
    stats->steps = steps;
    stats->bytes_sent = exchange.bytes_sent();
    stats->exchange_seconds = exchange.seconds();
    stats->train_seconds = 0;
    for (const EpochRecord& e : out.training.history) stats->train_seconds += e.seconds;
    const size_t r = static_cast<size_t>(comm.rank()), n = static_cast<size_t>(comm.size());
    const auto [a, b] = rank_rows(out.train_rows, r, n);
    const auto [c, d] = rank_rows(out.test_rows, r, n);
    stats->rank_train_rows = b - a;
    stats->rank_test_rows = d - c;
  }
  return out;
}

}  // namespace

FitResult fit_distributed(const ModelSpec& spec, const Dataset& data, TrainOptions options, Communicator& comm,
                          DistributedStats* stats) {
  check_agreement(comm, run_description(spec, data));
  if (stats) stats->rows_held = data.interactions.num_rows();
  return run_with_exchange(std::move(options), comm, stats,
                           [&](const TrainOptions& o) { return fit_retrieval_model(spec, data, o); });
}

FitResult fit_distributed_file(const ModelSpec& spec, const std::string& interactions_path, const Table& catalogue,
                               TrainOptions options, Communicator& comm, DistributedStats* stats) {
  check_train_options(options);
  const ColumnarFile file = ColumnarFile::open(interactions_path);
  check_agreement(comm, run_description(spec, file, catalogue));
  return run_with_exchange(std::move(options), comm, stats, [&](const TrainOptions& o) {
    RankShare share = read_rank_share(spec, file, catalogue, static_cast<size_t>(comm.rank()),
                                      static_cast<size_t>(comm.size()), kDefaultBlockRows);
    if (stats) stats->rows_held = share.train.num_rows() + share.test.num_rows();
    FitResult out;
    out.warnings = std::move(share.warnings);
    out.train_rows = share.train_rows;
    out.test_rows = share.test_rows;
    share.model.initialize(spec.training.seed);
    out.training = train_model(share.model, share.train, Table(), share.test, catalogue, o);
    // The popularity counts of all training rows, as one process records them.
    out.training.candidate_counts = std::move(share.counts);
    out.model = std::make_unique<RetrievalModel>(std::move(share.model));
    ThreadPool pool(o.threads);
    out.model->build_index(catalogue, pool, &share.test);
    out.model->optimizer_state() = out.training.optimizer_state;
    record_training_metadata(*out.model, interactions_path,
                             columnar_fingerprint(file) + "-" + table_fingerprint(catalogue), o, out.training, 0);
    return out;
  });
}

}  // namespace tt::dist
