// libFuzzer target for the .npz reader (io/array_files.h): the zip end records (zip64 too), the
// central directory, extra fields, local headers, then each member's .npy. Each input is tried
// as it is and resealed (every member's CRC-32 recomputed, as fuzz_model_loader reseals its
// checksums), so that mutations of the members' contents reach the .npy parser instead of the
// CRC check. Beyond "no crash, a clear error": every array that reads holds as many values as
// its shape says.
// Run: tests/fuzz/run-fuzzer.sh SECONDS npz
#include <algorithm>
#include <cstring>

#include "array_checks.h"

using namespace tt;
using namespace tt::fuzz;

namespace {

constexpr const char* kTarget = "fuzz_npz";

uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint16_t get16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b[at] | (b[at + 1] << 8)); }

uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Recomputes the CRC-32 of every stored member the central directory finds (plain zip only,
// best effort: whatever does not fit is left for the parser to refuse).
void reseal(std::vector<uint8_t>& b) {
  const size_t size = b.size();
  if (size < 22) return;
  size_t eocd = size;
  for (size_t p = size - 22 + 1; p-- > 0 && size - p <= 22 + 65535;)
    if (get32(b, p) == 0x06054b50u) {
      eocd = p;
      break;
    }
  if (eocd == size) return;
  const size_t entries = get16(b, eocd + 10);
  size_t p = get32(b, eocd + 16);
  for (size_t i = 0; i < entries && p <= size && size - p >= 46 && get32(b, p) == 0x02014b50u; ++i) {
    const size_t comp = get32(b, p + 20), local = get32(b, p + 42);
    const size_t next = p + 46 + get16(b, p + 28) + get16(b, p + 30) + get16(b, p + 32);
    if (local <= size && size - local >= 30 && get32(b, local) == 0x04034b50u) {
      const size_t start = local + 30 + get16(b, local + 26) + get16(b, local + 28);
      if (start <= size && comp <= size - start) {
        const uint32_t crc = crc32(b.data() + start, comp);
        std::memcpy(b.data() + p + 16, &crc, 4);
        std::memcpy(b.data() + local + 14, &crc, 4);
      }
    }
    p = next;
  }
}

void try_parse(std::span<const uint8_t> bytes) {
  std::vector<std::pair<std::string, FloatArray>> arrays;
  if (!parses(kTarget, "fuzz.npz", [&] { arrays = parse_npz(bytes, "fuzz.npz"); })) return;
  for (const auto& [name, a] : arrays) check_array(kTarget, a, "entry '" + escape_for_message(name) + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try_parse({data, size});
  std::vector<uint8_t> sealed(data, data + size);
  reseal(sealed);
  if (!std::equal(sealed.begin(), sealed.end(), data)) try_parse(sealed);
  return 0;
}
