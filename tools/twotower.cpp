// The twotower command-line tool.
#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"twotower: train, save and query two-tower retrieval models"};
  app.set_version_flag("--version", std::string(TT_VERSION));
  CLI11_PARSE(app, argc, argv);
  return 0;
}
