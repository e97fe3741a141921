// The model-file container: a fixed header, a section table and 64-byte-aligned sections, each
// stored raw or as one zstd frame and covered by an xxh64 checksum. Byte-level spec:
// docs/model-format.md. This layer knows section kinds only by number and name; what a
// section holds is model_serialization's business.
//
// Every file is treated as hostile: each size and offset is checked against the file length
// before use, decompression never produces more than the size the table declares (itself
// capped), and every error is a tt::Error (corrupt or unsupported) naming the file, the
// section, what was expected and what was found.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/atomic_file.h"

namespace tt {

// The bytes every model file starts with.
inline constexpr uint8_t kModelFileMagic[8] = {'T', 'W', 'O', 'T', 'O', 'W', 'R', 0x1a};
// The container format version this build writes and the newest it reads.
inline constexpr uint32_t kModelFormatVersion = 1;
// Required-feature bits. A reader refuses a file with a bit it does not know.
// Bit 0: some tensor (weights or index) is stored quantized (dtype bf16, fp16 or int8).
inline constexpr uint32_t kRequiredFeatureQuantized = 1u << 0;
// Bit 1: some feature is a multi_value_lookup (feature kind 5), which readers that predate it
// cannot preprocess: they refuse the file naming this bit instead of failing on the spec.
inline constexpr uint32_t kRequiredFeatureMultiValue = 1u << 1;
inline constexpr uint32_t kKnownRequiredFeatures = kRequiredFeatureQuantized | kRequiredFeatureMultiValue;
inline constexpr size_t kModelHeaderSize = 48;
inline constexpr size_t kSectionEntrySize = 48;
inline constexpr size_t kSectionAlignment = 64;
// Hard limits a reader enforces before allocating anything.
inline constexpr uint32_t kMaxSections = 1024;
inline constexpr uint64_t kMaxSectionRawSize = uint64_t{16} << 30;  // 16 GiB

// Section kinds. Stored in files: values are frozen, never renumber or reuse them.
enum class SectionKind : uint32_t {
  spec = 1,           // ModelSpec JSON text
  metadata = 2,       // TrainingMetadata and a model summary, JSON
  preprocessing = 3,  // every feature encoder's fitted state
  weights = 4,        // every trainable tensor
  index = 5,          // candidate keys and embeddings
  optimizer = 6,      // optimizer state for resuming training (no compatibility promise)
  ann = 7,            // the approximate index: partitions, assignments, recall calibration (optional)
};
// "spec", "weights", ... for a known kind, nullptr otherwise.
const char* section_kind_name(uint32_t kind);
// "section 'weights'" or "section kind 17": how messages name a section.
std::string section_label(uint32_t kind);

// Codecs. Stored in files: values are frozen.
enum class SectionCodec : uint32_t { raw = 0, zstd = 1 };
const char* section_codec_name(uint32_t codec);  // "raw", "zstd" or nullptr

inline constexpr uint32_t kSectionRequired = 1;  // section flag bit 0

// A section to write: its raw (uncompressed) payload.
struct SectionData {
  uint32_t kind = 0;
  bool required = true;        // an old reader that does not know `kind` must refuse the file
  std::vector<uint8_t> bytes;  // the raw payload
  bool compress = true;        // zstd when the writer compresses at all and it makes the section smaller
};

// One row of the section table, as stored.
struct SectionEntry {
  uint32_t kind = 0;
  uint32_t flags = 0;
  uint32_t codec = 0;
  uint64_t offset = 0;
  uint64_t stored_size = 0;
  uint64_t raw_size = 0;
  uint64_t checksum = 0;  // xxh64 (seed 0) of the stored bytes
  bool required() const { return (flags & kSectionRequired) != 0; }
};

struct ModelFileHeader {
  uint32_t format_version = 0;
  uint32_t required_features = 0;
  uint32_t optional_features = 0;
  uint64_t file_size = 0;
  uint64_t checksum = 0;
  std::vector<SectionEntry> sections;  // in table order, unknown optional kinds included
};

// Encodes a whole file in memory. zstd_level 0 stores every section raw; otherwise it is a zstd
// level (ZSTD_minCLevel()..ZSTD_maxCLevel()) used for sections with compress set, each of
// which is stored raw anyway when compression would not make it smaller. Sections are laid out
// in the order given. Throws invalid_argument on a bad level, a duplicate or zero kind, or a
// section above kMaxSectionRawSize. `required_features` goes into the header as it is (bits
// the reader must know, kRequiredFeature*); an unknown bit is invalid_argument.
std::vector<uint8_t> encode_model_file(const std::vector<SectionData>& sections, int zstd_level,
                                       uint32_t required_features = 0);

// Writes atomically (base/atomic_file.h: a temporary file in the destination's directory,
// fsync, rename over `path`, fsync of the directory; permissions and symbolic links kept). On
// any failure the temporary is removed and an existing file at `path` is left untouched
// (ErrorKind::io naming the path and the failing step).
void write_model_file(const std::string& path, const std::vector<SectionData>& sections, int zstd_level,
                      uint32_t required_features = 0);

// Reads a model file's header and section table and verifies them (magic, version, required
// features, header checksum, the table's offsets and sizes against the file length, overlaps,
// duplicates, unknown required kinds, unknown codecs of required sections); sections are read,
// checked and decompressed on demand, so opening reads only the header and the table.
class ModelFileReader {
 public:
  // Opens a file (ErrorKind::io if it cannot be read, corrupt/unsupported for its contents).
  static ModelFileReader open(const std::string& path);
  // Reads from memory; `data` must outlive the reader. `name` stands for the file in messages.
  static ModelFileReader from_buffer(std::span<const uint8_t> data, std::string name = "<buffer>");
  // Reads from memory the reader owns (so a temporary buffer cannot dangle).
  static ModelFileReader from_buffer(std::vector<uint8_t>&& data, std::string name = "<buffer>");

  ModelFileReader(ModelFileReader&&) noexcept;
  ModelFileReader& operator=(ModelFileReader&&) noexcept;
  ~ModelFileReader();

  const std::string& name() const { return name_; }
  const ModelFileHeader& header() const { return header_; }
  // The table entry of a kind, or nullptr if the file has no such section.
  const SectionEntry* find(SectionKind kind) const;
  bool has(SectionKind kind) const { return find(kind) != nullptr; }
  // The section's raw payload: stored bytes read, checksum verified, decompressed to exactly
  // the declared raw size. Throws corrupt if the section is absent.
  std::vector<uint8_t> read(SectionKind kind) const;
  // As read(), or nullopt if the section is absent.
  std::optional<std::vector<uint8_t>> read_if_present(SectionKind kind) const;

  // Stored bytes of an entry (checksum verified, not decompressed).
  std::vector<uint8_t> read_stored(const SectionEntry& entry) const;
  // Checks that every byte no checksum covers (the alignment padding after the table and
  // between sections) is zero, so that any flipped byte in a file is an error. Full loads call
  // it; the metadata-only read does not.
  void verify_padding() const;

  struct Source;  // where the bytes come from (a file or a buffer)

 private:
  ModelFileReader(std::unique_ptr<Source> source, std::string name);
  void parse_header();

  std::unique_ptr<Source> source_;
  std::string name_;
  ModelFileHeader header_;
};

// Recomputes every checksum of an encoded file in place (sections whose extent lies inside the
// buffer, then the header checksum), leaving everything else as it is. For tests and fuzzing,
// which craft hostile files that must get past the checksums; a no-op on buffers too short to
// hold a header.
void reseal_model_file(std::vector<uint8_t>& bytes);

}  // namespace tt
