#include <doctest/doctest.h>

#include <string>

#include "data/checksum.h"
#include "data_test_helpers.h"

using namespace tt;
using tt::test::check_message_has;
using tt::test::expect_error;
using tt::test::TempDir;

TEST_CASE("checksum: SHA-256 of known inputs") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempDir dir;
  // Larger than the 64 KiB read chunk, so streaming across chunks is exercised.
  const std::string big(200'000, 'x');
  CHECK(sha256_file(dir.write("big", big)) == sha256_hex(big));
  const Error e = expect_error([&] { sha256_file(dir.path() + "/absent"); });
  CHECK(e.kind() == ErrorKind::io);
  check_message_has(e, {"absent"});
}

TEST_CASE("checksum: SHA256SUMS lines parse in both sha256sum forms") {
  const std::string a(64, 'A'), b(64, 'b');
  const auto entries = parse_sha256sums(a + "  one.txt\r\n\n" + b + " *dir/two.bin\n", "SUMS");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].sha256 == std::string(64, 'a'));  // lowercased
  CHECK(entries[0].file_name == "one.txt");
  CHECK(entries[0].line == 1);
  CHECK(entries[1].file_name == "dir/two.bin");
  CHECK(entries[1].line == 3);
}

TEST_CASE("checksum: malformed SHA256SUMS is a parse error naming the line") {
  const std::string h(64, 'a');
  const auto check_bad = [](const std::string& text, const std::string& needle) {
    INFO("SHA256SUMS: ", text);
    const Error e = expect_error([&] { parse_sha256sums(text, "SUMS"); });
    CHECK(e.kind() == ErrorKind::parse);
    check_message_has(e, {needle});
  };
  check_bad(h + "  ok\n" + std::string(63, 'a') + "  short\n", "SUMS:2:");
  check_bad(h + "  ok\n" + std::string(63, 'a') + "g  nothex\n", "SUMS:2:");
  check_bad(h + " one-space\n", "SUMS:1:");
  check_bad(h + "  \n", "SUMS:1:");
  check_bad(h + "  ../escape\n", "must be relative");
  check_bad(h + "  /etc/passwd\n", "must be relative");
  check_bad("", "no checksums");
}

TEST_CASE("checksum: verify_sha256sums checks every listed file") {
  TempDir dir;
  dir.write("a.txt", "alpha");
  dir.write("b.txt", "beta");
  dir.write("SHA256SUMS", sha256_hex("alpha") + "  a.txt\n" + sha256_hex("beta") + "  b.txt\n");
  CHECK(verify_sha256sums(dir.path()) == std::vector<std::string>{"a.txt", "b.txt"});

  dir.write("b.txt", "betA");
  const Error mismatch = expect_error([&] { verify_sha256sums(dir.path()); });
  CHECK(mismatch.kind() == ErrorKind::corrupt);
  check_message_has(mismatch, {"b.txt", "expected " + sha256_hex("beta"), "actual " + sha256_hex("betA")});

  TempDir empty;
  const Error no_sums = expect_error([&] { verify_sha256sums(empty.path()); });
  CHECK(no_sums.kind() == ErrorKind::io);
  check_message_has(no_sums, {"SHA256SUMS"});
}
