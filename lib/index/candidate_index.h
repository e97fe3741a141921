// The candidate index: every candidate's key and its embedding from the trained candidate tower,
// and exact top-K search over it by inner product.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/precision.h"
#include "base/reader_gate.h"
#include "nn/matrix.h"

namespace tt {

class ThreadPool;
class PartitionIndex;
struct PartitionBuildOptions;

// Per-call search options; never stored on the shared index, so concurrent searches with
// different options are safe.
struct SearchOptions {
  size_t k = 10;
  // exclude[i]: candidate positions query i must not return (e.g. items already rated).
  // Empty, or one span per query.
  std::vector<std::span<const int64_t>> exclude;
  // If non-empty, only these candidate positions may be returned (for every query).
  std::span<const int64_t> allow;
  // Approximate search, when the index has an approximate index (set_partitions,
  // build_partitions); without one these are ignored and the search is exact. Approximate when
  // probe > 0, or when 0 < recall < 1: then probe is the breadth calibrated to reach that
  // recall@k. rescore: shortlist re-scored in float32 (0: PartitionIndex::default_rescore).
  double recall = 0.0;
  size_t probe = 0;
  size_t rescore = 0;
};

namespace testing {
// Test-only: when set, a search scanned by the caller and the pool's helpers calls it before
// (done = false) and after (done = true) each block of candidates; thread 0 is the caller.
inline std::atomic<void (*)(size_t thread, size_t block, bool done)> shared_scan_hook{nullptr};
}  // namespace testing

class CandidateIndex {
 public:
  static constexpr size_t kCompactScanMaxQueries = 8;
  // Searches that read fewer bytes of embeddings than this run on the calling thread (the
  // default; set_serial_scan_bytes changes it, e.g. to measure where threads start to pay).
  static constexpr size_t kSerialScanBytes = size_t{16} << 20;

  CandidateIndex() = default;
  // keys[i] names row i of `embeddings`. Keys need not be unique (MovieLens has 18 titles under
  // two ids); key_position() returns the first row with a key.
  CandidateIndex(std::vector<std::string> keys, Matrix embeddings);
  // The key map holds views into keys_, so copies rebuild it; moves keep it (a moved vector
  // keeps its strings' storage).
  CandidateIndex(const CandidateIndex& other) : CandidateIndex(other.keys_, other.embeddings_) {
    scan_precision_ = other.scan_precision_;
    packed_bf16_ = other.packed_bf16_;
    packed_int8_ = other.packed_int8_;
    packed_scales_ = other.packed_scales_;
    max_norm_ = other.max_norm_;
    max_scale_ = other.max_scale_;
    partitions_ = other.partitions_;
    serial_scan_bytes_ = other.serial_scan_bytes_;
  }
  CandidateIndex& operator=(const CandidateIndex& other) {
    if (this != &other) *this = CandidateIndex(other);
    return *this;
  }
  CandidateIndex(CandidateIndex&&) noexcept = default;
  CandidateIndex& operator=(CandidateIndex&&) noexcept = default;
  ~CandidateIndex() { gate_.wait(); }

  size_t size() const { return keys_.size(); }
  size_t dim() const { return embeddings_.cols(); }
  const std::vector<std::string>& keys() const { return keys_; }
  const Matrix& embeddings() const { return embeddings_; }
  // Position of the first candidate with this key, or -1.
  int64_t key_position(std::string_view key) const;
  // Every position with this key (MovieLens lists 18 titles under two ids each).
  std::vector<int64_t> key_positions(std::string_view key) const;

  // Exact top-k by inner product for n queries (n x dim, row-major). Writes ids[n*k] (candidate
  // positions) and scores[n*k], best first; ties go to the lower position; slots beyond the
  // available candidates are -1 with score -inf. Thread-safe (const).
  void search(const float* queries, size_t n, const SearchOptions& options, int64_t* ids, float* scores,
              ThreadPool& pool) const;
  // How many searches in this process have scanned again blocks that a helper thread had
  // claimed but not finished when the caller ran out of blocks (the host had descheduled it);
  // for tests and benchmarks.
  static uint64_t searches_redone();

  // The precision search() scans at. f32 (the default) scores every candidate in float32.
  // bf16 and int8 keep a compact copy of the embeddings beside the float32 ones and scan that
  // (half or a quarter of the memory traffic), then re-score a shortlist exactly in float32.
  // The shortlist holds every candidate whose approximate score is within twice a proven error
  // bound of the approximate k-th best, so the result is the same top-k as the float32 scan
  // (up to float32 rounding ties). fp16 is not a scan precision (no fast conversion). Only
  // searches of up to kCompactScanMaxQueries queries use the compact copy: they are bound by
  // memory reads; larger batches are bound by arithmetic and scan float32.
  void set_scan_precision(Precision p);
  Precision scan_precision() const { return scan_precision_; }

  // The approximate index (index/partition_index.h), shared between copies (it never changes
  // once built); nullptr when there is none. set_partitions checks that it indexes these
  // embeddings (same count and dimension).
  const PartitionIndex* partitions() const { return partitions_.get(); }
  std::shared_ptr<const PartitionIndex> shared_partitions() const { return partitions_; }
  void set_partitions(std::shared_ptr<const PartitionIndex> partitions);
  // Builds the approximate index from the embeddings and calibrates its recall curve against
  // exact search on options.calibration_queries (or a sample of the candidates).
  void build_partitions(const PartitionBuildOptions& options, ThreadPool& pool);
  void set_serial_scan_bytes(size_t bytes) { serial_scan_bytes_ = bytes; }
  size_t serial_scan_bytes() const { return serial_scan_bytes_; }
  // Whether a search with these options goes through the approximate index.
  bool approximate(const SearchOptions& options) const;

 private:
  // Largest error of one approximate score for a query with these norms (before the factor 2).
  float approximation_bound(double norm1, double norm2) const;

  // A search may return while a helper thread the host descheduled still scans a block of the
  // storage below (candidate_index.cpp, SharedScan); whatever frees or rewrites that storage
  // waits for it first (base/reader_gate.h). Declared first, so that an assignment waits
  // before any other member changes; the destructor waits before any member is destroyed.
  struct Gate {
    std::shared_ptr<ReaderGate> gate = std::make_shared<ReaderGate>();
    Gate() = default;
    Gate(const Gate&) : Gate() {}  // a copy has storage of its own
    Gate(Gate&&) noexcept = default;
    Gate& operator=(const Gate&) = delete;
    Gate& operator=(Gate&& other) noexcept {
      wait();
      gate = std::move(other.gate);
      return *this;
    }
    // A moved-from index has no gate (and no storage to wait for).
    void wait() const {
      if (gate) gate->wait_for_readers();
    }
  };
  Gate gate_;
  std::vector<std::string> keys_;
  Matrix embeddings_;
  std::unordered_map<std::string_view, int64_t> position_;
  // Positions after the first of keys that occur more than once (queries exclude by key).
  std::unordered_map<std::string_view, std::vector<int64_t>> repeated_;
  // The compact copy scanned by search(), packed in groups of candidates (compact_scan.h).
  Precision scan_precision_ = Precision::f32;
  std::vector<uint16_t> packed_bf16_;
  std::vector<int8_t> packed_int8_;
  std::vector<float> packed_scales_;  // int8: one per candidate, zero-padded to whole groups
  float max_norm_ = 0.0f;             // largest L2 norm of a float32 row (bound of the bf16 error)
  float max_scale_ = 0.0f;            // largest int8 row scale (bound of the int8 error)
  std::shared_ptr<const PartitionIndex> partitions_;
  size_t serial_scan_bytes_ = kSerialScanBytes;
};

}  // namespace tt
