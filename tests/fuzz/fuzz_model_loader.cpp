// libFuzzer target for the model loader: any input must either load or fail with tt::Error —
// never crash, hang, leak or allocate without bound. Each input is tried twice: as it is (the
// checksums reject almost every mutation early) and resealed, with every checksum recomputed,
// so that mutations reach the table checks, zstd and the section parsers.
// Build and run: tests/fuzz/run-fuzzer.sh [seconds].
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "base/error.h"
#include "io/model_file.h"
#include "persist/model_serialization.h"

namespace {

void try_load(std::span<const uint8_t> data) {
  try {
    (void)tt::read_model_info_from_buffer(data);
  } catch (const tt::Error&) {
  }
  try {
    tt::RetrievalModel m = tt::load_model_from_buffer(data);
    // Whatever loads must save and load again to the same bytes.
    tt::SaveOptions o;
    o.compression_level = 1;
    o.include_optimizer = true;
    const std::vector<uint8_t> again = tt::save_model_to_buffer(m, o);
    tt::RetrievalModel m2 = tt::load_model_from_buffer(again);
    if (tt::save_model_to_buffer(m2, o) != again) {
      std::fprintf(stderr, "fuzz_model_loader: a loaded model does not round-trip\n");
      std::abort();
    }
  } catch (const tt::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try_load({data, size});
  std::vector<uint8_t> sealed(data, data + size);
  tt::reseal_model_file(sealed);
  if (sealed.size() >= tt::kModelHeaderSize && !std::equal(sealed.begin(), sealed.end(), data)) try_load(sealed);
  return 0;
}
