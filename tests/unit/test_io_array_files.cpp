// Array files (io/array_files.h) against files NumPy wrote (tests/data/arrays, made by
// make-arrays.py), round trips through our writers, and damaged or unsupported files refused
// with a message naming the file and the tensor or entry.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include "base/random.h"
#include "data/read_file.h"
#include "io/array_files.h"
#include "io_test_support.h"

using namespace tt;
using namespace tt::iotest;

namespace {

const std::string kDir = std::string(TT_SOURCE_DIR) + "/tests/data/arrays/";

std::vector<uint8_t> file_bytes(const std::string& name) {
  const std::string s = read_file(kDir + name);
  return {s.begin(), s.end()};
}

// make-arrays.py's values: 0.5 * arange(n) - 1.
std::vector<float> expected_values(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.5f * static_cast<float>(i) - 1.0f;
  return v;
}

const FloatArray& find(const std::vector<std::pair<std::string, FloatArray>>& v, const std::string& name) {
  for (const auto& [n, a] : v)
    if (n == name) return a;
  FAIL("no array " << name);
  return v.front().second;
}

}  // namespace

TEST_CASE("array files: .npy written by NumPy") {
  FloatArray a = read_npy(kDir + "f32_2x3.npy");
  CHECK(a.shape == std::vector<uint64_t>{2, 3});
  CHECK(a.values == expected_values(6));
  CHECK(a.rows() == 2);
  CHECK(a.cols() == 3);
  a = read_npy(kDir + "f64_5.npy");
  CHECK(a.shape == std::vector<uint64_t>{5});
  CHECK(a.values == expected_values(5));
  CHECK(a.rows() == 1);
  a = read_npy(kDir + "f16_3x2.npy");
  CHECK(a.values == expected_values(6));
  a = read_npy(kDir + "v2_2x2.npy");  // format version 2.0
  CHECK(a.values == expected_values(4));

  // Our writer produces exactly NumPy's bytes.
  const auto v = expected_values(6);
  CHECK(npy_bytes(v.data(), 2, 3) == file_bytes("f32_2x3.npy"));

  Thrown t = thrown([] { read_npy(kDir + "i32_4.npy"); });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "i32_4.npy: unsupported dtype '<i4'"));
  t = thrown([] { read_npy(kDir + "fortran_3x2.npy"); });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "fortran_3x2.npy: Fortran-order array"));
  t = thrown([] { read_npy(kDir + "missing.npy"); });
  CHECK(t.kind == kIo);
}

TEST_CASE("array files: damaged .npy headers") {
  const auto good = file_bytes("f32_2x3.npy");
  auto parse = [](std::vector<uint8_t> b) { return thrown([&] { parse_npy(b, "x.npy"); }); };
  CHECK(parse(good).kind == 0);
  CHECK(contains(parse({good.begin(), good.begin() + 8}).message, "x.npy: not a .npy file"));
  auto b = good;
  b[1] = 'X';
  CHECK(contains(parse(b).message, "not a .npy file"));
  b = good;
  b[8] = 0xff;
  b[9] = 0xff;  // header length 65535
  CHECK(contains(parse(b).message, "x.npy: .npy header of 65535 bytes is longer than"));
  CHECK(contains(parse({good.begin(), good.end() - 1}).message, "shape (2, 3) needs more data than the 23 bytes"));
  b = good;
  b.push_back(0);
  CHECK(contains(parse(b).message, "1 unexpected bytes after the array data"));
  auto with_header = [&](std::string h) {
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(h.size()), 0};
    out.insert(out.end(), h.begin(), h.end());
    return parse(out);
  };
  Thrown t = with_header("{'descr': '<f4', 'fortran_order': False}");
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "x.npy: bad .npy header: the header dictionary lacks"));
  CHECK(contains(with_header("{'descr': '<f4', 'fortran_order': Nope, 'shape': ()}").message, "True or False"));
  CHECK(contains(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}").message, "non-negative"));
  CHECK(contains(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}").message,
                 "unexpected key 'x'"));
  CHECK(contains(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}").message,
                 "overflows"));
  CHECK(with_header("{'descr': '>f4', 'fortran_order': False, 'shape': (0,)}").kind == kUnsupported);
  t = with_header("{'descr': '<f4', 'fortran_order': False, 'shape': ()}");
  CHECK(contains(t.message, "needs more data"));  // a scalar needs 4 bytes
}

TEST_CASE("array files: .npy of integers (keys)") {
  IntArray a = read_npy_int64(kDir + "i32_4.npy");  // written by NumPy
  CHECK(a.shape == std::vector<uint64_t>{4});
  CHECK(a.values == std::vector<int64_t>{0, 1, 2, 3});
  auto npy = [](const std::string& descr, const std::vector<uint8_t>& data, size_t n) {
    const std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(n) + ",)}";
    // One string, one copy: GCC 12 at -O3 warns (array-bounds) about inserting into a vector
    // made from an initializer list.
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h;
    bytes.append(data.begin(), data.end());
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  };
  // Sign extension of narrow signed types; unsigned types stay positive.
  CHECK(parse_npy_int64(npy("|i1", {0xff, 0x05}, 2), "k.npy").values == std::vector<int64_t>{-1, 5});
  CHECK(parse_npy_int64(npy("|u1", {0xff}, 1), "k.npy").values == std::vector<int64_t>{255});
  CHECK(parse_npy_int64(npy("<i2", {0x00, 0x80}, 1), "k.npy").values == std::vector<int64_t>{-32768});
  CHECK(parse_npy_int64(npy("<i8", {0, 0, 0, 0, 0, 0, 0, 0x80}, 1), "k.npy").values == std::vector<int64_t>{INT64_MIN});
  Thrown t = thrown([&] { parse_npy_int64(npy("<u8", {0, 0, 0, 0, 0, 0, 0, 0x80}, 1), "k.npy"); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "k.npy: element 0 is 9223372036854775808, beyond int64"));
  t = thrown([&] { parse_npy_int64(npy(">i8", std::vector<uint8_t>(8), 1), "k.npy"); });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "k.npy: dtype '>i8' is not a little-endian integer type"));
  t = thrown([&] { read_npy_int64(kDir + "f32_2x3.npy"); });
  CHECK(contains(t.message, "dtype '<f4' is not a little-endian integer type"));
  t = thrown([&] { parse_npy_int64(npy("<i4", std::vector<uint8_t>(7), 2), "k.npy"); });
  CHECK(contains(t.message, "needs more data"));
}

TEST_CASE("array files: .npz of stored entries, and a clear refusal of compressed ones") {
  const auto arrays = read_npz(kDir + "weights.npz");
  REQUIRE(arrays.size() == 2);
  CHECK(find(arrays, "query/dense_0/kernel").shape == std::vector<uint64_t>{3, 2});
  CHECK(find(arrays, "query/dense_0/kernel").values == expected_values(6));
  CHECK(find(arrays, "query/dense_0/bias").values == expected_values(2));

  Thrown t = thrown([] { read_npz(kDir + "weights_compressed.npz"); });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "weights_compressed.npz: entry 'a.npy' is deflate-compressed (np.savez_compressed)"));
  CHECK(contains(t.message, "save the arrays with np.savez instead"));

  // Our writer, read back; a flipped data byte fails the CRC; truncations are refused.
  const auto v = expected_values(6);
  const auto z = npz_bytes({{"a", npy_bytes(v.data(), 2, 3)}, {"b/c", npy_bytes(v.data(), 3, 2)}});
  const auto back = parse_npz(z, "z.npz");
  REQUIRE(back.size() == 2);
  CHECK(back[1].first == "b/c");
  CHECK(back[1].second.values == v);
  auto bad = z;
  bad[100] ^= 1;  // inside entry a's data
  CHECK(contains(thrown([&] { parse_npz(bad, "z.npz"); }).message, "CRC-32 mismatch"));
  for (size_t cut : {size_t{0}, size_t{10}, z.size() / 2, z.size() - 1}) {
    CAPTURE(cut);
    t = thrown([&] { parse_npz(std::span<const uint8_t>(z.data(), cut), "z.npz"); });
    CHECK(t.kind == kCorrupt);
    CHECK(contains(t.message, "z.npz"));
  }
}

TEST_CASE("array files: .fvecs") {
  const auto v = expected_values(6);
  const auto b = fvecs_bytes(v.data(), 3, 2);
  CHECK(b.size() == 3 * (4 + 8));
  const FloatArray a = parse_fvecs(b, "x.fvecs");
  CHECK(a.shape == std::vector<uint64_t>{3, 2});
  CHECK(a.values == v);
  CHECK(parse_fvecs({}, "x.fvecs").shape == std::vector<uint64_t>{0, 0});
  CHECK(contains(thrown([&] { parse_fvecs(std::span<const uint8_t>(b.data(), b.size() - 1), "x.fvecs"); }).message,
                 "x.fvecs: 35 bytes are not a whole number of rows"));
  auto mixed = b;
  mixed[12] = 1;  // row 1 claims dimension 1
  CHECK(contains(thrown([&] { parse_fvecs(mixed, "x.fvecs"); }).message, "row 1 has dimension 1, row 0 has 2"));
  auto zero = b;
  zero[0] = 0;
  CHECK(contains(thrown([&] { parse_fvecs(zero, "x.fvecs"); }).message, "row 0 has dimension 0"));
}

TEST_CASE("array files: safetensors") {
  const auto st = read_safetensors(kDir + "sample.safetensors");
  REQUIRE(st.size() == 3);
  CHECK(find(st, "a").values == expected_values(6));
  CHECK(find(st, "b").values == expected_values(4));  // bf16: these values are exact
  CHECK(find(st, "b").shape == std::vector<uint64_t>{2, 2});
  CHECK(find(st, "c").values == expected_values(3));

  const auto v = expected_values(6);
  const auto w = safetensors_bytes({{"x/kernel", 2, 3, v.data()}, {"x/bias", 1, 2, v.data()}}, {{"k", "v"}});
  const auto back = parse_safetensors(w, "w.safetensors");
  CHECK(find(back, "x/kernel").values == v);
  CHECK(find(back, "x/bias").shape == std::vector<uint64_t>{1, 2});
  uint64_t n;
  std::memcpy(&n, w.data(), 8);
  CHECK((8 + n) % 8 == 0);

  auto parse = [](const std::vector<uint8_t>& b) { return thrown([&] { parse_safetensors(b, "w.safetensors"); }); };
  Thrown t = parse({w.begin(), w.begin() + 5});
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "w.safetensors: truncated safetensors file: 5 bytes, shorter than the 8-byte header size"));
  t = parse({w.begin(), w.begin() + 40});
  CHECK(contains(t.message, "w.safetensors: safetensors header size " + std::to_string(n) +
                                " is larger than the file (40 bytes)"));
  t = parse({w.begin(), w.end() - 4});
  CHECK(contains(t.message, "lie outside the"));
  auto edit_header = [&](const std::string& from, const std::string& to) {
    std::string h(w.begin() + 8, w.begin() + 8 + static_cast<long>(n));
    const size_t p = h.find(from);
    REQUIRE(p != std::string::npos);
    h.replace(p, from.size(), to);
    std::vector<uint8_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(h.size() >> (8 * i)));
    out.insert(out.end(), h.begin(), h.end());
    out.insert(out.end(), w.begin() + 8 + static_cast<long>(n), w.end());
    return parse(out);
  };
  t = edit_header("\"F32\"", "\"I32\"");
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "w.safetensors: tensor 'x/bias': dtype 'I32' is not supported"));
  t = edit_header("[1,2]", "[1,3]");
  CHECK(contains(t.message, "tensor 'x/bias'"));
  CHECK(contains(t.message, "holds 8 bytes, its shape and dtype F32 need 12"));
  t = edit_header("{", "[");
  CHECK(contains(t.message, "the safetensors header is not valid JSON"));
  t = edit_header("\"data_offsets\"", "\"offsets\"");
  CHECK(contains(t.message, "needs an object with dtype, shape and data_offsets"));
}

TEST_CASE("array files: text lines") {
  const auto b = lines_bytes({"a", "", "b c"}, "vocab");
  CHECK(std::string(b.begin(), b.end()) == "a\n\nb c\n");
  CHECK(contains(thrown([] {
                   lines_bytes({"ok", "two\nlines"}, "feature 'x' vocabulary");
                 }).message,
                 "feature 'x' vocabulary: entry 1 contains a newline"));
}

TEST_CASE("array files: random damage is an error, never a crash") {
  const auto v = expected_values(12);
  const std::vector<std::vector<uint8_t>> files = {
      file_bytes("f32_2x3.npy"),   file_bytes("v2_2x2.npy"),
      file_bytes("weights.npz"),   file_bytes("sample.safetensors"),
      fvecs_bytes(v.data(), 3, 4), npz_bytes({{"a", npy_bytes(v.data(), 3, 4)}, {"b", npy_bytes(v.data(), 4, 3)}})};
  Rng rng(2024);
  size_t refused = 0, runs = 0;
  for (int round = 0; round < 3000; ++round) {
    for (size_t f = 0; f < files.size(); ++f) {
      std::vector<uint8_t> b = files[f];
      const int edits = 1 + static_cast<int>(rng.below(4));
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng.below(b.size());
        switch (rng.below(3)) {
          case 0:
            b[at] = static_cast<uint8_t>(rng.below(256));
            break;
          case 1:
            b[at] ^= static_cast<uint8_t>(1u << rng.below(8));
            break;
          default:
            b.resize(at);
            break;
        }
        if (b.empty()) break;
      }
      ++runs;
      try {
        switch (f) {
          case 0:
          case 1:
            parse_npy(b, "x.npy");
            break;
          case 2:
          case 5:
            parse_npz(b, "x.npz");
            break;
          case 3:
            parse_safetensors(b, "x.safetensors");
            break;
          default:
            parse_fvecs(b, "x.fvecs");
            break;
        }
      } catch (const Error& e) {
        ++refused;
        CHECK(std::string(e.what()).find("x.") == 0);
      }
    }
  }
  CHECK(refused > runs / 4);  // most damage is detected (the rest changes values only)
}
