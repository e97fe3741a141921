// What the fuzzers (tests/fuzz, docs/fuzzing.md) found, one test per finding, each fed the
// minimised input: the readers must refuse it with a tt::Error whose message is one printable
// line naming the input (or read it correctly), never crash, hang or allocate without bound.
// Test names: "fuzz finding: <target>: <what was wrong>".
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "data/delimited.h"
#include "data/text.h"
#include "io/array_files.h"
#include "model/spec.h"

using namespace tt;

namespace {

// Runs `f`, which must throw tt::Error; returns its message after checking that it starts with
// `source` and is one line of printable UTF-8 (what every fuzz target checks).
template <class F>
std::string refusal(std::string_view source, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    const std::string m = e.what();
    INFO("message: ", escape_for_message(m));
    CHECK(e.kind() != ErrorKind::internal);
    CHECK(m.starts_with(source));
    CHECK(escape_for_message(m) == m);
    return m;
  }
  FAIL("expected a tt::Error, nothing was thrown");
  return "";
}

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The text in a buffer of exactly its length (no terminating NUL), so that the ASan build
// catches a read one past the end.
struct ExactBuffer {
  explicit ExactBuffer(std::string_view s) : data(s.begin(), s.end()) {}
  std::string_view view() const { return {data.data(), data.size()}; }
  std::vector<char> data;
};

}  // namespace

TEST_CASE("fuzz finding: delimited: a delimiter as the last byte of a CSV read one past the end") {
  // fuzz_delimited, heap-buffer-overflow in RecordReader::next (minimised input: ",").
  const ExactBuffer header_only("a,");
  const Table h = read_delimited_text(header_only.view(), "f.csv", {{"a", DType::string}, {"", DType::string}});
  CHECK(h.num_rows() == 0);
  const ExactBuffer row("a,b\nx,");
  const Table t = read_delimited_text(row.view(), "f.csv", {{"a", DType::string}, {"b", DType::string}});
  CHECK(t.column("a").strings() == Column::Strings{"x"});
  CHECK(t.column("b").strings() == Column::Strings{""});  // the empty last field
}

TEST_CASE("fuzz finding: delimited: column names from the header are escaped in messages") {
  // fuzz_delimited: a header name holding a tab and a CR reached the message raw. (Quoted: a bare
  // CR outside quotes is now refused as a CR-only line break.)
  const std::string m = refusal("f.csv", [] {
    read_delimited_text("\"a\t\r\",b\n\xFF,1\n", "f.csv", {{"a\t\r", DType::string}, {"b", DType::int64}});
  });
  CHECK(m ==
        "f.csv:2: column 'a\\x09\\x0D': invalid UTF-8 (byte '\\xFF' at offset 0 of the value); convert the "
        "file to UTF-8");
  CHECK(refusal("f.csv", [] {
          read_delimited_text("x\x01y\n1\n", "f.csv", {{"z", DType::string}});
        }) == "f.csv:1: column 'z' not found in the header ('x\\x01y')");
}

TEST_CASE("fuzz finding: spec: bytes that are not UTF-8 reached the JSON error message raw") {
  // fuzz_spec: nlohmann's message quotes the last bytes it read ("last read: '\"col\x8B'").
  const std::string m = refusal("s.json", [] { ModelSpec::from_json("{\"col\x8B\": 1}", "s.json"); });
  CHECK(m.find("\\x8B") != std::string::npos);
  // And keys with control characters (JSON escapes) in the field path.
  const std::string k = refusal("s.json", [] { ModelSpec::from_json(R"({"columns": {"a\nb": "x\ty"}})", "s.json"); });
  CHECK(k == "s.json: columns.a\\x0Ab: unknown column type 'x\\x09y' (expected string, int64 or float32)");
}

TEST_CASE("fuzz finding: npy: header keys and dtypes are escaped in messages") {
  // fuzz_npy: "unexpected key 'des\xDEr'" carried the raw byte.
  auto npy = [](const std::string& header) {
    std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size()), 0};
    b.insert(b.end(), header.begin(), header.end());
    return b;
  };
  CHECK(refusal("x.npy", [&] { parse_npy(npy("{'des\xDEr': '<f4'}"), "x.npy"); }).find("key 'des\\xDEr'") !=
        std::string::npos);
  CHECK(refusal("x.npy", [&] {
          parse_npy(npy("{'descr': '<\n', 'fortran_order': False, 'shape': ()}"), "x.npy");
        }).find("dtype '<\\x0A'") != std::string::npos);
}

TEST_CASE("fuzz finding: npz: member names are escaped in messages") {
  // fuzz_npz: "entry '\xBDa.np'" carried the raw byte.
  const std::vector<uint8_t> z = npz_bytes({{"\xBD\n", bytes("not an array")}});
  const std::string m = refusal("x.npz", [&] { parse_npz(z, "x.npz"); });
  CHECK(m.find("entry '\\xBD\\x0A.npy'") != std::string::npos);
}

TEST_CASE("fuzz finding: safetensors: JSON errors and tensor names are escaped in messages") {
  // fuzz_safetensors: nlohmann's "last read: '\"data_o\xFF'" carried the raw byte.
  auto file = [](const std::string& header) {
    std::vector<uint8_t> b(8, 0);
    b[0] = static_cast<uint8_t>(header.size());
    b.insert(b.end(), header.begin(), header.end());
    return b;
  };
  CHECK(refusal("x.safetensors", [&] {
          parse_safetensors(file("{\"data_o\xFF\": 1}"), "x.safetensors");
        }).find("\\xFF") != std::string::npos);
  CHECK(refusal("x.safetensors", [&] {
          parse_safetensors(file(R"({"a\u0007": {"dtype": "I\n8", "shape": [], "data_offsets": [0, 1]}})"),
                            "x.safetensors");
        }).find("tensor 'a\\x07': dtype 'I\\x0A8'") != std::string::npos);
}
