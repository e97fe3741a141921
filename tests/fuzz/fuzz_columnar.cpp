// libFuzzer target for the columnar data file reader (data/columnar.h): header, directory,
// dictionaries, block checksums and string codes. Beyond "no crash, a clear error": a file whose
// rows all read is written back with columnar_bytes and reads back to the same table.
// Run: tests/fuzz/run-fuzzer.sh SECONDS columnar
#include <cstring>
#include <optional>

#include "data/columnar.h"
#include "fuzz_support.h"

using namespace tt;
using namespace tt::fuzz;

namespace {

bool same_table(const Table& a, const Table& b) {
  if (a.num_rows() != b.num_rows() || a.num_columns() != b.num_columns()) return false;
  for (size_t i = 0; i < a.num_columns(); ++i) {
    const Column& x = a.columns()[i];
    const Column& y = b.columns()[i];
    if (x.name() != y.name() || x.dtype() != y.dtype()) return false;
    if (x.dtype() == DType::string && x.strings() != y.strings()) return false;
    if (x.dtype() == DType::int64 && x.ints() != y.ints()) return false;
    // Floats by their bits: NaN payloads must survive too.
    if (x.dtype() == DType::float32 &&
        (x.floats().size() != y.floats().size() ||
         std::memcmp(x.floats().data(), y.floats().data(), x.floats().size() * sizeof(float)) != 0))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr const char* kTarget = "fuzz_columnar";
  std::optional<ColumnarFile> f;
  if (!parses(kTarget, "fuzz.ttc", [&] { f.emplace(ColumnarFile::from_bytes({data, size}, "fuzz.ttc")); })) return 0;
  // Row counts beyond what the input could hold were refused at open; reading is bounded.
  Table t;
  if (!parses(kTarget, "fuzz.ttc", [&] { t = f->read_rows(0, f->num_rows()); })) return 0;
  if (t.num_rows() != f->num_rows()) finding(kTarget, "read_rows returned a different number of rows");
  ColumnarWriteOptions o;
  o.block_rows = f->block_rows();
  const std::vector<uint8_t> again = columnar_bytes(t, o);
  const Table back = ColumnarFile::from_bytes(again, "written back").read_rows(0, t.num_rows());
  if (!same_table(t, back)) finding(kTarget, "a table written back with columnar_bytes reads differently");
  return 0;
}
