// The model-file container: layout (header, table, 64-byte alignment), codecs, checksums, and a
// reader that refuses every kind of damaged or hostile file with a tt::Error naming the file,
// the section and the field; atomic writes that never leave a half-written file.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/model_file.h"
#include "io_test_support.h"

using namespace tt;
using namespace tt::iotest;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

SectionData section(uint32_t kind, std::vector<uint8_t> bytes, bool required = true, bool compress = true) {
  SectionData s;
  s.kind = kind;
  s.required = required;
  s.bytes = std::move(bytes);
  s.compress = compress;
  return s;
}

// Three sections: compressible text, incompressible noise, an empty one.
std::vector<SectionData> sample_sections() {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "{\"feature\": \"user_id\", \"kind\": \"string_lookup\"}\n";
  std::vector<uint8_t> noise(5000);
  std::mt19937 g(1);
  for (auto& b : noise) b = static_cast<uint8_t>(g());
  return {section(1, bytes_of(text)), section(4, noise), section(2, {}, false)};
}

uint32_t get_u32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
// Byte offset of field `field_offset` in table entry i.
size_t entry(size_t i, size_t field_offset) { return kModelHeaderSize + kSectionEntrySize * i + field_offset; }
constexpr size_t kOffset = 16, kStored = 24, kRaw = 32;

Thrown open_buffer(const std::vector<uint8_t>& b, bool read_all = true) {
  return thrown([&] {
    auto r = ModelFileReader::from_buffer(b, "test.tt");
    if (read_all)
      for (const auto& e : r.header().sections)
        if (section_kind_name(e.kind)) (void)r.read(static_cast<SectionKind>(e.kind));
  });
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tt_io_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

size_t count_files(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("model file: layout, alignment and round trip of every section") {
  const auto sections = sample_sections();
  for (int level : {0, 1, 3, 19, -5}) {
    CAPTURE(level);
    const auto file = encode_model_file(sections, level);
    CHECK(std::memcmp(file.data(), kModelFileMagic, 8) == 0);
    CHECK(get_u32(file, 8) == kModelFormatVersion);
    CHECK(get_u32(file, 12) == 0);
    CHECK(get_u32(file, 16) == 3);
    CHECK(get_u64(file, 24) == file.size());
    auto r = ModelFileReader::from_buffer(file);
    REQUIRE(r.header().sections.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      const SectionEntry& e = r.header().sections[i];
      CHECK(e.kind == sections[i].kind);
      CHECK(e.offset % 64 == 0);
      CHECK(e.offset >= kModelHeaderSize + 3 * kSectionEntrySize);
      CHECK(e.raw_size == sections[i].bytes.size());
      CHECK(e.required() == sections[i].required);
      CHECK(r.read(static_cast<SectionKind>(e.kind)) == sections[i].bytes);
    }
    // Text compresses (unless level 0), noise never does and is stored raw, empty stays raw.
    CHECK(r.header().sections[0].codec == (level == 0 ? 0u : 1u));
    CHECK(r.header().sections[1].codec == 0u);
    CHECK(r.header().sections[2].codec == 0u);
    CHECK(r.header().sections[2].stored_size == 0);
    CHECK(r.has(SectionKind::weights));
    CHECK(r.read_if_present(SectionKind::optimizer) == std::nullopt);
    CHECK(contains(thrown([&] { r.read(SectionKind::index); }).message, "section 'index' is missing"));
  }
  // compress = false keeps a section raw.
  auto s = sample_sections();
  s[0].compress = false;
  auto r = ModelFileReader::from_buffer(encode_model_file(s, 3));
  CHECK(r.header().sections[0].codec == 0u);
  // An empty file has a header and nothing else.
  CHECK(encode_model_file({}, 3).size() == kModelHeaderSize);
  CHECK(open_buffer(encode_model_file({}, 3)).kind == 0);
}

TEST_CASE("model file: writer rejects bad levels, duplicate and zero kinds") {
  auto s = sample_sections();
  CHECK(thrown([&] { encode_model_file(s, 99); }).kind == kInvalid);
  s.push_back(section(1, {1, 2, 3}));
  CHECK(contains(thrown([&] { encode_model_file(s, 3); }).message, "section 'spec' given twice"));
  CHECK(thrown([&] { encode_model_file({section(0, {1})}, 3); }).kind == kInvalid);
}

TEST_CASE("model file: wrong magic, short files and a future format version") {
  const auto good = encode_model_file(sample_sections(), 3);
  auto bad = good;
  bad[0] = 'X';
  Thrown t = open_buffer(bad);
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "test.tt: not a twotower model file (wrong magic bytes)"));
  CHECK(contains(open_buffer({}).message, "not a twotower model file"));
  CHECK(contains(open_buffer(bytes_of("PK\x03\x04 this is a zip")).message, "wrong magic"));
  CHECK(contains(open_buffer({good.begin(), good.begin() + 20}).message, "shorter than the 48-byte header"));

  auto future = good;
  put_u32(future, 8, 2);
  t = open_buffer(future);  // refused before the checksum: a future header may differ
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "format version 2 is newer"));
  CHECK(contains(t.message, "a newer twotower wrote this file"));
  CHECK(contains(t.message, "or the file is damaged: its header checksum does not match"));  // unsealed
  reseal_model_file(future);
  t = open_buffer(future);
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "a newer twotower wrote this file"));
  CHECK(!contains(t.message, "damaged"));

  auto zero = good;
  put_u32(zero, 8, 0);
  reseal_model_file(zero);
  CHECK(contains(open_buffer(zero).message, "format version 0"));
}

TEST_CASE("model file: unknown required feature bits are refused, optional ones ignored") {
  auto f = encode_model_file(sample_sections(), 3);
  put_u32(f, 12, 1u << 5);
  CHECK(contains(open_buffer(f).message, "header checksum"));  // unsealed: damaged
  reseal_model_file(f);
  Thrown t = open_buffer(f);
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "required feature bit 5 (0x20)"));
  CHECK(contains(t.message, "a newer twotower wrote this file"));

  auto g = encode_model_file(sample_sections(), 3);
  put_u32(g, 20, 0xffffffffu);  // optional features: informational
  reseal_model_file(g);
  CHECK(open_buffer(g).kind == 0);
}

TEST_CASE("model file: unknown required section kinds are refused, unknown optional kinds skipped") {
  auto s = sample_sections();
  s.push_back(section(77, bytes_of("from the future"), false));
  auto r = ModelFileReader::from_buffer(encode_model_file(s, 3));
  CHECK(r.header().sections.size() == 4);
  CHECK(r.read(SectionKind::spec) == s[0].bytes);

  s.back().required = true;
  Thrown t = open_buffer(encode_model_file(s, 3));
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "section kind 77"));
  CHECK(contains(t.message, "required section this reader does not know"));

  // An unknown optional kind may even use a codec this reader does not know.
  s.back().required = false;
  auto f = encode_model_file(s, 3);
  put_u32(f, entry(3, 8), 9);
  reseal_model_file(f);
  CHECK(open_buffer(f).kind == 0);
  // A known section with an unknown codec is refused.
  put_u32(f, entry(0, 8), 9);
  reseal_model_file(f);
  t = open_buffer(f);
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "section 'spec'"));
  CHECK(contains(t.message, "codec 9"));
}

TEST_CASE("model file: every flipped byte is caught by a checksum") {
  const auto good = encode_model_file(sample_sections(), 3);
  auto r = ModelFileReader::from_buffer(good);
  // Header and table: any change is refused (corrupt, or unsupported for the version field).
  const size_t table_end = kModelHeaderSize + 3 * kSectionEntrySize;
  for (size_t i = 0; i < table_end; ++i) {
    auto bad = good;
    bad[i] ^= 0x10;
    Thrown t = open_buffer(bad);
    CAPTURE(i);
    CHECK((t.kind == kCorrupt || t.kind == kUnsupported));
  }
  // Each section: the message names it.
  for (const auto& e : r.header().sections) {
    if (e.stored_size == 0) continue;
    for (uint64_t at : {e.offset, e.offset + e.stored_size / 2, e.offset + e.stored_size - 1}) {
      auto bad = good;
      bad[at] ^= 0x01;
      Thrown t = open_buffer(bad);
      CAPTURE(at);
      CHECK(t.kind == kCorrupt);
      CHECK(contains(t.message, section_label(e.kind)));
      CHECK(contains(t.message, "checksum mismatch"));
    }
  }
}

TEST_CASE("model file: truncation anywhere is refused") {
  const auto good = encode_model_file(sample_sections(), 3);
  for (size_t n = 0; n < good.size(); n += (n < 400 ? 1 : 37)) {
    Thrown t = open_buffer({good.begin(), good.begin() + n});
    CAPTURE(n);
    CHECK(t.kind == kCorrupt);
  }
  // Truncated with the header's file size patched and resealed: the table names the section.
  auto r = ModelFileReader::from_buffer(good);
  for (const auto& e : r.header().sections) {
    if (e.stored_size == 0) continue;
    std::vector<uint8_t> cut(good.begin(), good.begin() + e.offset + e.stored_size - 1);
    put_u64(cut, 24, cut.size());
    reseal_model_file(cut);
    Thrown t = open_buffer(cut);
    CHECK(t.kind == kCorrupt);
    CHECK(contains(t.message, section_label(e.kind)));
    CHECK(contains(t.message, "past the end"));
  }
  // Trailing bytes are refused too.
  auto longer = good;
  longer.push_back(0);
  CHECK(contains(open_buffer(longer).message, "trailing data"));
}

TEST_CASE("model file: absurd sizes, offsets and counts are refused before any allocation") {
  const auto good = encode_model_file(sample_sections(), 3);
  auto patched = [&](auto&& edit) {
    auto f = good;
    edit(f);
    reseal_model_file(f);
    return open_buffer(f);
  };
  Thrown t = patched([](auto& f) { put_u64(f, entry(0, kRaw), uint64_t{1} << 60); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'spec'"));
  CHECK(contains(t.message, "raw size 1152921504606846976"));
  t = patched([](auto& f) { put_u64(f, entry(1, kOffset), uint64_t{1} << 40); });
  CHECK(contains(t.message, "section 'weights'"));
  CHECK(contains(t.message, "past the end"));
  t = patched([](auto& f) { put_u64(f, entry(1, kStored), ~uint64_t{0}); });
  CHECK(contains(t.message, "past the end"));
  t = patched([](auto& f) { put_u64(f, entry(1, kOffset), ~uint64_t{0} - 63); });
  CHECK(contains(t.message, "past the end"));
  t = patched([](auto& f) { put_u32(f, 16, 1u << 31); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section count 2147483648 exceeds the limit"));
  t = patched([](auto& f) { put_u32(f, 16, 1000); });
  CHECK(contains(t.message, "section table of 1000 entries"));
  t = patched([](auto& f) { put_u64(f, 24, uint64_t{1} << 62); });
  CHECK(contains(t.message, "truncated"));
  t = patched([](auto& f) { put_u64(f, entry(1, kOffset), get_u64(f, entry(1, kOffset)) + 1); });
  CHECK(contains(t.message, "not a multiple of 64"));
  t = patched([](auto& f) { put_u64(f, entry(0, kOffset), 64); });
  CHECK(contains(t.message, "inside the header and section table"));
  t = patched([](auto& f) { put_u64(f, entry(1, kOffset), get_u64(f, entry(0, kOffset))); });
  CHECK(contains(t.message, "overlaps"));
  t = patched([](auto& f) { put_u32(f, entry(1, 0), 1); });
  CHECK(contains(t.message, "duplicate"));
  t = patched([](auto& f) { put_u32(f, entry(1, 0), 0); });
  CHECK(contains(t.message, "kind 0 is reserved"));
  // A raw section's sizes must agree.
  t = patched([](auto& f) { put_u64(f, entry(1, kRaw), get_u64(f, entry(1, kRaw)) + 1); });
  CHECK(contains(t.message, "section 'weights'"));
  CHECK(contains(t.message, "must be equal"));
  // A zstd section's declared raw size must be the frame's.
  t = patched([](auto& f) { put_u64(f, entry(0, kRaw), get_u64(f, entry(0, kRaw)) + 1); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'spec'"));
  CHECK(contains(t.message, "zstd frame header"));
  t = patched([](auto& f) { put_u64(f, entry(0, kRaw), uint64_t{15} << 30); });
  CHECK(contains(t.message, "zstd frame header"));
  // Damaged zstd data with a valid checksum: zstd's error, named.
  t = patched([](auto& f) {
    const uint64_t off = get_u64(f, entry(0, kOffset)), n = get_u64(f, entry(0, kStored));
    for (uint64_t i = off + n / 2; i < off + n; ++i) f[i] = 0xff;
  });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'spec'"));
  // A zstd frame cut short, sizes patched so that only the frame itself is wrong.
  t = patched([](auto& f) { put_u64(f, entry(0, kStored), get_u64(f, entry(0, kStored)) - 3); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'spec'"));
  // Non-frames.
  t = patched([](auto& f) { std::memset(f.data() + get_u64(f, entry(0, kOffset)), 0, 8); });
  CHECK(contains(t.message, "not a zstd frame"));
}

TEST_CASE("model file: write and read a file, atomically") {
  const fs::path dir = temp_dir("write");
  const std::string path = (dir / "m.tt").string();
  const auto s = sample_sections();
  write_model_file(path, s, 3);
  CHECK(count_files(dir) == 1);
  CHECK(read_file(path) == encode_model_file(s, 3));
  auto r = ModelFileReader::open(path);
  CHECK(r.name() == path);
  CHECK(r.read(SectionKind::weights) == s[1].bytes);
  // Overwriting replaces it.
  auto s2 = s;
  s2[1].bytes.resize(100);
  write_model_file(path, s2, 3);
  CHECK(ModelFileReader::open(path).read(SectionKind::weights) == s2[1].bytes);
  CHECK(count_files(dir) == 1);

  // Errors reading.
  Thrown t = thrown([&] { ModelFileReader::open((dir / "missing.tt").string()); });
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "missing.tt"));
  t = thrown([&] { ModelFileReader::open(dir.string()); });
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "not a regular file"));
  fs::remove_all(dir);
}

TEST_CASE("model file: a failed save leaves no file and keeps the existing one") {
  const fs::path dir = temp_dir("atomic");
  const auto s = sample_sections();

  // A directory that does not exist.
  Thrown t = thrown([&] { write_model_file((dir / "nope" / "m.tt").string(), s, 3); });
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "nope"));
  CHECK(count_files(dir) == 0);

  // The destination is a directory: the rename fails, the temporary is removed.
  fs::create_directories(dir / "taken");
  t = thrown([&] { write_model_file((dir / "taken").string(), s, 3); });
  CHECK(t.kind == kIo);
  CHECK(count_files(dir) == 1);
  CHECK(fs::is_directory(dir / "taken"));

  // A read-only directory (meaningless as root, who may write anywhere).
  const std::string path = (dir / "m.tt").string();
  write_model_file(path, s, 0);
  const auto before = read_file(path);
  if (::geteuid() != 0) {
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
    t = thrown([&] { write_model_file(path, sample_sections(), 19); });
    fs::permissions(dir, fs::perms::owner_all);
    CHECK(t.kind == kIo);
    CHECK(read_file(path) == before);
  }

  // A write that fails half-way (file size limit, like a full disk): the existing file survives
  // byte for byte and no temporary is left behind.
  auto big = s;
  big[1].bytes.assign(200000, 7);
  big[1].compress = false;
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto prev = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 65536;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  t = thrown([&] { write_model_file(path, big, 0); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "write failed"));
  CHECK(read_file(path) == before);
  CHECK(count_files(dir) == 2);  // m.tt and taken/
  CHECK(ModelFileReader::open(path).read(SectionKind::weights) == s[1].bytes);
  fs::remove_all(dir);
}
