// SHA-256 checks for downloaded data: a SHA256SUMS file (the format `sha256sum` writes) next to
// the data lists the digest of every file, so a truncated or altered download fails loudly
// instead of training on wrong data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tt {

// 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);
// Streams the file. Throws ErrorKind::io if it cannot be read.
std::string sha256_file(const std::string& path);

struct ChecksumEntry {
  std::string sha256;     // lowercase hex
  std::string file_name;  // relative to the SHA256SUMS file's directory
  size_t line = 0;        // 1-based, for messages
};

// Lines "<64 hex>  <name>" or "<64 hex> *<name>" (binary marker); blank lines and CRLF are
// accepted. Names must be relative and must not climb out with "..". Throws ErrorKind::parse
// naming `source_name` and the line; a file with no entries is an error too.
std::vector<ChecksumEntry> parse_sha256sums(std::string_view text, const std::string& source_name);

// Verifies every file listed in DIR/SHA256SUMS: each must exist (else ErrorKind::io) and match
// (else ErrorKind::corrupt with expected and actual digests). Returns the names verified.
std::vector<std::string> verify_sha256sums(const std::string& dir);

}  // namespace tt
