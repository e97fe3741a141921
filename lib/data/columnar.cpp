#include "data/columnar.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/checked_math.h"
#include "base/error.h"
#include "data/text.h"

namespace tt {

namespace {

constexpr size_t kHeaderSize = 64;
constexpr size_t kHeaderChecksummed = 56;
constexpr size_t kDataAlignment = 64;

size_t value_width(DType t) { return t == DType::int64 ? 8 : 4; }  // strings: a uint32 code

void pad_to(std::vector<uint8_t>& out, size_t alignment) {
  out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
}

template <class T>
void append_raw(std::vector<uint8_t>& out, const T* p, size_t n) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n * sizeof(T));
}

template <class T>
void put(std::vector<uint8_t>& out, size_t at, T v) {
  std::memcpy(out.data() + at, &v, sizeof v);
}

template <class T>
T get(std::span<const uint8_t> b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

uint64_t hash(std::span<const uint8_t> b) { return XXH64(b.data(), b.size(), 0); }

}  // namespace

std::vector<uint8_t> columnar_bytes(const Table& table, const ColumnarWriteOptions& options) {
  if (options.block_rows == 0 || options.block_rows > kMaxBlockRows)
    fail(ErrorKind::invalid_argument,
         "block_rows is " + std::to_string(options.block_rows) + "; it must be in 1.." + std::to_string(kMaxBlockRows));
  if (table.num_columns() == 0) fail(ErrorKind::invalid_argument, "a columnar file needs at least one column");
  const uint64_t rows = table.num_rows();
  const uint64_t blocks = (rows + options.block_rows - 1) / options.block_rows;
  std::vector<uint8_t> out(kHeaderSize, 0);
  std::vector<ColumnarColumn> dir;
  std::vector<uint64_t> block_sums;
  for (const Column& c : table.columns()) {
    ColumnarColumn d;
    d.name = c.name();
    d.type = c.dtype();
    pad_to(out, kDataAlignment);
    d.data_offset = out.size();
    if (c.dtype() == DType::int64) {
      append_raw(out, c.ints().data(), rows);
    } else if (c.dtype() == DType::float32) {
      append_raw(out, c.floats().data(), rows);
    } else {
      // Codes in order of first appearance, so equal tables give equal files.
      std::unordered_map<std::string_view, uint32_t> codes;
      std::vector<std::string_view> entries;
      std::vector<uint32_t> row_codes(rows);
      for (uint64_t r = 0; r < rows; ++r) {
        const std::string& s = c.strings()[r];
        const auto [it, fresh] = codes.emplace(s, static_cast<uint32_t>(entries.size()));
        if (fresh) {
          if (entries.size() == UINT32_MAX)
            fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has more than 2^32-1 distinct strings");
          entries.push_back(s);
        }
        row_codes[r] = it->second;
      }
      append_raw(out, row_codes.data(), rows);
      pad_to(out, 8);
      d.dictionary_count = entries.size();
      d.dictionary_offsets = out.size();
      uint64_t end = 0;
      append_raw(out, &end, 1);
      for (std::string_view e : entries) {
        end += e.size();
        append_raw(out, &end, 1);
      }
      d.dictionary_bytes = out.size();
      d.dictionary_size = end;
      for (std::string_view e : entries) out.insert(out.end(), e.begin(), e.end());
      d.dictionary_checksum =
          hash(std::span<const uint8_t>(out).subspan(d.dictionary_offsets, out.size() - d.dictionary_offsets));
    }
    const size_t width = value_width(c.dtype());
    for (uint64_t b = 0; b < blocks; ++b) {
      const uint64_t r0 = b * options.block_rows, rn = std::min<uint64_t>(options.block_rows, rows - r0);
      block_sums.push_back(hash(std::span<const uint8_t>(out).subspan(d.data_offset + r0 * width, rn * width)));
    }
    dir.push_back(std::move(d));
  }
  pad_to(out, 8);
  ByteWriter w;
  w.u32(static_cast<uint32_t>(dir.size()));
  for (const ColumnarColumn& d : dir) {
    w.str(d.name);
    w.u8(static_cast<uint8_t>(d.type));
    w.u64(d.data_offset);
    w.u64(d.dictionary_count);
    w.u64(d.dictionary_offsets);
    w.u64(d.dictionary_bytes);
    w.u64(d.dictionary_size);
    w.u64(d.dictionary_checksum);
  }
  w.array(block_sums);
  const uint64_t dir_offset = out.size();
  out.insert(out.end(), w.bytes().begin(), w.bytes().end());

  std::memcpy(out.data(), kColumnarMagic, 8);
  put<uint32_t>(out, 8, kColumnarVersion);
  put<uint32_t>(out, 12, 0);  // flags
  put<uint64_t>(out, 16, rows);
  put<uint32_t>(out, 24, static_cast<uint32_t>(dir.size()));
  put<uint32_t>(out, 28, options.block_rows);
  put<uint64_t>(out, 32, dir_offset);
  put<uint64_t>(out, 40, w.bytes().size());
  put<uint64_t>(out, 48, hash(w.bytes()));
  put<uint64_t>(out, 56, hash(std::span<const uint8_t>(out).first(kHeaderChecksummed)));
  return out;
}

void write_columnar(const std::string& path, const Table& table, const ColumnarWriteOptions& options) {
  write_file_atomically(path, columnar_bytes(table, options));
}

bool is_columnar(std::span<const uint8_t> bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kColumnarMagic, 8) == 0;
}

bool is_columnar_file(const std::string& path) {
  try {
    return is_columnar(MappedFile::open(path).bytes());
  } catch (const Error&) {
    return false;  // the caller's reader reports why the file cannot be read
  }
}

ColumnarFile ColumnarFile::open(const std::string& path) {
  auto mapping = std::make_shared<MappedFile>(MappedFile::open(path, "columnar data file"));
  ColumnarFile f = from_bytes(mapping->bytes(), path);
  f.mapping_ = std::move(mapping);
  return f;
}

ColumnarFile ColumnarFile::from_bytes(std::span<const uint8_t> bytes, const std::string& source_name) {
  ColumnarFile f;
  f.bytes_ = bytes;
  f.source_ = source_name;
  f.parse();
  return f;
}

void ColumnarFile::parse() {
  auto corrupt = [&](const std::string& msg) {
    fail(ErrorKind::corrupt, source_ + ": " + msg + " (not a twotower columnar file, or a damaged one)");
  };
  if (bytes_.size() < kHeaderSize)
    corrupt("only " + std::to_string(bytes_.size()) + " bytes, shorter than the 64-byte header");
  if (!is_columnar(bytes_)) corrupt("the file does not start with the columnar magic 'TTCOLS'");
  const uint32_t version = get<uint32_t>(bytes_, 8);
  const bool header_ok = hash(bytes_.first(kHeaderChecksummed)) == get<uint64_t>(bytes_, 56);
  if (version != kColumnarVersion) {
    if (version > kColumnarVersion && header_ok)
      fail(ErrorKind::unsupported, source_ + ": columnar format version " + std::to_string(version) +
                                       " is newer than this reader's (" + std::to_string(kColumnarVersion) +
                                       "); convert the data again with this version");
    corrupt("unknown format version " + std::to_string(version));
  }
  if (!header_ok) corrupt("the header checksum does not match");
  if (get<uint32_t>(bytes_, 12) != 0) corrupt("unknown flags " + std::to_string(get<uint32_t>(bytes_, 12)));
  rows_ = get<uint64_t>(bytes_, 16);
  const uint32_t num_columns = get<uint32_t>(bytes_, 24);
  block_rows_ = get<uint32_t>(bytes_, 28);
  if (block_rows_ == 0 || block_rows_ > kMaxBlockRows)
    corrupt("block_rows " + std::to_string(block_rows_) + " is outside 1.." + std::to_string(kMaxBlockRows));
  const uint64_t dir_offset = get<uint64_t>(bytes_, 32), dir_size = get<uint64_t>(bytes_, 40);
  if (dir_offset < kHeaderSize || dir_offset > bytes_.size() || dir_size != bytes_.size() - dir_offset)
    corrupt("the directory (offset " + std::to_string(dir_offset) + ", " + std::to_string(dir_size) +
            " bytes) does not end the " + std::to_string(bytes_.size()) + "-byte file");
  const std::span<const uint8_t> dir = bytes_.subspan(dir_offset, dir_size);
  if (hash(dir) != get<uint64_t>(bytes_, 48)) corrupt("the directory checksum does not match");

  // Past the checksums, the directory is still checked field by field: a checksum guards
  // against damage, not against a file crafted to pass it.
  ByteReader r(dir, source_ + ": directory");
  if (r.u32() != num_columns) corrupt("the directory's column count differs from the header's");
  if (num_columns == 0) corrupt("no columns");
  const uint64_t end_of_data = dir_offset;
  auto check_region = [&](uint64_t offset, uint64_t size, const std::string& what) {
    if (offset < kHeaderSize || offset > end_of_data || size > end_of_data - offset)
      corrupt(what + " (offset " + std::to_string(offset) + ", " + std::to_string(size) +
              " bytes) lies outside the data area");
  };
  for (uint32_t i = 0; i < num_columns; ++i) {
    ColumnarColumn c;
    c.name = r.str();
    const std::string what = "column " + quote_for_message(c.name);
    if (c.name.empty()) corrupt("column " + std::to_string(i) + " has an empty name");
    for (const auto& other : columns_)
      if (other.name == c.name) corrupt(what + " appears twice");
    const uint8_t type = r.u8();
    if (type > static_cast<uint8_t>(DType::float32)) corrupt(what + ": unknown type " + std::to_string(type));
    c.type = static_cast<DType>(type);
    c.data_offset = r.u64();
    c.dictionary_count = r.u64();
    c.dictionary_offsets = r.u64();
    c.dictionary_bytes = r.u64();
    c.dictionary_size = r.u64();
    c.dictionary_checksum = r.u64();
    const uint64_t width = value_width(c.type);
    if (rows_ > end_of_data / width) corrupt(what + ": " + std::to_string(rows_) + " rows do not fit in the file");
    check_region(c.data_offset, rows_ * width, what + "'s values");
    if (c.type == DType::string) {
      if (c.dictionary_count > UINT32_MAX) corrupt(what + ": dictionary of " + std::to_string(c.dictionary_count));
      check_region(c.dictionary_offsets, (c.dictionary_count + 1) * 8, what + "'s dictionary offsets");
      check_region(c.dictionary_bytes, c.dictionary_size, what + "'s dictionary");
      if (c.dictionary_bytes != c.dictionary_offsets + (c.dictionary_count + 1) * 8)
        corrupt(what + ": the dictionary's bytes do not follow its offsets");
      const auto dict = bytes_.subspan(c.dictionary_offsets, (c.dictionary_count + 1) * 8 + c.dictionary_size);
      if (hash(dict) != c.dictionary_checksum) corrupt(what + ": the dictionary checksum does not match");
      uint64_t prev = 0;
      for (uint64_t e = 0; e <= c.dictionary_count; ++e) {
        const uint64_t end = get<uint64_t>(bytes_, c.dictionary_offsets + e * 8);
        if ((e == 0 && end != 0) || end < prev || end > c.dictionary_size)
          corrupt(what + ": dictionary entry " + std::to_string(e) + " has a bad end offset");
        if (e > 0) {
          const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + c.dictionary_bytes + prev),
                                   end - prev);
          if (find_invalid_utf8(s) != std::string_view::npos)
            corrupt(what + ": dictionary entry " + std::to_string(e - 1) + " is not valid UTF-8");
        }
        prev = end;
      }
      if (prev != c.dictionary_size) corrupt(what + ": the dictionary's size does not match its offsets");
    } else if (c.dictionary_count || c.dictionary_offsets || c.dictionary_bytes || c.dictionary_size ||
               c.dictionary_checksum) {
      corrupt(what + ": a numeric column with dictionary fields");
    }
    columns_.push_back(std::move(c));
  }
  block_checksums_ = r.array<uint64_t>();
  r.expect_end();
  // Regions may not overlap and the bytes between them must be zero: with the checksums, any
  // changed byte outside the column values is then refused here.
  std::vector<std::pair<uint64_t, uint64_t>> regions = {{0, kHeaderSize}, {dir_offset, dir_size}};
  for (const auto& c : columns_) {
    regions.emplace_back(c.data_offset, rows_ * value_width(c.type));
    if (c.type == DType::string)
      regions.emplace_back(c.dictionary_offsets, (c.dictionary_count + 1) * 8 + c.dictionary_size);
  }
  std::sort(regions.begin(), regions.end());
  uint64_t covered = 0;
  for (const auto& [offset, size] : regions) {
    if (offset < covered) corrupt("two regions overlap at byte " + std::to_string(offset));
    for (uint64_t i = covered; i < offset; ++i)
      if (bytes_[i] != 0) corrupt("padding byte " + std::to_string(i) + " is not zero");
    covered = offset + size;
  }
  if (block_checksums_.size() != num_columns * num_blocks())
    corrupt(std::to_string(block_checksums_.size()) + " block checksums for " + std::to_string(num_columns) +
            " columns of " + std::to_string(num_blocks()) + " blocks");
  verified_.assign(block_checksums_.size(), 0);
}

const ColumnarColumn& ColumnarFile::column(const std::string& name) const {
  for (const auto& c : columns_)
    if (c.name == name) return c;
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "" : ", ") + quote_for_message(c.name);
  fail(ErrorKind::invalid_argument, source_ + ": no column " + quote_for_message(name) + " (columns: " + names + ")");
}

std::span<const uint8_t> ColumnarFile::block_bytes(const ColumnarColumn& c, uint64_t block) const {
  const uint64_t width = value_width(c.type);
  const uint64_t r0 = block * block_rows_, rn = std::min<uint64_t>(block_rows_, rows_ - r0);
  return bytes_.subspan(c.data_offset + r0 * width, rn * width);
}

void ColumnarFile::verify_block(const ColumnarColumn& c, uint64_t block) const {
  const size_t index = static_cast<size_t>(&c - columns_.data()) * num_blocks() + block;
  if (verified_[index]) return;
  const auto b = block_bytes(c, block);
  if (hash(b) != block_checksums_[index])
    fail(ErrorKind::corrupt, source_ + ": column " + quote_for_message(c.name) + ", rows " +
                                 std::to_string(block * block_rows_) +
                                 "..: the block checksum does not match "
                                 "(a damaged file)");
  if (c.type == DType::string)
    for (size_t i = 0; i < b.size() / 4; ++i)
      if (get<uint32_t>(b, i * 4) >= c.dictionary_count)
        fail(ErrorKind::corrupt, source_ + ": column " + quote_for_message(c.name) + ", row " +
                                     std::to_string(block * block_rows_ + i) + ": string code beyond the dictionary");
  verified_[index] = 1;
}

Table ColumnarFile::read_rows(uint64_t begin, uint64_t end, const std::vector<std::string>& names) const {
  if (begin > end || end > rows_)
    fail(ErrorKind::invalid_argument, source_ + ": rows " + std::to_string(begin) + ".." + std::to_string(end) +
                                          " are outside the file's " + std::to_string(rows_) + " rows");
  std::vector<const ColumnarColumn*> wanted;
  if (names.empty())
    for (const auto& c : columns_) wanted.push_back(&c);
  for (const auto& n : names) wanted.push_back(&column(n));
  const uint64_t n = end - begin;
  Table out;
  for (const ColumnarColumn* c : wanted) {
    if (n)
      for (uint64_t b = begin / block_rows_; b <= (end - 1) / block_rows_; ++b) verify_block(*c, b);
    const uint8_t* base = bytes_.data() + c->data_offset;
    if (c->type == DType::int64) {
      std::vector<int64_t> v(n);
      if (n) std::memcpy(v.data(), base + begin * 8, n * 8);
      out.add(Column(c->name, std::move(v)));
    } else if (c->type == DType::float32) {
      std::vector<float> v(n);
      if (n) std::memcpy(v.data(), base + begin * 4, n * 4);
      out.add(Column(c->name, std::move(v)));
    } else {
      std::vector<std::string> v;
      v.reserve(n);
      for (uint64_t r = begin; r < end; ++r) {
        const uint32_t code = get<uint32_t>(bytes_, c->data_offset + r * 4);
        const uint64_t s0 = get<uint64_t>(bytes_, c->dictionary_offsets + uint64_t{code} * 8);
        const uint64_t s1 = get<uint64_t>(bytes_, c->dictionary_offsets + uint64_t{code} * 8 + 8);
        v.emplace_back(reinterpret_cast<const char*>(bytes_.data() + c->dictionary_bytes + s0), s1 - s0);
      }
      out.add(Column(c->name, std::move(v)));
    }
  }
  return out;
}

std::vector<std::string> ColumnarFile::expect_types(const std::vector<std::pair<std::string, DType>>& columns) const {
  std::vector<std::string> names;
  for (const auto& [name, type] : columns) {
    const ColumnarColumn& c = column(name);
    if (c.type != type)
      fail(ErrorKind::parse, source_ + ": column " + quote_for_message(name) + " is stored as " + dtype_name(c.type) +
                                 ", expected " + dtype_name(type));
    names.push_back(name);
  }
  return names;
}

Table ColumnarFile::read(const std::vector<std::pair<std::string, DType>>& columns) const {
  return read_rows(0, rows_, expect_types(columns));
}

void ColumnarFile::release_rows_before(uint64_t end) const { release_rows(0, end); }

void ColumnarFile::release_rows(uint64_t begin, uint64_t end) const {
  if (!mapping_ || begin >= end) return;
  end = std::min(end, rows_);
  for (const auto& c : columns_) {
    const uint64_t w = value_width(c.type);
    mapping_->release(c.data_offset + begin * w, (end - begin) * w);
  }
}

uint64_t ColumnarFile::content_checksum() const { return get<uint64_t>(bytes_, 48); }

}  // namespace tt
