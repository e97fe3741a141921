#include "data/checksum.h"

#include <nettle/sha2.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/regular_file.h"
#include "data/read_file.h"
#include "data/text.h"

namespace tt {
namespace {

std::string to_hex(const uint8_t* digest, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[digest[i] >> 4]);
    out.push_back(kDigits[digest[i] & 0xF]);
  }
  return out;
}

std::string finish(sha256_ctx& ctx) {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  return to_hex(digest, sizeof digest);
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool escapes_directory(const std::filesystem::path& p) {
  if (p.is_absolute() || p.has_root_name()) return true;
  for (const auto& part : p)
    if (part == "..") return true;
  return false;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  return finish(ctx);
}

std::string sha256_file(const std::string& path) {
  const InputFile file = InputFile::open(path, "checksummed file");
  sha256_ctx ctx;
  sha256_init(&ctx);
  uint8_t chunk[1 << 16];
  uint64_t left = file.size();  // what the file held when opened: a growing file cannot run on
  while (left > 0) {
    const ssize_t n = ::read(file.fd(), chunk, static_cast<size_t>(std::min<uint64_t>(left, sizeof chunk)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ErrorKind::io, "error reading '" + path + "': " + std::strerror(errno));
    if (n == 0) break;
    sha256_update(&ctx, static_cast<size_t>(n), chunk);
    left -= static_cast<uint64_t>(n);
  }
  return finish(ctx);
}

std::vector<ChecksumEntry> parse_sha256sums(std::string_view text, const std::string& source_name) {
  constexpr size_t kHexDigits = 2 * SHA256_DIGEST_SIZE;
  std::vector<ChecksumEntry> entries;
  LineReader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (line.empty()) continue;
    const std::string where = source_name + ":" + std::to_string(lines.line_number()) + ": ";
    bool well_formed = line.size() > kHexDigits + 2 && line[kHexDigits] == ' ' &&
                       (line[kHexDigits + 1] == ' ' || line[kHexDigits + 1] == '*');
    for (size_t i = 0; well_formed && i < kHexDigits; ++i) well_formed = is_hex(line[i]);
    if (!well_formed)
      fail(ErrorKind::parse, where + "expected '<64 hex digits>  <file name>', found " + quote_for_message(line));
    ChecksumEntry entry;
    entry.sha256.reserve(kHexDigits);
    for (size_t i = 0; i < kHexDigits; ++i)
      entry.sha256.push_back(static_cast<char>(line[i] | 0x20));  // ASCII hex: | 0x20 lowercases
    entry.file_name = std::string(line.substr(kHexDigits + 2));
    entry.line = lines.line_number();
    if (escapes_directory(entry.file_name))
      fail(ErrorKind::parse, where + "file name " + quote_for_message(entry.file_name) +
                                 " must be relative to the directory of the checksum file");
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) fail(ErrorKind::parse, source_name + ":1: no checksums listed");
  return entries;
}

std::vector<std::string> verify_sha256sums(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string sums_path = (fs::path(dir) / "SHA256SUMS").string();
  const auto entries = parse_sha256sums(read_file(sums_path, "checksum file"), sums_path);
  std::vector<std::string> verified;
  for (const auto& entry : entries) {
    const std::string path = (fs::path(dir) / entry.file_name).string();
    const std::string listed = " (listed in " + sums_path + " line " + std::to_string(entry.line) + ")";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail(ErrorKind::io, "checksummed file '" + path + "' is missing" + listed);
    const std::string actual = sha256_file(path);
    if (actual != entry.sha256)
      fail(ErrorKind::corrupt, "SHA-256 mismatch for '" + path + "'" + listed + ": expected " + entry.sha256 +
                                   ", actual " + actual + "; the file is damaged or not the original");
    verified.push_back(entry.file_name);
  }
  return verified;
}

}  // namespace tt
