// A RetrievalModel to and from a model file (container: io/model_file.h; byte-level spec:
// docs/model-format.md). Sections: spec (JSON), metadata (JSON), preprocessing (every feature
// encoder's fitted state), weights (every tensor by name, with dtype and shape), index
// (candidate keys and embeddings) and, on request, optimizer state.
//
// A loaded model answers exactly as the saved one did: every float is stored bit for bit.
// Loading checks every tensor against the shapes the spec and the preprocessing imply before
// allocating it, so a hostile file cannot make the loader allocate more than it holds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/precision.h"
#include "io/model_file.h"
#include "model/retrieval_model.h"

namespace tt {

struct SaveOptions {
  // zstd level for every section (1..19 usual, up to ZSTD_maxCLevel(); negative: faster);
  // 0 stores every section uncompressed. A section is stored raw anyway when compression would
  // not make it smaller.
  int compression_level = 3;
  // Also store the optimizer state (a training checkpoint), if the model has any.
  bool include_optimizer = false;
  // false stores the index raw (64-byte aligned in the file, so a reader could map it).
  bool compress_index = true;
};

// Weight and index element types (stored in files, frozen): the precisions of base/precision.h,
// 0 f32, 1 bf16, 2 fp16, 3 int8.
using TensorDType = Precision;

// One row of the section table, for inspection.
struct SectionSummary {
  uint32_t kind = 0;
  std::string name;   // "weights", or "kind 17" for a section this reader does not know
  std::string codec;  // "raw", "zstd", or "codec N"
  bool required = false;
  uint64_t offset = 0;
  uint64_t stored_size = 0;
  uint64_t raw_size = 0;
  uint64_t checksum = 0;
};

struct ModelInfo {
  uint32_t format_version = 0;
  uint64_t file_size = 0;
  std::vector<SectionSummary> sections;
  ModelSpec spec;
  TrainingMetadata metadata;
  std::string written_by;  // "twotower 0.1.0": the library that wrote the file
  size_t parameter_count = 0;
  size_t candidates = 0;
  size_t embedding_dim = 0;
  bool has_optimizer_state = false;
  uint32_t required_features = 0;
  // From the metadata's summary (f32 when it does not say: files written before quantization).
  Precision index_precision = Precision::f32;
  Precision weights_precision = Precision::f32;
  std::optional<ShardInfo> shard;  // the metadata's "shard" object, for a shard's file
};

// The sections of a model, in file order (spec, metadata, preprocessing, weights, index,
// optimizer). Throws invalid_argument if the model is not fitted and built.
std::vector<SectionData> model_sections(const RetrievalModel& model, const SaveOptions& options);

// The required-feature bits a file of this model needs (kRequiredFeatureQuantized when its
// index or weights are stored below f32, kRequiredFeatureMultiValue when a feature is a
// multi_value_lookup).
uint32_t model_required_features(const RetrievalModel& model);
// The precision a weight tensor is stored at when the model's weights are at `weights`:
// embedding tables and kernels at `weights`, biases ("*/bias") always f32.
Precision stored_weight_precision(const std::string& tensor_name, Precision weights);

// The index section (kind 5): keys, dimension, dtype and the embeddings stored at `precision`
// (the values must already be on that precision's grid for a lossless round trip).
std::vector<uint8_t> index_section(const CandidateIndex& index, size_t dim, Precision precision);
// Reads and checks a file's index section; `dim`, when given, is the dimension it must have.
// `precision` receives the stored dtype. The ann section is not read.
CandidateIndex load_index(const ModelFileReader& f, std::optional<size_t> dim, Precision& precision);

void save_model(const std::string& path, const RetrievalModel& model, const SaveOptions& options = {});
std::vector<uint8_t> save_model_to_buffer(const RetrievalModel& model, const SaveOptions& options = {});

RetrievalModel load_model(const std::string& path);
RetrievalModel load_model_from_buffer(std::span<const uint8_t> data, const std::string& name = "<buffer>");

// Reads only the header, the table and the spec and metadata sections (weights, preprocessing
// and index are neither read nor decompressed).
ModelInfo read_model_info(const std::string& path);
ModelInfo read_model_info_from_buffer(std::span<const uint8_t> data, const std::string& name = "<buffer>");

}  // namespace tt
