// The model file's `ann` section (kind 7, optional): the approximate index of the candidate
// index (index/partition_index.h) as centroids, each candidate's partition and the recall
// calibration; the int8 copy it scans is rebuilt from the index embeddings on load. Readers
// that predate the section skip it (optional kinds are skipped) and search exactly. Byte
// layout: docs/model-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "index/candidate_index.h"

namespace tt {

// Method codes (stored, frozen). 1: k-means partitions, int8 leaf scan, float32 re-score.
inline constexpr uint32_t kAnnMethodPartitions = 1;

// The section's payload for the index's approximate index (which must exist).
std::vector<uint8_t> ann_section(const CandidateIndex& index);

// Reads a payload written by ann_section for `index` (the loaded candidate index). Returns
// nullptr for a method this reader does not know (the section is then ignored: search stays
// exact). Anything inconsistent with the index is ErrorKind::corrupt, named after `what`.
std::shared_ptr<const PartitionIndex> read_ann_section(std::span<const uint8_t> payload, const std::string& what,
                                                       const CandidateIndex& index);

}  // namespace tt
