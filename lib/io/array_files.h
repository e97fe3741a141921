// Array files other tools read and write, for exporting embeddings and weights and importing
// models trained elsewhere:
//   .npy          NumPy's format (versions 1.0, 2.0, 3.0), C order, little-endian floats
//   .npz          a zip archive of .npy entries, as np.savez writes it (stored entries only:
//                 this build has no deflate, so np.savez_compressed files are refused)
//   .fvecs        Faiss/TEXMEX vectors: per row an int32 dimension, then that many float32
//   .safetensors  Hugging Face's format: u64 header size, JSON header, raw tensor bytes
//   text lines    one string per line (vocabularies, candidate keys)
// Readers treat every file as hostile: each size is checked against the file's length before
// use, and every error (ErrorKind::corrupt for damaged content, unsupported for a valid but
// unhandled dtype, io when it cannot be read) names the file and the entry or tensor.
// Floats are returned as float32: f16 and bf16 widen exactly, f64 is rounded to nearest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace tt {

struct FloatArray {
  std::vector<uint64_t> shape;  // 0-D (a scalar), 1-D or 2-D in practice; any rank is read
  std::vector<float> values;    // row-major
  // Rows and columns as a matrix: a 1-D [n] array is 1 x n, a 2-D [r, c] is r x c.
  uint64_t rows() const { return shape.size() == 2 ? shape[0] : 1; }
  uint64_t cols() const { return shape.empty() ? 1 : shape.back(); }
};

// .npy of a rows x cols float32 matrix (descr '<f4', shape (rows, cols)).
std::vector<uint8_t> npy_bytes(const float* data, size_t rows, size_t cols);
// Parses .npy bytes; `name` stands for the file in messages.
FloatArray parse_npy(std::span<const uint8_t> bytes, const std::string& name);
FloatArray read_npy(const std::string& path);

struct IntArray {
  std::vector<uint64_t> shape;
  std::vector<int64_t> values;  // row-major
};
// .npy of integers (int8..int64, uint8..uint64 up to INT64_MAX; little-endian), as int64: keys.
IntArray parse_npy_int64(std::span<const uint8_t> bytes, const std::string& name);
IntArray read_npy_int64(const std::string& path);

// The arrays of an .npz archive by name (the entry name without ".npy"), in archive order.
std::vector<std::pair<std::string, FloatArray>> parse_npz(std::span<const uint8_t> bytes, const std::string& name);
std::vector<std::pair<std::string, FloatArray>> read_npz(const std::string& path);
// An .npz archive of stored entries (what np.savez writes), for tests and exports.
std::vector<uint8_t> npz_bytes(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& npy_entries);

std::vector<uint8_t> fvecs_bytes(const float* data, size_t rows, size_t cols);
// An empty file is 0 x 0.
FloatArray parse_fvecs(std::span<const uint8_t> bytes, const std::string& name);
FloatArray read_fvecs(const std::string& path);

struct NamedTensor {
  std::string name;
  size_t rows = 0, cols = 0;
  const float* data = nullptr;  // rows * cols floats, row-major
};
// A safetensors file with every tensor as F32 of shape [rows, cols], in the given order, and
// `metadata` as the header's "__metadata__" (string to string).
std::vector<uint8_t> safetensors_bytes(const std::vector<NamedTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});
// Tensors by name (F32, F16, BF16 and F64 are read; any other dtype is ErrorKind::unsupported
// naming the tensor).
std::vector<std::pair<std::string, FloatArray>> parse_safetensors(std::span<const uint8_t> bytes,
                                                                  const std::string& name);
std::vector<std::pair<std::string, FloatArray>> read_safetensors(const std::string& path);

// One string per line, each followed by '\n'. A string holding '\n' cannot be written
// (invalid_argument naming `what` and its position).
std::vector<uint8_t> lines_bytes(const std::vector<std::string>& lines, const std::string& what);
// Splits on '\n' (bytes kept as they are, '\r' included); a last line without '\n' counts.
std::vector<std::string> read_lines(const std::string& path);

}  // namespace tt
