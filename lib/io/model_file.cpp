#include "io/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/bytes.h"
#include "base/error.h"
#include "base/regular_file.h"

namespace tt {

namespace {

constexpr size_t kChecksumFieldOffset = 32;

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t load_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void store_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// xxh64 of the header and table with the checksum field read as zero.
uint64_t header_checksum(std::span<const uint8_t> header_and_table) {
  XXH64_state_t* st = XXH64_createState();
  if (!st) throw std::bad_alloc();
  XXH64_reset(st, 0);
  const uint8_t zeros[8] = {};
  XXH64_update(st, header_and_table.data(), kChecksumFieldOffset);
  XXH64_update(st, zeros, 8);
  XXH64_update(st, header_and_table.data() + kChecksumFieldOffset + 8,
               header_and_table.size() - kChecksumFieldOffset - 8);
  const uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  return h;
}

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void io_fail(const std::string& path, const std::string& what, int e) {
  fail(ErrorKind::io, path + ": " + what + ": " + errno_text(e));
}

// Decompresses one zstd frame to exactly raw_size bytes. The output grows as data is really
// produced (never allocated up front from the declared size), so a file that lies about its raw
// size costs no more memory than the data it actually holds.
std::vector<uint8_t> zstd_decompress(std::span<const uint8_t> src, uint64_t raw_size, const std::string& where) {
  const unsigned long long declared = ZSTD_getFrameContentSize(src.data(), src.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) fail(ErrorKind::corrupt, where + ": the stored bytes are not a zstd frame");
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
    fail(ErrorKind::corrupt, where + ": the zstd frame does not declare its content size");
  if (declared != raw_size)
    fail(ErrorKind::corrupt, where + ": the table declares a raw size of " + std::to_string(raw_size) +
                                 " bytes, the zstd frame header " + std::to_string(declared));
  const size_t frame = ZSTD_findFrameCompressedSize(src.data(), src.size());
  if (ZSTD_isError(frame)) fail(ErrorKind::corrupt, where + ": bad zstd frame: " + ZSTD_getErrorName(frame));
  if (frame != src.size())
    fail(ErrorKind::corrupt,
         where + ": the zstd frame is " + std::to_string(frame) + " bytes, the section " + std::to_string(src.size()));

  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) throw std::bad_alloc();
  // Windows above 128 MiB are refused (the default limit; twotower never writes them).
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, 27);

  std::vector<uint8_t> out;
  const uint64_t first = std::max<uint64_t>(uint64_t{src.size()} * 4, uint64_t{1} << 20);
  out.resize(static_cast<size_t>(std::min<uint64_t>(raw_size, first)));
  ZSTD_inBuffer in{src.data(), src.size(), 0};
  size_t produced = 0;
  bool done = false;
  while (!done) {
    if (produced == out.size()) {
      if (out.size() == raw_size) break;  // full: see below whether the frame has ended
      out.resize(static_cast<size_t>(std::min<uint64_t>(raw_size, uint64_t{out.size()} * 2)));
    }
    ZSTD_outBuffer o{out.data(), out.size(), produced};
    const size_t in_before = in.pos;
    const size_t ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(ret)) fail(ErrorKind::corrupt, where + ": zstd: " + ZSTD_getErrorName(ret));
    const bool progress = o.pos != produced || in.pos != in_before;
    produced = o.pos;
    if (ret == 0) done = true;
    // With room left in the output and all input consumed, the decoder has flushed all it can.
    else if ((in.pos == in.size && o.pos < o.size) || !progress)
      fail(ErrorKind::corrupt, where + ": the zstd frame is truncated (" + std::to_string(produced) + " of " +
                                   std::to_string(raw_size) + " bytes decompressed)");
  }
  while (!done) {
    // The declared size is reached but the frame has not ended: it must end without output.
    uint8_t probe;
    ZSTD_outBuffer p{&probe, 1, 0};
    const size_t in_before = in.pos;
    const size_t ret = ZSTD_decompressStream(dctx.get(), &p, &in);
    if (ZSTD_isError(ret)) fail(ErrorKind::corrupt, where + ": zstd: " + ZSTD_getErrorName(ret));
    if (p.pos != 0)
      fail(ErrorKind::corrupt,
           where + ": the zstd frame decompresses to more than the declared " + std::to_string(raw_size) + " bytes");
    if (ret == 0)
      done = true;
    else if (in.pos == in.size || in.pos == in_before)
      fail(ErrorKind::corrupt, where + ": the zstd frame is truncated");
  }
  if (produced != raw_size)
    fail(ErrorKind::corrupt, where + ": decompressed to " + std::to_string(produced) + " bytes, the table declares " +
                                 std::to_string(raw_size));
  if (in.pos != in.size)
    fail(ErrorKind::corrupt, where + ": " + std::to_string(in.size - in.pos) + " bytes left after the zstd frame");
  return out;
}

}  // namespace

const char* section_kind_name(uint32_t kind) {
  switch (kind) {
    case static_cast<uint32_t>(SectionKind::spec):
      return "spec";
    case static_cast<uint32_t>(SectionKind::metadata):
      return "metadata";
    case static_cast<uint32_t>(SectionKind::preprocessing):
      return "preprocessing";
    case static_cast<uint32_t>(SectionKind::weights):
      return "weights";
    case static_cast<uint32_t>(SectionKind::index):
      return "index";
    case static_cast<uint32_t>(SectionKind::optimizer):
      return "optimizer";
    case static_cast<uint32_t>(SectionKind::ann):
      return "ann";
    default:
      return nullptr;
  }
}

std::string section_label(uint32_t kind) {
  if (const char* n = section_kind_name(kind)) return std::string("section '") + n + "'";
  return "section kind " + std::to_string(kind);
}

const char* section_codec_name(uint32_t codec) {
  switch (codec) {
    case static_cast<uint32_t>(SectionCodec::raw):
      return "raw";
    case static_cast<uint32_t>(SectionCodec::zstd):
      return "zstd";
    default:
      return nullptr;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

std::vector<uint8_t> encode_model_file(const std::vector<SectionData>& sections, int zstd_level,
                                       uint32_t required_features) {
  if (required_features & ~kKnownRequiredFeatures)
    fail(ErrorKind::invalid_argument, "model file: unknown required feature bits " + hex64(required_features));
  if (zstd_level != 0 && (zstd_level < ZSTD_minCLevel() || zstd_level > ZSTD_maxCLevel()))
    fail(ErrorKind::invalid_argument, "compression level " + std::to_string(zstd_level) + " is outside " +
                                          std::to_string(ZSTD_minCLevel()) + ".." + std::to_string(ZSTD_maxCLevel()) +
                                          " (0 stores sections uncompressed)");
  if (sections.size() > kMaxSections)
    fail(ErrorKind::invalid_argument, "model file: " + std::to_string(sections.size()) + " sections exceed the limit " +
                                          std::to_string(kMaxSections));
  for (size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].kind == 0) fail(ErrorKind::invalid_argument, "model file: section kind 0 is reserved");
    if (sections[i].bytes.size() > kMaxSectionRawSize)
      fail(ErrorKind::invalid_argument, "model file: " + section_label(sections[i].kind) + " is " +
                                            std::to_string(sections[i].bytes.size()) +
                                            " bytes, above the 16 GiB limit");
    for (size_t j = 0; j < i; ++j)
      if (sections[j].kind == sections[i].kind)
        fail(ErrorKind::invalid_argument, "model file: " + section_label(sections[i].kind) + " given twice");
  }

  // Compress where asked and where it pays.
  std::vector<std::vector<uint8_t>> compressed(sections.size());
  std::vector<SectionEntry> entries(sections.size());
  for (size_t i = 0; i < sections.size(); ++i) {
    const auto& s = sections[i];
    SectionEntry& e = entries[i];
    e.kind = s.kind;
    e.flags = s.required ? kSectionRequired : 0;
    e.raw_size = s.bytes.size();
    e.codec = static_cast<uint32_t>(SectionCodec::raw);
    e.stored_size = s.bytes.size();
    if (zstd_level != 0 && s.compress && !s.bytes.empty()) {
      std::vector<uint8_t> c(ZSTD_compressBound(s.bytes.size()));
      const size_t n = ZSTD_compress(c.data(), c.size(), s.bytes.data(), s.bytes.size(), zstd_level);
      if (ZSTD_isError(n))
        fail(ErrorKind::internal, "model file: zstd failed on " + section_label(s.kind) + ": " + ZSTD_getErrorName(n));
      if (n < s.bytes.size()) {
        c.resize(n);
        compressed[i] = std::move(c);
        e.codec = static_cast<uint32_t>(SectionCodec::zstd);
        e.stored_size = n;
      }
    }
  }

  // Lay out: header, table, then each section at the next 64-byte boundary.
  uint64_t pos = align_up(kModelHeaderSize + kSectionEntrySize * sections.size(), kSectionAlignment);
  for (size_t i = 0; i < sections.size(); ++i) {
    entries[i].offset = pos;
    pos = align_up(pos + entries[i].stored_size, kSectionAlignment);
  }
  const uint64_t file_size = sections.empty() ? kModelHeaderSize : entries.back().offset + entries.back().stored_size;
  std::vector<uint8_t> out(file_size, 0);

  for (size_t i = 0; i < sections.size(); ++i) {
    const SectionEntry& e = entries[i];
    const uint8_t* data =
        e.codec == static_cast<uint32_t>(SectionCodec::zstd) ? compressed[i].data() : sections[i].bytes.data();
    if (e.stored_size) std::memcpy(out.data() + e.offset, data, e.stored_size);
    const uint64_t checksum = XXH64(out.data() + e.offset, e.stored_size, 0);
    uint8_t* t = out.data() + kModelHeaderSize + kSectionEntrySize * i;
    store_u32(t + 0, e.kind);
    store_u32(t + 4, e.flags);
    store_u32(t + 8, e.codec);
    store_u32(t + 12, 0);
    store_u64(t + 16, e.offset);
    store_u64(t + 24, e.stored_size);
    store_u64(t + 32, e.raw_size);
    store_u64(t + 40, checksum);
  }
  std::memcpy(out.data(), kModelFileMagic, 8);
  store_u32(out.data() + 8, kModelFormatVersion);
  store_u32(out.data() + 12, required_features);
  store_u32(out.data() + 16, static_cast<uint32_t>(sections.size()));
  store_u32(out.data() + 20, 0);  // optional features
  store_u64(out.data() + 24, file_size);
  store_u64(out.data() + 40, 0);  // reserved
  const size_t table_end = kModelHeaderSize + kSectionEntrySize * sections.size();
  store_u64(out.data() + kChecksumFieldOffset, header_checksum({out.data(), table_end}));
  return out;
}

void write_model_file(const std::string& path, const std::vector<SectionData>& sections, int zstd_level,
                      uint32_t required_features) {
  const std::vector<uint8_t> bytes = encode_model_file(sections, zstd_level, required_features);
  write_file_atomically(path, bytes);
}

// ---------------------------------------------------------------------------------------------
// Reading

struct ModelFileReader::Source {
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Bytes [offset, offset + n), which the caller has checked lie inside size(): a view of the
  // buffer, or of `storage` after reading them into it.
  virtual std::span<const uint8_t> fetch(uint64_t offset, size_t n, std::vector<uint8_t>& storage) const = 0;
};

namespace {

class BufferSource final : public ModelFileReader::Source {
 public:
  explicit BufferSource(std::span<const uint8_t> data) : data_(data) {}
  explicit BufferSource(std::vector<uint8_t>&& owned) : owned_(std::move(owned)), data_(owned_) {}
  uint64_t size() const override { return data_.size(); }
  std::span<const uint8_t> fetch(uint64_t offset, size_t n, std::vector<uint8_t>&) const override {
    return data_.subspan(static_cast<size_t>(offset), n);
  }

 private:
  std::vector<uint8_t> owned_;
  std::span<const uint8_t> data_;
};

class FileSource final : public ModelFileReader::Source {
 public:
  FileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  std::span<const uint8_t> fetch(uint64_t offset, size_t n, std::vector<uint8_t>& storage) const override {
    storage.resize(n);
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, storage.data() + done, std::min<size_t>(n - done, size_t{1} << 30),
                                static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        io_fail(path_, "read failed", errno);
      }
      if (r == 0)
        fail(ErrorKind::io, path_ + ": the file shrank while being read (wanted bytes " + std::to_string(offset) +
                                ".." + std::to_string(offset + n) + ")");
      done += static_cast<size_t>(r);
    }
    return {storage.data(), n};
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace

ModelFileReader::ModelFileReader(std::unique_ptr<Source> source, std::string name)
    : source_(std::move(source)), name_(std::move(name)) {}
ModelFileReader::ModelFileReader(ModelFileReader&&) noexcept = default;
ModelFileReader& ModelFileReader::operator=(ModelFileReader&&) noexcept = default;
ModelFileReader::~ModelFileReader() = default;

ModelFileReader ModelFileReader::open(const std::string& path) {
  InputFile file = InputFile::open(path, "model file");
  const uint64_t size = file.size();
  ModelFileReader r(std::make_unique<FileSource>(file.release(), size, path), path);
  r.parse_header();
  return r;
}

ModelFileReader ModelFileReader::from_buffer(std::span<const uint8_t> data, std::string name) {
  ModelFileReader r(std::make_unique<BufferSource>(data), std::move(name));
  r.parse_header();
  return r;
}

ModelFileReader ModelFileReader::from_buffer(std::vector<uint8_t>&& data, std::string name) {
  ModelFileReader r(std::make_unique<BufferSource>(std::move(data)), std::move(name));
  r.parse_header();
  return r;
}

void ModelFileReader::parse_header() {
  const uint64_t size = source_->size();
  const std::string& f = name_;
  auto corrupt = [&](const std::string& msg) { fail(ErrorKind::corrupt, f + ": " + msg); };

  if (size < 8) corrupt("not a twotower model file (" + std::to_string(size) + " bytes, shorter than the magic)");
  std::vector<uint8_t> storage;
  auto head = source_->fetch(0, static_cast<size_t>(std::min<uint64_t>(size, kModelHeaderSize)), storage);
  if (std::memcmp(head.data(), kModelFileMagic, 8) != 0) corrupt("not a twotower model file (wrong magic bytes)");
  if (size < kModelHeaderSize)
    corrupt("truncated: " + std::to_string(size) + " bytes, shorter than the " + std::to_string(kModelHeaderSize) +
            "-byte header");

  ModelFileHeader h;
  h.format_version = load_u32(head.data() + 8);
  h.required_features = load_u32(head.data() + 12);
  const uint32_t count = load_u32(head.data() + 16);
  h.optional_features = load_u32(head.data() + 20);
  h.file_size = load_u64(head.data() + 24);
  h.checksum = load_u64(head.data() + 32);

  if (h.format_version == 0) corrupt("format version 0 is invalid");
  if (h.format_version > kModelFormatVersion) {
    // A newer header may be laid out differently, so its checksum cannot be required; but when
    // it does not verify under this version's layout either, a damaged version field is as
    // likely as a newer writer, and the message says so.
    bool verifies = false;
    const uint64_t end = kModelHeaderSize + uint64_t{kSectionEntrySize} * count;
    if (count <= kMaxSections && end <= size) {
      std::vector<uint8_t> table_storage;
      verifies = header_checksum(source_->fetch(0, static_cast<size_t>(end), table_storage)) == h.checksum;
    }
    fail(ErrorKind::unsupported, f + ": format version " + std::to_string(h.format_version) +
                                     " is newer than this reader supports (" + std::to_string(kModelFormatVersion) +
                                     "): a newer twotower wrote this file; upgrade twotower to load it" +
                                     (verifies ? "" : " (or the file is damaged: its header checksum does not match)"));
  }
  if (count > kMaxSections)
    corrupt("section count " + std::to_string(count) + " exceeds the limit of " + std::to_string(kMaxSections));
  const uint64_t table_end = kModelHeaderSize + uint64_t{kSectionEntrySize} * count;
  if (table_end > size)
    corrupt("truncated: the section table of " + std::to_string(count) + " entries needs " + std::to_string(table_end) +
            " bytes, the file has " + std::to_string(size));

  std::vector<uint8_t> table_storage;
  auto table = source_->fetch(0, static_cast<size_t>(table_end), table_storage);
  const uint64_t actual_checksum = header_checksum(table);
  if (actual_checksum != h.checksum)
    corrupt("header checksum mismatch: the header says " + hex64(h.checksum) + ", the header and table hash to " +
            hex64(actual_checksum) + " (the header or the section table is damaged)");

  if (const uint32_t unknown = h.required_features & ~kKnownRequiredFeatures) {
    int bit = 0;
    while (!((unknown >> bit) & 1u)) ++bit;
    char mask[16];
    std::snprintf(mask, sizeof mask, "0x%x", 1u << bit);
    fail(ErrorKind::unsupported, f + ": the file needs required feature bit " + std::to_string(bit) + " (" + mask +
                                     "), which this reader does not know: a newer twotower wrote this file; "
                                     "upgrade twotower to load it");
  }
  if (h.file_size != size) {
    if (size < h.file_size)
      corrupt("truncated: the header says the file is " + std::to_string(h.file_size) + " bytes, it has " +
              std::to_string(size));
    corrupt("the header says the file is " + std::to_string(h.file_size) + " bytes, it has " + std::to_string(size) +
            " (trailing data)");
  }

  h.sections.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* t = table.data() + kModelHeaderSize + kSectionEntrySize * i;
    SectionEntry& e = h.sections[i];
    e.kind = load_u32(t + 0);
    e.flags = load_u32(t + 4);
    e.codec = load_u32(t + 8);
    e.offset = load_u64(t + 16);
    e.stored_size = load_u64(t + 24);
    e.raw_size = load_u64(t + 32);
    e.checksum = load_u64(t + 40);

    const std::string where = f + ": " + section_label(e.kind) + " (table entry " + std::to_string(i) + ")";
    const bool known = section_kind_name(e.kind) != nullptr;
    if (e.kind == 0) fail(ErrorKind::corrupt, where + ": kind 0 is reserved");
    for (uint32_t j = 0; j < i; ++j)
      if (h.sections[j].kind == e.kind)
        fail(ErrorKind::corrupt, where + ": duplicate, table entry " + std::to_string(j) + " has the same kind");
    if (!known && e.required())
      fail(ErrorKind::unsupported, where +
                                       ": a required section this reader does not know: a newer twotower wrote "
                                       "this file; upgrade twotower to load it");
    if (e.offset % kSectionAlignment != 0)
      fail(ErrorKind::corrupt, where + ": offset " + std::to_string(e.offset) + " is not a multiple of " +
                                   std::to_string(kSectionAlignment));
    if (e.offset < table_end)
      fail(ErrorKind::corrupt, where + ": offset " + std::to_string(e.offset) +
                                   " lies inside the header and section table (which end at " +
                                   std::to_string(table_end) + ")");
    if (e.offset > size || e.stored_size > size - e.offset)
      fail(ErrorKind::corrupt, where + ": bytes " + std::to_string(e.offset) + " + " + std::to_string(e.stored_size) +
                                   " extend past the end of the " + std::to_string(size) + "-byte file");
    if (known || e.required()) {
      if (!section_codec_name(e.codec))
        fail(ErrorKind::unsupported, where + ": codec " + std::to_string(e.codec) +
                                         " is unknown to this reader (expected 0 raw or 1 zstd): a newer twotower "
                                         "wrote this file; upgrade twotower to load it");
      if (e.raw_size > kMaxSectionRawSize)
        fail(ErrorKind::corrupt,
             where + ": raw size " + std::to_string(e.raw_size) + " bytes exceeds the 16 GiB limit");
      if (e.codec == static_cast<uint32_t>(SectionCodec::raw) && e.raw_size != e.stored_size)
        fail(ErrorKind::corrupt, where + ": a raw section with stored size " + std::to_string(e.stored_size) +
                                     " and raw size " + std::to_string(e.raw_size) + " (they must be equal)");
      if (e.codec == static_cast<uint32_t>(SectionCodec::zstd) && e.stored_size == 0)
        fail(ErrorKind::corrupt, where + ": a zstd section with no stored bytes");
    }
  }

  // No two sections may share a byte.
  std::vector<const SectionEntry*> by_offset;
  for (const auto& e : h.sections) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SectionEntry* a, const SectionEntry* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SectionEntry& a = *by_offset[i - 1];
    const SectionEntry& b = *by_offset[i];
    if (a.stored_size > 0 && b.stored_size > 0 && a.offset + a.stored_size > b.offset)
      corrupt(section_label(a.kind) + " (bytes " + std::to_string(a.offset) + ".." +
              std::to_string(a.offset + a.stored_size) + ") overlaps " + section_label(b.kind) + " (from byte " +
              std::to_string(b.offset) + ")");
  }
  header_ = std::move(h);
}

void ModelFileReader::verify_padding() const {
  std::vector<std::pair<uint64_t, uint64_t>> used;  // [begin, end) of every covered range
  used.push_back({0, kModelHeaderSize + kSectionEntrySize * header_.sections.size()});
  for (const auto& e : header_.sections) used.push_back({e.offset, e.offset + e.stored_size});
  std::sort(used.begin(), used.end());
  used.push_back({header_.file_size, header_.file_size});
  uint64_t covered = 0;
  std::vector<uint8_t> storage;
  for (const auto& [begin, end] : used) {
    if (begin > covered) {
      auto gap = source_->fetch(covered, static_cast<size_t>(begin - covered), storage);
      for (size_t i = 0; i < gap.size(); ++i)
        if (gap[i] != 0)
          fail(ErrorKind::corrupt, name_ + ": padding byte " + std::to_string(covered + i) + " is " +
                                       std::to_string(gap[i]) + ", expected 0 (the file was modified)");
    }
    covered = std::max(covered, end);
  }
}

const SectionEntry* ModelFileReader::find(SectionKind kind) const {
  for (const auto& e : header_.sections)
    if (e.kind == static_cast<uint32_t>(kind)) return &e;
  return nullptr;
}

std::vector<uint8_t> ModelFileReader::read_stored(const SectionEntry& e) const {
  std::vector<uint8_t> storage;
  auto bytes = source_->fetch(e.offset, static_cast<size_t>(e.stored_size), storage);
  const uint64_t h = XXH64(bytes.data(), bytes.size(), 0);
  if (h != e.checksum)
    fail(ErrorKind::corrupt, name_ + ": " + section_label(e.kind) + ": checksum mismatch: the table says " +
                                 hex64(e.checksum) + ", the stored bytes hash to " + hex64(h));
  if (storage.empty() && !bytes.empty()) storage.assign(bytes.begin(), bytes.end());
  return storage;
}

std::vector<uint8_t> ModelFileReader::read(SectionKind kind) const {
  auto r = read_if_present(kind);
  if (!r) fail(ErrorKind::corrupt, name_ + ": " + section_label(static_cast<uint32_t>(kind)) + " is missing");
  return std::move(*r);
}

std::optional<std::vector<uint8_t>> ModelFileReader::read_if_present(SectionKind kind) const {
  const SectionEntry* e = find(kind);
  if (!e) return std::nullopt;
  std::vector<uint8_t> stored = read_stored(*e);
  if (e->codec == static_cast<uint32_t>(SectionCodec::raw)) return stored;
  if (e->codec == static_cast<uint32_t>(SectionCodec::zstd))
    return zstd_decompress(stored, e->raw_size, name_ + ": " + section_label(e->kind));
  fail(ErrorKind::unsupported, name_ + ": " + section_label(e->kind) + ": unknown codec " + std::to_string(e->codec));
}

// ---------------------------------------------------------------------------------------------

void reseal_model_file(std::vector<uint8_t>& bytes) {
  if (bytes.size() < kModelHeaderSize) return;
  uint64_t count = load_u32(bytes.data() + 16);
  const uint64_t fits = (bytes.size() - kModelHeaderSize) / kSectionEntrySize;
  count = std::min(count, fits);
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t* t = bytes.data() + kModelHeaderSize + kSectionEntrySize * i;
    const uint64_t offset = load_u64(t + 16), stored = load_u64(t + 24);
    if (offset <= bytes.size() && stored <= bytes.size() - offset)
      store_u64(t + 40, XXH64(bytes.data() + offset, static_cast<size_t>(stored), 0));
  }
  const size_t table_end = static_cast<size_t>(kModelHeaderSize + kSectionEntrySize * count);
  store_u64(bytes.data() + kChecksumFieldOffset, header_checksum({bytes.data(), table_end}));
}

}  // namespace tt
