// Start-up check of a distributed run: every rank must train the same spec on data of the same
// schema (and, as every rank fits the preprocessing on all rows, the same data). A rank that
// disagrees is named with the difference, on every rank, before any training.
#pragma once

#include <string>

#include "data/columnar.h"
#include "dist/communicator.h"
#include "model/dataset.h"
#include "model/spec.h"

namespace tt::dist {

// What the ranks must agree on, as JSON: the spec, and per table its columns (name and type),
// row count and fingerprint.
std::string run_description(const ModelSpec& spec, const Dataset& data);

// The same for a run whose interactions stay in a columnar file each rank reads its share of:
// the file's columns and types, row count and content checksum stand for the table.
std::string run_description(const ModelSpec& spec, const ColumnarFile& interactions, const Table& candidates);

// Throws ErrorKind::invalid_argument on every rank when a rank's description differs from rank
// 0's: "rank 1 disagrees with rank 0: /spec/training/batch_size is 1024 on rank 1, 2048 on rank 0".
void check_agreement(Communicator& comm, const std::string& description);

}  // namespace tt::dist
