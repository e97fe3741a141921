// The twotower command-line tool: a thin client of the engine in lib/.
#include <unistd.h>
#include <iostream>

#include "base/error.h"
#include "cli.h"
#include "data/locate.h"
#include "twotower/twotower.h"

namespace tt::cli {

void DataFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--data", data_dir, "MovieLens 100k directory (default: $TWOTOWER_DATA, then ../shared/data/ml-100k)");
  cmd.add_option("--interactions", interactions, "your own interactions file (CSV or TSV with a header)");
  cmd.add_option("--candidates", candidates, "your own candidate catalogue (CSV or TSV with a header)");
}

Dataset DataFlags::load(const ModelSpec* spec) const {
  if (!interactions.empty() || !candidates.empty()) {
    if (interactions.empty() || candidates.empty())
      fail(ErrorKind::invalid_argument, "--interactions and --candidates go together");
    if (!spec) fail(ErrorKind::invalid_argument, "reading your own files needs --spec (for the column types)");
    return load_delimited_dataset(interactions, candidates, *spec);
  }
  return load_movielens_dataset(locate_movielens(data_dir, TT_SOURCE_DIR));
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace tt::cli

int main(int argc, char** argv) {
  CLI::App app{"twotower: train, save and query two-tower retrieval models"};
  app.set_version_flag("--version", std::string(TT_VERSION_STRING));
  app.require_subcommand(1);
  tt::cli::register_data(app);
  tt::cli::register_train(app);
  tt::cli::register_query(app);
  tt::cli::register_inspect(app);
  tt::cli::register_eval(app);
  tt::cli::register_convert(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tt::Error& e) {
    std::cerr << "twotower: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "twotower: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
