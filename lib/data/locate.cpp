#include "data/locate.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/error.h"

namespace tt {

std::string locate_movielens(const std::string& explicit_dir, const std::string& project_root) {
  namespace fs = std::filesystem;
  auto require_directory = [](const std::string& dir, const std::string& name) {
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (!fs::exists(st)) fail(ErrorKind::io, name + " '" + dir + "' does not exist");
    if (!fs::is_directory(st)) fail(ErrorKind::io, name + " '" + dir + "' is not a directory");
  };
  if (!explicit_dir.empty()) {
    require_directory(explicit_dir, "data directory");
    return explicit_dir;
  }
  std::vector<std::string> tried;
  if (const char* env = std::getenv("TWOTOWER_DATA"); env && *env) {
    require_directory(env, "TWOTOWER_DATA");
    return env;
  }
  std::vector<fs::path> candidates;
  if (!project_root.empty()) candidates.push_back(fs::path(project_root) / ".." / "shared" / "data" / "ml-100k");
  candidates.push_back(fs::path("..") / "shared" / "data" / "ml-100k");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec).string();
    tried.push_back(c.string());
  }
  std::string list;
  for (const auto& t : tried) list += "\n  " + t;
  fail(ErrorKind::io, "MovieLens 100k not found; pass --data DIR or set TWOTOWER_DATA. Tried:" + list +
                          "\nDownload it with tools/fetch-movielens.sh (checks SHA-256).");
}

}  // namespace tt
