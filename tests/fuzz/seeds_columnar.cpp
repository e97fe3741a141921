// Seeds of fuzz_columnar: columnar files from the writer for every column type, empty and
// one-row tables, several blocks with a short last one, a dictionary with an empty string and
// multi-byte UTF-8, and NaN and infinite floats.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "data/columnar.h"
#include "seeds.h"

namespace tt::fuzz {

void write_columnar_seeds(SeedDir& out) {
  auto write = [&](const std::string& name, const Table& t, uint32_t block_rows) {
    ColumnarWriteOptions o;
    o.block_rows = block_rows;
    out.write(name, std::span<const uint8_t>(columnar_bytes(t, o)));
  };
  Table small;
  small.add(Column("user_id", std::vector<int64_t>{7, -1, 7, std::numeric_limits<int64_t>::max()}));
  small.add(Column("title", std::vector<std::string>{"Red fish", "", "Red fish", "caf\xC3\xA9 \xE2\x82\xAC"}));
  small.add(Column("w", std::vector<float>{1.5f, std::nanf(""), -INFINITY, 0.0f}));
  write("small-3-columns.ttc", small, 65536);
  write("small-blocks-of-3.ttc", small, 3);
  write("small-blocks-of-1.ttc", small, 1);
  Table empty;
  empty.add(Column("item_id", std::vector<int64_t>{}));
  empty.add(Column("title", std::vector<std::string>{}));
  write("empty.ttc", empty, 16);
  Table one;
  one.add(Column("s", std::vector<std::string>{"only"}));
  write("one-string.ttc", one, 1);
  Table many;
  std::vector<int64_t> ids;
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(i * 37 % 11);
    names.push_back("n" + std::to_string(i % 13));
  }
  many.add(Column("id", ids));
  many.add(Column("name", names));
  write("hundred-rows-blocks-of-16.ttc", many, 16);
}

}  // namespace tt::fuzz
