// Seeds of the array-file targets (fuzz_npy, fuzz_npz, fuzz_safetensors, fuzz_fvecs): the files
// in tests/data/arrays (written by NumPy), what our writers produce, and hand-built files for
// what neither covers: every dtype (f4, f2, f8; F32, F16, BF16, F64 with special values), ranks
// 0 to 3, empty arrays, .npy format versions 1.0-3.0 and header spellings, Fortran order,
// .npz with several members, a non-array member, an archive comment and zip64 end records.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/array_files.h"
#include "seeds.h"

namespace tt::fuzz {

namespace {

using Bytes = std::vector<uint8_t>;

void put_le(Bytes& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

template <class T>
Bytes raw(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// Special values: zero, negative zero, one, a subnormal, the largest finite, infinity, NaN.
const std::vector<float> kF32 = {0.0f, -0.0f, 1.0f, 1e-45f, 3.4028235e38f, -1.5f};
const std::vector<uint16_t> kF16 = {0x0000, 0x8000, 0x3C00, 0x0001, 0x7BFF, 0x7C00, 0xFC00, 0x7E00};  // IEEE half
const std::vector<uint16_t> kBF16 = {0x0000, 0x8000, 0x3F80, 0x0001, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0};
const std::vector<double> kF64 = {0.0, -0.0, 1.0, 1e-320, 1e300, -2.5, 3.4028235677973366e38};

// A .npy with this header dictionary, padded as NumPy pads it, at format version `major`.
Bytes npy(const std::string& dict, const Bytes& payload, uint8_t major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  put_le(b, header.size(), major == 1 ? 2 : 4);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
}

// A safetensors file from a header written out by hand.
Bytes safetensors(std::string header, const Bytes& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes b;
  put_le(b, header.size(), 8);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The same archive with zip64 end records (what writers use past 65535 entries or 4 GiB).
Bytes as_zip64(Bytes zip) {
  const size_t eocd = zip.size() - 22;
  uint16_t entries;
  uint32_t cd_size, cd_offset;
  std::memcpy(&entries, zip.data() + eocd + 10, 2);
  std::memcpy(&cd_size, zip.data() + eocd + 12, 4);
  std::memcpy(&cd_offset, zip.data() + eocd + 16, 4);
  Bytes tail;
  put_le(tail, 0x06064b50u, 4);  // zip64 end of central directory record
  put_le(tail, 44, 8);
  put_le(tail, 45, 2);
  put_le(tail, 45, 2);
  put_le(tail, 0, 4);
  put_le(tail, 0, 4);
  put_le(tail, entries, 8);
  put_le(tail, entries, 8);
  put_le(tail, cd_size, 8);
  put_le(tail, cd_offset, 8);
  put_le(tail, 0x07064b50u, 4);  // its locator
  put_le(tail, 0, 4);
  put_le(tail, eocd, 8);
  put_le(tail, 1, 4);
  put_le(tail, 0x06054b50u, 4);  // end of central directory, every field "see zip64"
  put_le(tail, 0, 4);
  put_le(tail, 0xffff, 2);
  put_le(tail, 0xffff, 2);
  put_le(tail, 0xffffffffu, 4);
  put_le(tail, 0xffffffffu, 4);
  put_le(tail, 0, 2);
  zip.resize(eocd);
  zip.insert(zip.end(), tail.begin(), tail.end());
  return zip;
}

const std::vector<float> k2x3 = {1.0f, -2.0f, 0.5f, 0.0f, 3.25f, -0.0f};

}  // namespace

void write_npy_seeds(SeedDir& out) {
  for (const char* f : {"f32_2x3.npy", "f64_5.npy", "f16_3x2.npy", "i32_4.npy", "fortran_3x2.npy", "v2_2x2.npy"})
    out.copy_from_source(std::string("tests/data/arrays/") + f);
  out.write("writer_2x3.npy", npy_bytes(k2x3.data(), 2, 3));
  out.write("writer_0x4.npy", npy_bytes(nullptr, 0, 4));
  out.write("f4_special_6.npy", npy(dict("<f4", "(6,)"), raw(kF32)));
  out.write("f2_special_2x4.npy", npy(dict("<f2", "(2, 4)"), raw(kF16)));
  out.write("f8_special_7.npy", npy(dict("<f8", "(7,)"), raw(kF64)));
  out.write("f4_scalar.npy", npy(dict("<f4", "()"), raw(std::vector<float>{2.5f})));
  out.write("f4_2x1x3.npy", npy(dict("<f4", "(2, 1, 3)"), raw(k2x3)));
  out.write("f4_fortran_1d.npy", npy(dict("<f4", "(6,)", true), raw(k2x3)));
  out.write("v3_utf8_header.npy", npy(dict("<f4", "(3, 2)") + " # \xC3\xA9", raw(k2x3), 3));
  out.write("v2_f8.npy", npy(dict("<f8", "(1, 7)"), raw(kF64), 2));
  out.write("double_quotes.npy", npy(R"({"descr": "<f4", "fortran_order": False, "shape": (2, 3)})", raw(k2x3)));
  out.write("key_order.npy", npy("{'shape': (3, 2), 'fortran_order': False, 'descr': '<f4'}", raw(k2x3)));
  out.write("bad_big_endian.npy", npy(dict(">f4", "(2, 3)"), raw(k2x3)));
  out.write("bad_fortran_2d.npy", npy(dict("<f4", "(2, 3)", true), raw(k2x3)));
  out.write("bad_short_data.npy", npy(dict("<f4", "(3, 3)"), raw(k2x3)));
}

void write_npz_seeds(SeedDir& out) {
  out.copy_from_source("tests/data/arrays/weights.npz");
  out.copy_from_source("tests/data/arrays/weights_compressed.npz");
  const Bytes kernel = npy_bytes(k2x3.data(), 3, 2), bias = npy_bytes(k2x3.data(), 1, 2);
  out.write("two_members.npz", npz_bytes({{"query/dense_0/kernel", kernel}, {"query/dense_0/bias", bias}}));
  out.write("every_dtype_and_rank.npz", npz_bytes({{"f16", npy(dict("<f2", "(2, 4)"), raw(kF16))},
                                                   {"f64", npy(dict("<f8", "(7,)"), raw(kF64))},
                                                   {"scalar", npy(dict("<f4", "()"), raw(std::vector<float>{1}))},
                                                   {"empty", npy_bytes(nullptr, 0, 3)}}));
  // npz_bytes names every member "<name>.npy"; renamed (the CRC covers only the contents), one
  // becomes a member that is not an array, which the reader skips.
  const std::string note = "not an array";
  Bytes with_text = npz_bytes({{"a", kernel}, {"notes", Bytes(note.begin(), note.end())}});
  const std::string from = "notes.npy", to = "notes.txt";
  for (auto it = with_text.begin();
       (it = std::search(it, with_text.end(), from.begin(), from.end())) != with_text.end();)
    it = std::copy(to.begin(), to.end(), it);
  out.write("non_array_member.npz", with_text);
  out.write("empty.npz", npz_bytes({}));
  Bytes commented = npz_bytes({{"a", kernel}});
  const std::string comment = "an archive comment";
  commented[commented.size() - 2] = static_cast<uint8_t>(comment.size());
  commented.insert(commented.end(), comment.begin(), comment.end());
  out.write("comment.npz", commented);
  out.write("zip64_end_records.npz", as_zip64(npz_bytes({{"x", kernel}, {"y", bias}})));
}

void write_safetensors_seeds(SeedDir& out) {
  out.copy_from_source("tests/data/arrays/sample.safetensors");
  out.write("writer_two_tensors.safetensors",
            safetensors_bytes({{"query/dense_0/kernel", 3, 2, k2x3.data()}, {"query/dense_0/bias", 1, 2, k2x3.data()}},
                              {{"format", "pt"}, {"written_by", "make_fuzz_corpus"}}));
  out.write("writer_empty.safetensors", safetensors_bytes({}));
  Bytes data = raw(kF32);
  const Bytes f16 = raw(kF16), bf16 = raw(kBF16), f64 = raw(kF64);
  data.insert(data.end(), f16.begin(), f16.end());
  data.insert(data.end(), bf16.begin(), bf16.end());
  data.insert(data.end(), f64.begin(), f64.end());
  out.write("every_dtype.safetensors", safetensors(R"({"f32":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                                                   R"("f16":{"dtype":"F16","shape":[8],"data_offsets":[24,40]},)"
                                                   R"("bf16":{"dtype":"BF16","shape":[2,2,2],"data_offsets":[40,56]},)"
                                                   R"("f64":{"dtype":"F64","shape":[7,1],"data_offsets":[56,112]},)"
                                                   R"("none":{"dtype":"F32","shape":[0,4],"data_offsets":[112,112]},)"
                                                   R"("__metadata__":{"k":"v"}})",
                                                   data));
  out.write("scalar.safetensors",
            safetensors(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", raw(std::vector<float>{7.0f})));
  out.write("bad_dtype.safetensors",
            safetensors(R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", raw(std::vector<float>{1, 2})));
  out.write("bad_overlap.safetensors", safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                                   raw(std::vector<float>{1, 2})));
}

void write_fvecs_seeds(SeedDir& out) {
  out.write("writer_2x3.fvecs", fvecs_bytes(k2x3.data(), 2, 3));
  out.write("writer_6x1.fvecs", fvecs_bytes(k2x3.data(), 6, 1));
  out.write("special_1x6.fvecs", fvecs_bytes(kF32.data(), 1, kF32.size()));
  std::vector<float> wide(2 * 100);
  for (size_t i = 0; i < wide.size(); ++i) wide[i] = static_cast<float>(i) * 0.25f - 7.0f;
  out.write("writer_2x100.fvecs", fvecs_bytes(wide.data(), 2, 100));
  out.write("empty.fvecs", Bytes{});
  Bytes mixed = fvecs_bytes(k2x3.data(), 1, 3);
  const Bytes second = fvecs_bytes(k2x3.data(), 1, 2);
  mixed.insert(mixed.end(), second.begin(), second.end());
  out.write("bad_mixed_dims.fvecs", mixed);
}

}  // namespace tt::fuzz
