#include "base/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/error.h"

namespace tt {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void io_fail(const std::string& path, const std::string& what, int e) {
  fail(ErrorKind::io, path + ": " + what + ": " + std::strerror(e));
}

// Closes a descriptor on scope exit unless released.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      io_fail(path, "write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// The file a save to `path` replaces: `path` itself, or where its chain of symbolic links ends
// (which need not exist yet).
fs::path resolve_links(const std::string& path) {
  fs::path p(path);
  for (int depth = 0; depth < 40; ++depth) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) io_fail(p.string(), "cannot read the symbolic link", ec.value());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  fail(ErrorKind::io, path + ": too many levels of symbolic links");
}

// The host part of temporary names: the host name up to its first '.', letters, digits and
// '_' only, at most 32 characters ("" if unknown), so names stay short and parse back.
const std::string& host_tag() {
  static const std::string tag = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string();
    std::string out;
    for (const char* c = buf; *c && *c != '.' && out.size() < 32; ++c)
      if (std::isalnum(static_cast<unsigned char>(*c)) || *c == '_') out.push_back(*c);
    return out;
  }();
  return tag;
}

// Removes `<name>.tmp-<pid>-<host>-<n>` files in `dir` left by saves that were killed: on this
// host, owned by this user, regular files, and their pid runs no more. Anything else, and every
// error, is left alone: cleaning up is a courtesy, never a reason for a save to fail.
void remove_stale_temporaries(const fs::path& dir, const std::string& name) {
  const std::string prefix = name + ".tmp-";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view entry(e->d_name);
    if (!entry.starts_with(prefix)) continue;
    std::string_view rest = entry.substr(prefix.size());
    size_t digits = 0;
    while (digits < rest.size() && digits < 10 && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits >= rest.size() || rest[digits] != '-') continue;
    const long pid = std::stol(std::string(rest.substr(0, digits)));
    rest.remove_prefix(digits + 1);
    const std::string host = host_tag() + "-";
    if (!rest.starts_with(host)) continue;
    rest.remove_prefix(host.size());
    if (rest.empty() ||
        !std::all_of(rest.begin(), rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      continue;
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    struct stat st {};
    const fs::path full = dir / std::string(entry);
    if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
    stale.push_back(full.string());
  }
  ::closedir(d);
  for (const auto& f : stale) ::unlink(f.c_str());
}

}  // namespace

void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  if (path.empty()) fail(ErrorKind::invalid_argument, "save: empty path");
  const fs::path dest = resolve_links(path);
  if (!dest.has_filename()) fail(ErrorKind::invalid_argument, path + ": not a file name");
  const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  struct stat existing {};
  const bool exists = ::stat(dest.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode)) fail(ErrorKind::io, path + ": is a directory; give a file name");
  const std::string name = dest.filename().string();
  remove_stale_temporaries(dir, name);

  // A unique name next to the destination, so that the rename stays inside one file system.
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  Fd out;
  for (int attempt = 0; attempt < 100 && out.fd < 0; ++attempt) {
    tmp = (dir / (name + ".tmp-" + std::to_string(::getpid()) + "-" + host_tag() + "-" +
                  std::to_string(counter.fetch_add(1))))
              .string();
    out.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (out.fd < 0 && errno != EEXIST) io_fail(path, "cannot create a temporary file in " + dir.string(), errno);
  }
  if (out.fd < 0) fail(ErrorKind::io, path + ": cannot create a unique temporary file in " + dir.string());

  try {
    // The replaced file's permission bits carry over (O_CREAT applied the umask to 0666).
    if (exists && S_ISREG(existing.st_mode) && ::fchmod(out.fd, existing.st_mode & 07777) != 0)
      io_fail(tmp, "cannot give it the permissions of " + dest.string(), errno);
    write_all(out.fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(out.fd) != 0) io_fail(tmp, "fsync failed", errno);
    const int fd = out.fd;
    out.fd = -1;
    if (::close(fd) != 0) io_fail(tmp, "close failed", errno);
    if (::rename(tmp.c_str(), dest.c_str()) != 0) io_fail(dest.string(), "cannot rename " + tmp + " over it", errno);
  } catch (...) {
    if (out.fd >= 0) {
      ::close(out.fd);
      out.fd = -1;
    }
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable. Some file systems cannot fsync a directory (EINVAL).
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0) io_fail(dir.string(), "cannot open the directory to fsync it", errno);
  if (::fsync(d.fd) != 0 && errno != EINVAL && errno != ENOTSUP)
    io_fail(dir.string(), "fsync of the directory failed", errno);
}

void write_file_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void check_writable_path(const std::string& path, const std::string& option) {
  if (path.empty()) fail(ErrorKind::invalid_argument, option + ": empty path");
  const fs::path dest = resolve_links(path);
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    fail(ErrorKind::io, option + " '" + path + "' is a directory; give a file name");
  const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  if (::stat(dir.c_str(), &st) != 0)
    fail(ErrorKind::io, option + " '" + path + "': directory '" + dir.string() + "' does not exist");
  if (!S_ISDIR(st.st_mode)) fail(ErrorKind::io, option + " '" + path + "': '" + dir.string() + "' is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail(ErrorKind::io,
         option + " '" + path + "': cannot write in directory '" + dir.string() + "': " + std::strerror(errno));
}

}  // namespace tt
