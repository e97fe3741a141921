// Shared pieces of the twotower command-line tool.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "model/dataset.h"
#include "model/spec.h"

namespace tt::cli {

// Where the training data comes from: MovieLens (--data or the default locations) or the user's
// own files (--interactions and --candidates).
struct DataFlags {
  std::string data_dir;
  std::string interactions;
  std::string candidates;
  void add_to(CLI::App& cmd);
  Dataset load(const ModelSpec* spec) const;
};

void register_data(CLI::App& app);
void register_train(CLI::App& app);
void register_query(CLI::App& app);
void register_inspect(CLI::App& app);
void register_eval(CLI::App& app);
void register_convert(CLI::App& app);

bool stdout_is_terminal();

}  // namespace tt::cli
