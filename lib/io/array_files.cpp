#include "io/array_files.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/precision.h"
#include "data/read_file.h"
#include "data/text.h"

namespace tt {

namespace {

using json = nlohmann::json;

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[noreturn]] void corrupt(const std::string& where, const std::string& msg) {
  fail(ErrorKind::corrupt, where + ": " + msg);
}

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void put16(std::vector<uint8_t>& o, uint16_t v) {
  o.push_back(v & 0xff);
  o.push_back(v >> 8);
}
void put32(std::vector<uint8_t>& o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back((v >> (8 * i)) & 0xff);
}
void put64(std::vector<uint8_t>& o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o.push_back((v >> (8 * i)) & 0xff);
}

// The element count of a shape, or throws if it overflows `limit_bytes / elem`.
uint64_t element_count(const std::vector<uint64_t>& shape, size_t elem, uint64_t limit_bytes,
                       const std::string& where) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > limit_bytes / elem / d) {
      n = std::numeric_limits<uint64_t>::max();
      break;
    }
    n *= d;
  }
  if (n == std::numeric_limits<uint64_t>::max() || n * elem > limit_bytes) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    corrupt(where,
            "shape " + s + ") needs more data than the " + std::to_string(limit_bytes) + " bytes the file holds");
  }
  return n;
}

enum class ElemType { f32, f16, bf16, f64 };

size_t elem_size(ElemType t) { return t == ElemType::f64 ? 8 : t == ElemType::f32 ? 4 : 2; }

// Converts n little-endian elements to float32.
std::vector<float> to_floats(const uint8_t* p, uint64_t n, ElemType t) {
  std::vector<float> out(static_cast<size_t>(n));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t) {
      case ElemType::f32:
        std::memcpy(&out[i], p + 4 * i, 4);
        break;
      case ElemType::f16:
        out[i] = fp16_to_float(le16(p + 2 * i));
        break;
      case ElemType::bf16:
        out[i] = bf16_to_float(le16(p + 2 * i));
        break;
      case ElemType::f64: {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// .npy header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
};

class DictParser {
 public:
  DictParser(std::string_view text, std::string where) : s_(text), where_(std::move(where)) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = string_literal();
      expect(':');
      skip_ws();
      if (key == "descr") {
        h.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        seen_shape = true;
      } else
        bad("unexpected key " + quote_for_message(key) + " (a .npy header has descr, fortran_order and shape)");
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      break;
    }
    skip_ws();
    if (pos_ != s_.size()) bad("unexpected text after the header dictionary");
    if (!seen_descr || !seen_order || !seen_shape) bad("the header dictionary lacks descr, fortran_order or shape");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& msg) { corrupt(where_, "bad .npy header: " + msg); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "' at character " + std::to_string(pos_));
    ++pos_;
  }
  std::string string_literal() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string at character " + std::to_string(pos_));
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("fortran_order must be True or False");
  }
  std::vector<uint64_t> tuple() {
    std::vector<uint64_t> out;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        return out;
      }
      if (peek() < '0' || peek() > '9') bad("shape entries must be non-negative integers");
      uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const uint64_t d = static_cast<uint64_t>(peek() - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) bad("a shape entry overflows");
        v = v * 10 + d;
        ++pos_;
      }
      out.push_back(v);
      skip_ws();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        bad("expected ',' or ')' in the shape");
    }
  }

  std::string_view s_;
  std::string where_;
  size_t pos_ = 0;
};

ElemType npy_dtype(const std::string& descr, const std::string& where) {
  if (descr == "<f4") return ElemType::f32;
  if (descr == "<f2") return ElemType::f16;
  if (descr == "<f8") return ElemType::f64;
  if (descr == ">f4" || descr == ">f2" || descr == ">f8")
    fail(ErrorKind::unsupported,
         where + ": big-endian array (" + quote_for_message(descr) + "): convert it with arr.astype('<f4')");
  fail(ErrorKind::unsupported,
       where + ": unsupported dtype " + quote_for_message(descr) +
           " (twotower reads float arrays: '<f4', '<f2' or '<f8'); convert with arr.astype(np.float32)");
}

// ---------------------------------------------------------------------------------------------
// zip (for .npz)

uint32_t crc32(const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// .npy

std::vector<uint8_t> npy_bytes(const float* data, size_t rows, size_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' padded to a multiple of 64, as NumPy does.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put16(out, static_cast<uint16_t>(header.size()));
  out.insert(out.end(), header.begin(), header.end());
  const auto* b = reinterpret_cast<const uint8_t*>(data);
  out.insert(out.end(), b, b + rows * cols * sizeof(float));
  return out;
}

namespace {

// A .npy file's header and where its data starts (the data itself is not checked).
struct NpyView {
  NpyHeader header;
  size_t data_start = 0;
};

NpyView npy_view(std::span<const uint8_t> bytes, const std::string& name) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0)
    corrupt(name, "not a .npy file (it does not start with \\x93NUMPY)");
  const uint8_t major = bytes[6];
  size_t header_len, start;
  if (major == 1) {
    header_len = le16(bytes.data() + 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) corrupt(name, "truncated .npy header");
    header_len = le32(bytes.data() + 8);
    start = 12;
  } else {
    fail(ErrorKind::unsupported, name + ": .npy format version " + std::to_string(major) + "." +
                                     std::to_string(bytes[7]) + " (twotower reads 1.0, 2.0 and 3.0)");
  }
  if (header_len > bytes.size() - start)
    corrupt(name, ".npy header of " + std::to_string(header_len) + " bytes is longer than the " +
                      std::to_string(bytes.size() - start) + " bytes left in the file");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + start), header_len);
  NpyView v;
  v.header = DictParser(text, name).parse();
  if (v.header.fortran_order && v.header.shape.size() > 1)
    fail(ErrorKind::unsupported, name + ": Fortran-order array: save np.ascontiguousarray(arr) instead");
  v.data_start = start + header_len;
  return v;
}

// The element count of the data after the header, which must fill the rest of the file exactly.
uint64_t npy_elements(std::span<const uint8_t> bytes, const NpyView& v, size_t elem, const std::string& name) {
  const uint64_t available = bytes.size() - v.data_start;
  const uint64_t n = element_count(v.header.shape, elem, available, name);
  if (n * elem != available)
    corrupt(name, std::to_string(available - n * elem) + " unexpected bytes after the array data");
  return n;
}

}  // namespace

FloatArray parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
  const NpyView v = npy_view(bytes, name);
  const NpyHeader& h = v.header;
  const ElemType t = npy_dtype(h.descr, name);
  const size_t data_start = v.data_start;
  const uint64_t n = npy_elements(bytes, v, elem_size(t), name);
  FloatArray a;
  a.shape = h.shape;
  a.values = to_floats(bytes.data() + data_start, n, t);
  return a;
}

FloatArray read_npy(const std::string& path) { return parse_npy(as_bytes(read_file(path, ".npy file")), path); }

IntArray parse_npy_int64(std::span<const uint8_t> bytes, const std::string& name) {
  const NpyView v = npy_view(bytes, name);
  const std::string& descr = v.header.descr;
  // '<i8', '<u4', '|u1', ...: little-endian (or single-byte) signed or unsigned integers.
  const bool ok = descr.size() == 3 && (descr[0] == '<' || descr[0] == '|') && (descr[1] == 'i' || descr[1] == 'u') &&
                  (descr[2] == '1' || descr[2] == '2' || descr[2] == '4' || descr[2] == '8');
  if (!ok)
    fail(ErrorKind::unsupported, name + ": dtype " + quote_for_message(descr) +
                                     " is not a little-endian integer type: save keys with arr.astype('<i8')");
  const bool is_signed = descr[1] == 'i';
  const size_t elem = static_cast<size_t>(descr[2] - '0');
  const uint64_t n = npy_elements(bytes, v, elem, name);
  IntArray a;
  a.shape = v.header.shape;
  a.values.resize(static_cast<size_t>(n));
  const uint8_t* p = bytes.data() + v.data_start;
  for (size_t i = 0; i < a.values.size(); ++i) {
    uint64_t u = 0;
    for (size_t b = 0; b < elem; ++b) u |= uint64_t{p[i * elem + b]} << (8 * b);
    if (is_signed && elem < 8 && (u >> (8 * elem - 1)) & 1) u |= ~uint64_t{0} << (8 * elem);  // sign-extend
    if (!is_signed && elem == 8 && u > uint64_t{INT64_MAX})
      corrupt(name, "element " + std::to_string(i) + " is " + std::to_string(u) + ", beyond int64");
    a.values[i] = static_cast<int64_t>(u);
  }
  return a;
}

IntArray read_npy_int64(const std::string& path) {
  return parse_npy_int64(as_bytes(read_file(path, ".npy file")), path);
}

// ---------------------------------------------------------------------------------------------
// .npz

std::vector<std::pair<std::string, FloatArray>> parse_npz(std::span<const uint8_t> b, const std::string& name) {
  const size_t size = b.size();
  // End of central directory: 22 bytes plus a comment of up to 65535, at the end of the file.
  if (size < 22) corrupt(name, "not a zip archive (" + std::to_string(size) + " bytes)");
  size_t eocd = std::string::npos;
  for (size_t p = size - 22 + 1; p-- > 0 && size - p <= 22 + 65535;)
    if (le32(b.data() + p) == 0x06054b50u) {
      eocd = p;
      break;
    }
  if (eocd == std::string::npos) corrupt(name, "not a zip archive (no end-of-central-directory record)");
  uint64_t entries = le16(b.data() + eocd + 10);
  uint64_t cd_size = le32(b.data() + eocd + 12);
  uint64_t cd_offset = le32(b.data() + eocd + 16);
  if (entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    // zip64: the locator sits just before the end record and points at the zip64 end record.
    if (eocd < 20 || le32(b.data() + eocd - 20) != 0x07064b50u) corrupt(name, "zip64 archive without its locator");
    const uint64_t rec = le64(b.data() + eocd - 20 + 8);
    if (rec > size || size - rec < 56 || le32(b.data() + rec) != 0x06064b50u) corrupt(name, "bad zip64 end record");
    entries = le64(b.data() + rec + 32);
    cd_size = le64(b.data() + rec + 40);
    cd_offset = le64(b.data() + rec + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset) corrupt(name, "the central directory lies outside the file");
  if (entries > cd_size / 46)
    corrupt(name, "the central directory is too small for " + std::to_string(entries) + " entries");

  std::vector<std::pair<std::string, FloatArray>> out;
  size_t p = static_cast<size_t>(cd_offset);
  const size_t cd_end = static_cast<size_t>(cd_offset + cd_size);
  for (uint64_t i = 0; i < entries; ++i) {
    if (cd_end - p < 46 || le32(b.data() + p) != 0x02014b50u)
      corrupt(name, "central directory entry " + std::to_string(i) + " is damaged");
    const uint16_t flags = le16(b.data() + p + 8);
    const uint16_t method = le16(b.data() + p + 10);
    const uint32_t crc = le32(b.data() + p + 16);
    uint64_t comp = le32(b.data() + p + 20), raw = le32(b.data() + p + 24);
    const size_t name_len = le16(b.data() + p + 28), extra_len = le16(b.data() + p + 30),
                 comment_len = le16(b.data() + p + 32);
    uint64_t local = le32(b.data() + p + 42);
    if (cd_end - p - 46 < name_len + extra_len + comment_len)
      corrupt(name, "central directory entry " + std::to_string(i) + " is truncated");
    const std::string entry(reinterpret_cast<const char*>(b.data() + p + 46), name_len);
    const std::string where = name + ": entry " + quote_for_message(entry);
    // zip64 extra field: the 64-bit values of the fields set to 0xffffffff, in this order.
    for (size_t e = p + 46 + name_len, end = e + extra_len; e + 4 <= end;) {
      const uint16_t id = le16(b.data() + e), len = le16(b.data() + e + 2);
      if (len > end - e - 4) corrupt(where, "damaged extra field");
      if (id == 0x0001) {
        size_t q = e + 4, qend = q + len;
        auto next = [&](uint64_t& v) {
          if (v != 0xffffffffu) return;
          if (qend - q < 8) corrupt(where, "damaged zip64 extra field");
          v = le64(b.data() + q);
          q += 8;
        };
        next(raw);
        next(comp);
        next(local);
      }
      e += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;

    if (flags & 1) fail(ErrorKind::unsupported, where + ": encrypted entries are not supported");
    if (method == 8)
      fail(ErrorKind::unsupported, where +
                                       " is deflate-compressed (np.savez_compressed); this build reads only "
                                       "stored entries: save the arrays with np.savez instead");
    if (method != 0)
      fail(ErrorKind::unsupported, where + ": zip compression method " + std::to_string(method) +
                                       " (only stored entries, as np.savez writes them, are read)");
    if (comp != raw) corrupt(where, "a stored entry whose compressed and uncompressed sizes differ");
    if (local > size || size - local < 30 || le32(b.data() + local) != 0x04034b50u)
      corrupt(where, "the local header at byte " + std::to_string(local) + " is missing or damaged");
    const uint64_t data = local + 30 + le16(b.data() + local + 26) + le16(b.data() + local + 28);
    if (data > size || comp > size - data)
      corrupt(where, "its " + std::to_string(comp) + " bytes extend past the end of the archive");
    const std::span<const uint8_t> content = b.subspan(static_cast<size_t>(data), static_cast<size_t>(comp));
    if (crc32(content.data(), content.size()) != crc) corrupt(where, "CRC-32 mismatch (the archive is damaged)");
    if (entry.size() < 4 || entry.compare(entry.size() - 4, 4, ".npy") != 0) continue;  // not an array
    out.emplace_back(entry.substr(0, entry.size() - 4), parse_npy(content, where));
  }
  return out;
}

std::vector<std::pair<std::string, FloatArray>> read_npz(const std::string& path) {
  return parse_npz(as_bytes(read_file(path, ".npz file")), path);
}

std::vector<uint8_t> npz_bytes(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries) {
  std::vector<uint8_t> out, cd;
  for (const auto& [name, data] : entries) {
    const std::string file = name + ".npy";
    const uint32_t crc = crc32(data.data(), data.size());
    if (data.size() >= 0xffffffffu || out.size() >= 0xffffffffu)
      fail(ErrorKind::invalid_argument, "npz: entry '" + file + "' is too large for this writer (4 GiB)");
    const auto offset = static_cast<uint32_t>(out.size());
    // A plain copy: clang before 16 cannot capture structured bindings in a lambda.
    const auto size = static_cast<uint32_t>(data.size());
    auto fixed = [&](std::vector<uint8_t>& o) {
      put16(o, 20);    // version needed
      put16(o, 0);     // flags
      put16(o, 0);     // stored
      put16(o, 0);     // time
      put16(o, 0x21);  // date: 1980-01-01
      put32(o, crc);
      put32(o, size);
      put32(o, size);
      put16(o, static_cast<uint16_t>(file.size()));
      put16(o, 0);  // extra
    };
    put32(out, 0x04034b50u);
    fixed(out);
    out.insert(out.end(), file.begin(), file.end());
    out.insert(out.end(), data.begin(), data.end());
    put32(cd, 0x02014b50u);
    put16(cd, 20);  // made by
    fixed(cd);
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, offset);
    cd.insert(cd.end(), file.begin(), file.end());
  }
  const auto cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put32(out, 0x06054b50u);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(entries.size()));
  put16(out, static_cast<uint16_t>(entries.size()));
  put32(out, static_cast<uint32_t>(cd.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// .fvecs

std::vector<uint8_t> fvecs_bytes(const float* data, size_t rows, size_t cols) {
  if (cols > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail(ErrorKind::invalid_argument, "fvecs: dimension " + std::to_string(cols) + " does not fit an int32");
  std::vector<uint8_t> out;
  out.reserve(rows * (4 + 4 * cols));
  for (size_t r = 0; r < rows; ++r) {
    put32(out, static_cast<uint32_t>(cols));
    const auto* p = reinterpret_cast<const uint8_t*>(data + r * cols);
    out.insert(out.end(), p, p + 4 * cols);
  }
  return out;
}

FloatArray parse_fvecs(std::span<const uint8_t> b, const std::string& name) {
  FloatArray a;
  a.shape = {0, 0};
  if (b.empty()) return a;
  if (b.size() < 4) corrupt(name, "truncated: " + std::to_string(b.size()) + " bytes");
  const int32_t d = static_cast<int32_t>(le32(b.data()));
  if (d <= 0) corrupt(name, "row 0 has dimension " + std::to_string(d) + " (must be positive)");
  const size_t row_bytes = 4 + 4 * static_cast<size_t>(d);
  if (b.size() % row_bytes != 0)
    corrupt(name, std::to_string(b.size()) + " bytes are not a whole number of rows of dimension " + std::to_string(d) +
                      " (" + std::to_string(row_bytes) + " bytes each): truncated or mixed dimensions");
  const size_t rows = b.size() / row_bytes;
  a.shape = {rows, static_cast<uint64_t>(d)};
  a.values.resize(rows * static_cast<size_t>(d));
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* p = b.data() + r * row_bytes;
    if (static_cast<int32_t>(le32(p)) != d)
      corrupt(name, "row " + std::to_string(r) + " has dimension " + std::to_string(static_cast<int32_t>(le32(p))) +
                        ", row 0 has " + std::to_string(d));
    std::memcpy(a.values.data() + r * static_cast<size_t>(d), p + 4, 4 * static_cast<size_t>(d));
  }
  return a;
}

FloatArray read_fvecs(const std::string& path) { return parse_fvecs(as_bytes(read_file(path, ".fvecs file")), path); }

// ---------------------------------------------------------------------------------------------
// safetensors

std::vector<uint8_t> safetensors_bytes(const std::vector<NamedTensor>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || header.contains(t.name))
      fail(ErrorKind::invalid_argument, "safetensors: tensor name '" + t.name + "' is reserved or repeated");
    const uint64_t n = uint64_t{t.rows} * t.cols * 4;
    header[t.name] = {{"dtype", "F32"}, {"shape", {t.rows, t.cols}}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  put64(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& t : tensors) {
    const auto* p = reinterpret_cast<const uint8_t*>(t.data);
    out.insert(out.end(), p, p + t.rows * t.cols * 4);
  }
  return out;
}

std::vector<std::pair<std::string, FloatArray>> parse_safetensors(std::span<const uint8_t> b, const std::string& name) {
  if (b.size() < 8)
    corrupt(name,
            "truncated safetensors file: " + std::to_string(b.size()) + " bytes, shorter than the 8-byte header size");
  const uint64_t n = le64(b.data());
  if (n > b.size() - 8)
    corrupt(name, "safetensors header size " + std::to_string(n) + " is larger than the file (" +
                      std::to_string(b.size()) + " bytes): truncated or not a safetensors file");
  json header;
  try {
    header = json::parse(b.begin() + 8, b.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const json::exception& e) {
    corrupt(name, "the safetensors header is not valid JSON: " + escape_for_message(e.what()));
  }
  if (!header.is_object()) corrupt(name, "the safetensors header is not a JSON object");
  const std::span<const uint8_t> data = b.subspan(8 + static_cast<size_t>(n));

  struct Entry {
    std::string name;
    uint64_t begin, end;
    ElemType type;
    std::vector<uint64_t> shape;
  };
  std::vector<Entry> entries;
  for (const auto& [key, v] : header.items()) {
    if (key == "__metadata__") continue;
    const std::string where = name + ": tensor " + quote_for_message(key);
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      corrupt(where, "needs an object with dtype, shape and data_offsets");
    const json& dt = v["dtype"];
    const json& shape = v["shape"];
    const json& offs = v["data_offsets"];
    if (!dt.is_string()) corrupt(where, "dtype must be a string");
    const std::string d = dt.get<std::string>();
    Entry e;
    e.name = key;
    if (d == "F32")
      e.type = ElemType::f32;
    else if (d == "F16")
      e.type = ElemType::f16;
    else if (d == "BF16")
      e.type = ElemType::bf16;
    else if (d == "F64")
      e.type = ElemType::f64;
    else
      fail(ErrorKind::unsupported,
           where + ": dtype " + quote_for_message(d) + " is not supported (twotower reads F32, F16, BF16 and F64)");
    if (!shape.is_array()) corrupt(where, "shape must be an array of non-negative integers");
    for (const auto& s : shape) {
      if (!s.is_number_unsigned()) corrupt(where, "shape must be an array of non-negative integers");
      e.shape.push_back(s.get<uint64_t>());
    }
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
      corrupt(where, "data_offsets must be [begin, end]");
    e.begin = offs[0].get<uint64_t>();
    e.end = offs[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data.size())
      corrupt(where, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] lie outside the " +
                         std::to_string(data.size()) + " bytes of tensor data (truncated file?)");
    const uint64_t count = element_count(e.shape, elem_size(e.type), data.size(), where);
    if (count * elem_size(e.type) != e.end - e.begin)
      corrupt(where, "holds " + std::to_string(e.end - e.begin) + " bytes, its shape and dtype " + d + " need " +
                         std::to_string(count * elem_size(e.type)));
    entries.push_back(std::move(e));
  }
  // The data must be covered exactly once, without overlaps or holes (as the format requires).
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  uint64_t covered = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != covered)
      corrupt(name, "tensor " + quote_for_message(e->name) + " starts at data byte " + std::to_string(e->begin) +
                        ", expected " + std::to_string(covered) + " (tensors overlap or leave a hole)");
    covered = e->end;
  }
  if (covered != data.size())
    corrupt(name, std::to_string(data.size() - covered) + " bytes after the last tensor's data");

  std::vector<std::pair<std::string, FloatArray>> out;
  for (const auto& e : entries) {
    FloatArray a;
    a.shape = e.shape;
    a.values = to_floats(data.data() + e.begin, (e.end - e.begin) / elem_size(e.type), e.type);
    out.emplace_back(e.name, std::move(a));
  }
  return out;
}

std::vector<std::pair<std::string, FloatArray>> read_safetensors(const std::string& path) {
  return parse_safetensors(as_bytes(read_file(path, ".safetensors file")), path);
}

// ---------------------------------------------------------------------------------------------
// text lines

std::vector<uint8_t> lines_bytes(const std::vector<std::string>& lines, const std::string& what) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find('\n') != std::string::npos)
      fail(ErrorKind::invalid_argument,
           what + ": entry " + std::to_string(i) + " contains a newline and cannot be written one per line");
    out.insert(out.end(), lines[i].begin(), lines[i].end());
    out.push_back('\n');
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  const std::string text = read_file(path, "text file");
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace tt
