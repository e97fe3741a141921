// Writes the seed corpus of every fuzz target, one directory per target:
//   tt_make_fuzz_corpus <out_dir> [target...]
// Every target in tests/fuzz/CMakeLists.txt needs a line in kWriters (run-fuzzer.sh refuses a
// target without seeds).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.h"
#include "seeds.h"

using namespace tt;
using namespace tt::fuzz;

namespace {

struct Writer {
  const char* target;
  void (*write)(SeedDir&);
};

const Writer kWriters[] = {
    {"model_loader", write_model_loader_seeds},
    {"delimited", write_delimited_seeds},
    {"spec", write_spec_seeds},
    {"npy", write_npy_seeds},
    {"npz", write_npz_seeds},
    {"safetensors", write_safetensors_seeds},
    {"fvecs", write_fvecs_seeds},
    {"columnar", write_columnar_seeds},
};

}  // namespace

namespace tt::fuzz {

SeedDir::SeedDir(std::filesystem::path dir) : dir_(std::move(dir)) { std::filesystem::create_directories(dir_); }

void SeedDir::write(const std::string& name, std::string_view bytes) {
  std::ofstream f(dir_ / name, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) fail(ErrorKind::io, "cannot write " + (dir_ / name).string());
  f.close();
  written(name);
}

void SeedDir::write(const std::string& name, std::span<const uint8_t> bytes) {
  write(name, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void SeedDir::copy_from_source(const std::string& relative_path) {
  const std::filesystem::path from = std::filesystem::path(TT_SOURCE_DIR) / relative_path;
  std::filesystem::copy_file(from, dir_ / from.filename(), std::filesystem::copy_options::overwrite_existing);
  written(from.filename().string());
}

void SeedDir::written(const std::string& name) const {
  std::printf("  %-44s %8zu bytes\n", name.c_str(), static_cast<size_t>(std::filesystem::file_size(dir_ / name)));
}

}  // namespace tt::fuzz

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <out_dir> [target...]\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path out(argv[1]);
    for (int i = 2; i < argc; ++i) {
      bool known = false;
      for (const Writer& w : kWriters) known = known || std::strcmp(w.target, argv[i]) == 0;
      if (!known) fail(ErrorKind::invalid_argument, std::string("no seed writer for target '") + argv[i] + "'");
    }
    for (const Writer& w : kWriters) {
      bool wanted = argc == 2;
      for (int i = 2; i < argc; ++i) wanted = wanted || std::strcmp(w.target, argv[i]) == 0;
      if (!wanted) continue;
      std::printf("%s:\n", w.target);
      SeedDir dir(out / w.target);
      w.write(dir);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "tt_make_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
