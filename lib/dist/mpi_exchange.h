// The trainer's StepExchange (model/step_exchange.h) over MPI: candidate columns all-gathered,
// their gradients reduce-scattered back to their owners, dense gradients all-reduced, and
// embedding-table gradients exchanged as touched rows only.
#pragma once

#include "dist/communicator.h"
#include "model/step_exchange.h"

namespace tt::dist {

class MpiExchange final : public StepExchange {
 public:
  explicit MpiExchange(Communicator& comm) : comm_(comm) {}

  size_t rank() const override { return static_cast<size_t>(comm_.rank()); }
  size_t ranks() const override { return static_cast<size_t>(comm_.size()); }
  void gather_candidates(const StepCandidates& local, GatheredCandidates& all) override;
  void reduce_candidate_gradient(const Matrix& all_dc, Matrix& local_dc) override;
  void reduce_gradients(std::span<Parameter* const> params) override;
  double sum(double value) override;
  void reduce_metrics(TopKMetrics& metrics) override;
  void check_same_weights(std::span<Parameter* const> params) override;

  // Bytes this process sent into collectives during training and the seconds it spent in them
  // (waiting for the other ranks included): the communication share of a step.
  uint64_t bytes_sent() const { return bytes_sent_; }
  double seconds() const { return seconds_; }

 private:
  Communicator& comm_;
  std::vector<size_t> columns_;  // per rank: its candidate columns in the last gather
  std::vector<uint8_t> send_;
  std::vector<float> dense_, dc_ranked_;
  uint64_t bytes_sent_ = 0;
  double seconds_ = 0.0;
  size_t checks_ = 0;
};

}  // namespace tt::dist
