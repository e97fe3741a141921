// The columnar data file (.ttc): a table's typed columns stored for reading without parsing,
// memory-mapped, in row blocks that a streaming reader (or one process of many) can take
// separately. Strings are dictionary-encoded (one uint32 code per row, each distinct string
// stored once). Every block of every column, the dictionaries and the directory are checksummed
// (XXH64). The layout is documented in docs/data-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/mapped_file.h"
#include "data/table.h"

namespace tt {

inline constexpr char kColumnarMagic[8] = {'T', 'T', 'C', 'O', 'L', 'S', '\r', '\n'};
inline constexpr uint32_t kColumnarVersion = 1;
inline constexpr uint32_t kDefaultBlockRows = 65536;
inline constexpr uint32_t kMaxBlockRows = 1u << 24;

struct ColumnarWriteOptions {
  uint32_t block_rows = kDefaultBlockRows;  // 1..kMaxBlockRows
};

// The file's bytes for `table` (deterministic: the same table gives the same bytes).
std::vector<uint8_t> columnar_bytes(const Table& table, const ColumnarWriteOptions& options = {});
// Writes them atomically (base/atomic_file.h).
void write_columnar(const std::string& path, const Table& table, const ColumnarWriteOptions& options = {});

// True when `bytes` start with the columnar file's magic.
bool is_columnar(std::span<const uint8_t> bytes);
bool is_columnar_file(const std::string& path);

struct ColumnarColumn {
  std::string name;
  DType type = DType::int64;
  uint64_t data_offset = 0;  // int64/float32 values or uint32 codes, rows x width bytes
  // Strings: the dictionary's entries, its (count + 1) uint64 end offsets and its bytes.
  uint64_t dictionary_count = 0;
  uint64_t dictionary_offsets = 0;
  uint64_t dictionary_bytes = 0;
  uint64_t dictionary_size = 0;
  uint64_t dictionary_checksum = 0;
};

// A columnar file opened for reading: the header, directory and dictionaries are checked at
// open; each block's checksum and codes are checked when it is first read. Damage is
// ErrorKind::corrupt naming the file and what is wrong, never a crash.
class ColumnarFile {
 public:
  static ColumnarFile open(const std::string& path);
  // The same on bytes in memory (fuzzing, tests); `bytes` must outlive the object.
  static ColumnarFile from_bytes(std::span<const uint8_t> bytes, const std::string& source_name);

  const std::string& source() const { return source_; }
  uint64_t num_rows() const { return rows_; }
  uint32_t block_rows() const { return block_rows_; }
  uint64_t num_blocks() const { return (rows_ + block_rows_ - 1) / block_rows_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::vector<ColumnarColumn>& columns() const { return columns_; }
  // Throws ErrorKind::invalid_argument "file: no column 'x' (columns: a, b)".
  const ColumnarColumn& column(const std::string& name) const;

  // Rows [begin, end) of the named columns (every column if `names` is empty), in that order.
  // Verifies the blocks they touch. Throws invalid_argument for a range beyond the rows.
  Table read_rows(uint64_t begin, uint64_t end, const std::vector<std::string>& names = {}) const;
  // Every row of the named columns, each requested with a type: a stored type that differs is
  // ErrorKind::parse naming the file, the column and both types.
  Table read(const std::vector<std::pair<std::string, DType>>& columns) const;

  // The names of `columns`, after checking each is stored with its type (ErrorKind::parse as read()).
  std::vector<std::string> expect_types(const std::vector<std::pair<std::string, DType>>& columns) const;

  // Drops the mapped pages of the rows before `end` (of rows [begin, end)) from the resident set
  // (streaming readers; whole pages only).
  void release_rows_before(uint64_t end) const;
  void release_rows(uint64_t begin, uint64_t end) const;
  // The directory's checksum, which covers every block's checksum and the dictionaries: a
  // fingerprint of the file's contents.
  uint64_t content_checksum() const;

 private:
  ColumnarFile() = default;
  void parse();
  void verify_block(const ColumnarColumn& c, uint64_t block) const;
  std::span<const uint8_t> block_bytes(const ColumnarColumn& c, uint64_t block) const;

  std::shared_ptr<MappedFile> mapping_;  // null for from_bytes
  std::span<const uint8_t> bytes_;
  std::string source_;
  uint64_t rows_ = 0;
  uint32_t block_rows_ = 1;
  std::vector<ColumnarColumn> columns_;
  std::vector<uint64_t> block_checksums_;  // column-major: column * num_blocks() + block
  mutable std::vector<uint8_t> verified_;  // per (column, block): 1 once checked
};

}  // namespace tt
