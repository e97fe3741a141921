// The twotower command-line tool: a thin client of the engine in lib/.
#include <unistd.h>
#include <iostream>

#include "base/cpu_isa.h"
#include "base/error.h"
#include "cli.h"
#include "data/locate.h"
#include "data/text.h"
#include "nn/gemm.h"
#include "twotower/twotower.h"

namespace tt::cli {

void DataFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--data", data_dir, "MovieLens 100k directory (default: $TWOTOWER_DATA, then ../shared/data/ml-100k)");
  cmd.add_option("--interactions", interactions, "your own interactions file (CSV or TSV with a header)");
  cmd.add_option("--candidates", candidates, "your own candidate catalogue (CSV or TSV with a header)");
  cmd.add_flag("--skip-unknown-candidates", skip_unknown_candidates,
               "leave out interactions whose candidate id is not in --candidates (counted in the summary) "
               "instead of failing");
}

Dataset DataFlags::load(const ModelSpec* spec) const {
  if (!interactions.empty() || !candidates.empty()) {
    if (interactions.empty() || candidates.empty())
      fail(ErrorKind::invalid_argument, "--interactions and --candidates go together");
    if (!spec) fail(ErrorKind::invalid_argument, "reading your own files needs --spec (for the column types)");
    LoadOptions options;
    options.skip_unknown_candidates = skip_unknown_candidates;
    return load_delimited_dataset(interactions, candidates, *spec, options);
  }
  return load_movielens_dataset(locate_movielens(data_dir, TT_SOURCE_DIR));
}

std::string list_commands(const CLI::App& app) {
  std::string out = "twotower: commands:";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) out += " " + sub->get_name();
  return out + " (twotower COMMAND --help describes one)";
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace tt::cli

int main(int argc, char** argv) {
  CLI::App app{"twotower: train, save and query two-tower retrieval models"};
  // The version, and the instruction sets this machine runs (TWOTOWER_MAX_ISA and
  // DNNL_MAX_CPU_ISA cap them; docs/architecture.md, "ISA").
  app.set_version_flag("--version", [] {
    return std::string(TT_VERSION_STRING) + "\nISA: kernels " + tt::isa_report() + "; oneDNN " + tt::gemm_cpu_isa();
  });
  app.require_subcommand(1);
  tt::cli::register_data(app);
  tt::cli::register_train(app);
  tt::cli::register_query(app);
  tt::cli::register_inspect(app);
  tt::cli::register_eval(app);
  tt::cli::register_convert(app);
  tt::cli::register_search(app);
  tt::cli::register_index(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 says only "A subcommand is required", also for "twotower frobnicate".
    if (e.get_exit_code() != 0 && app.get_subcommands().empty() && (argc == 1 || argv[1][0] != '-')) {
      if (argc == 1)
        std::cerr << "twotower: error: a command is required\n";
      else
        std::cerr << "twotower: error: unknown command " << tt::quote_for_message(argv[1]) << "\n";
      std::cerr << tt::cli::list_commands(app) << "\n";
      return e.get_exit_code();
    }
    return app.exit(e);
  } catch (const tt::Error& e) {
    std::cerr << "twotower: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "twotower: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "twotower: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
