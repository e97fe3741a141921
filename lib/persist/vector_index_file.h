// A vector index (index/vector_index.h) as a model file: the container of io/model_file.h with
// an `index` section (kind 5, the keys in decimal and the vectors at the index's precision) and,
// when there is one, the `ann` section (kind 7); no spec, weights or preprocessing. A model
// file's index loads the same way (its other sections are not read), so a trained model's
// candidate embeddings can be served to vectors made elsewhere. docs/model-format.md, "Vector
// index files".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "index/vector_index.h"
#include "persist/model_serialization.h"

namespace tt {

void save_vector_index(const std::string& path, const VectorIndex& index, int compression_level);
std::vector<uint8_t> save_vector_index_to_buffer(const VectorIndex& index, int compression_level);

// Reads an index file or a model file's index (and approximate index).
VectorIndex load_vector_index(const std::string& path);
VectorIndex load_vector_index_from_buffer(std::span<const uint8_t> data, const std::string& name = "<buffer>");

}  // namespace tt
