// The seed writers of tt_make_fuzz_corpus, one per fuzz target (make_fuzz_corpus.cpp lists
// them). Seeds are small synthetic files built here or copied from tests/data: never MovieLens
// data, except the model loader's MovieLens-shaped model when the data set is found locally
// (a model file holds vocabularies from it, so it is written into the build tree only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tt::fuzz {

// A target's seed directory; each write prints the seed's name and size.
class SeedDir {
 public:
  explicit SeedDir(std::filesystem::path dir);
  const std::filesystem::path& path() const { return dir_; }
  void write(const std::string& name, std::string_view bytes);
  void write(const std::string& name, std::span<const uint8_t> bytes);
  // A file from the source tree (path relative to it), under its own name.
  void copy_from_source(const std::string& relative_path);
  // Reports a file something else wrote into the directory.
  void written(const std::string& name) const;

 private:
  std::filesystem::path dir_;
};

void write_model_loader_seeds(SeedDir& out);
void write_delimited_seeds(SeedDir& out);
void write_spec_seeds(SeedDir& out);
void write_npy_seeds(SeedDir& out);
void write_npz_seeds(SeedDir& out);
void write_safetensors_seeds(SeedDir& out);
void write_fvecs_seeds(SeedDir& out);
void write_columnar_seeds(SeedDir& out);

}  // namespace tt::fuzz
