#include "persist/ann_section.h"

#include "base/bytes.h"
#include "base/error.h"
#include "index/partition_index.h"

namespace tt {

namespace {

constexpr size_t kAlign = 64;  // tensor data starts at a multiple of 64 in the payload

void pad(ByteWriter& w) {
  static const uint8_t zeros[kAlign] = {};
  w.raw(zeros, (kAlign - w.bytes().size() % kAlign) % kAlign);
}

void skip_pad(ByteReader& r) {
  for (uint8_t b : r.view((kAlign - r.position() % kAlign) % kAlign, "padding"))
    if (b != 0) r.corrupt("nonzero padding byte before byte " + std::to_string(r.position()));
}

}  // namespace

std::vector<uint8_t> ann_section(const CandidateIndex& index) {
  const PartitionIndex& p = *index.partitions();
  ByteWriter w;
  w.u32(kAnnMethodPartitions);
  w.u32(0);
  w.u64(p.size());
  w.u64(p.dim());
  w.u64(p.partitions());
  w.u64(p.calibration_k());
  w.u64(p.calibration().size());
  for (const auto& c : p.calibration()) {
    w.u32(c.probe);
    w.f32(c.recall);
  }
  pad(w);
  w.raw(p.centroids().data(), p.centroids().size() * sizeof(float));
  pad(w);
  w.raw(p.assignment().data(), p.assignment().size() * sizeof(uint32_t));
  return w.take();
}

std::shared_ptr<const PartitionIndex> read_ann_section(std::span<const uint8_t> payload, const std::string& what,
                                                       const CandidateIndex& index) {
  ByteReader r(payload, what);
  const uint32_t method = r.u32();
  if (method != kAnnMethodPartitions) return nullptr;  // a newer kind of approximate index: search exactly
  r.u32();                                             // reserved
  const uint64_t count = r.u64(), dim = r.u64(), parts = r.u64(), calibration_k = r.u64();
  if (count != index.size() || dim != index.dim())
    r.corrupt("indexes " + std::to_string(count) + " x " + std::to_string(dim) + " embeddings, the index holds " +
              std::to_string(index.size()) + " x " + std::to_string(index.dim()));
  if (parts == 0 || parts > count)
    r.corrupt(std::to_string(parts) + " partitions for " + std::to_string(count) + " candidates");
  const uint64_t points = r.u64();
  if (points > parts || points > r.remaining() / 8)
    r.corrupt(std::to_string(points) + " calibration points (at most one per partition, and 8 bytes each)");
  std::vector<PartitionCalibration> curve(static_cast<size_t>(points));
  for (auto& c : curve) {
    c.probe = r.u32();
    c.recall = r.f32();
  }
  skip_pad(r);
  // Sizes are bounded by the payload before anything is allocated.
  if (parts * dim > r.remaining() / sizeof(float)) r.corrupt("centroids exceed the section");
  Matrix centroids(static_cast<size_t>(parts), static_cast<size_t>(dim));
  r.raw(centroids.data(), centroids.size() * sizeof(float), "centroids");
  skip_pad(r);
  if (count > r.remaining() / sizeof(uint32_t)) r.corrupt("assignments exceed the section");
  std::vector<uint32_t> assignment(static_cast<size_t>(count));
  r.raw(assignment.data(), assignment.size() * sizeof(uint32_t), "assignments");
  r.expect_end();
  try {
    return std::make_shared<PartitionIndex>(PartitionIndex::from_parts(
        index.embeddings(), std::move(centroids), std::move(assignment), std::move(curve), calibration_k));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid_argument) r.corrupt(e.what());
    throw;
  }
}

}  // namespace tt
