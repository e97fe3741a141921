// Keeps memory alive for background readers that may outlast the call that started them.
//
// A query's scan returns without waiting for a helper thread the host descheduled in the middle
// of a block (ThreadPool::share_detached); that helper still reads the index's storage when it
// resumes. The index holds a gate; each such scan holds a pass; whatever frees or rewrites the
// storage (the index's destructor, assignment, a new scan precision) first waits until no pass
// is left. The wait lasts until the descheduled helper runs again and finishes its block.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace tt {

class ReaderGate {
 public:
  // Counts one reader until destroyed; holds the gate itself alive too.
  class Pass {
   public:
    Pass() = default;
    explicit Pass(std::shared_ptr<ReaderGate> gate) : gate_(std::move(gate)) {
      if (gate_) gate_->readers_.fetch_add(1);
    }
    ~Pass() {
      if (gate_ && gate_->readers_.fetch_sub(1) == 1) gate_->readers_.notify_all();
    }
    Pass(Pass&& other) noexcept = default;
    Pass& operator=(Pass&& other) noexcept {
      Pass dropped(std::move(*this));
      gate_ = std::move(other.gate_);
      return *this;
    }

   private:
    std::shared_ptr<ReaderGate> gate_;
  };

  // Returns once every pass taken so far is gone. Passes must not be taken concurrently with
  // this call for the storage being freed (they come from calls on the same object).
  void wait_for_readers() const {
    for (uint32_t r; (r = readers_.load()) != 0;) readers_.wait(r);
  }

 private:
  std::atomic<uint32_t> readers_{0};
};

}  // namespace tt
