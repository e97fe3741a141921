// `twotower data`: load the data, fit the spec's preprocessing and print what was fitted.
#include <iostream>
#include <set>

#include "cli.h"
#include "model/two_tower_model.h"

namespace tt::cli {

namespace {

void print_table(const char* title, const Table& t) {
  std::cout << title << ": " << t.num_rows() << " rows\n";
  for (const auto& c : t.columns()) {
    std::cout << "  " << c.name() << " (" << dtype_name(c.dtype()) << ")";
    if (c.dtype() == DType::string) {
      std::set<std::string> distinct(c.strings().begin(), c.strings().end());
      std::cout << ": " << distinct.size() << " distinct";
    } else if (c.dtype() == DType::int64 && c.size()) {
      auto [lo, hi] = std::minmax_element(c.ints().begin(), c.ints().end());
      std::cout << ": min " << *lo << ", max " << *hi;
    } else if (c.dtype() == DType::float32 && c.size()) {
      auto [lo, hi] = std::minmax_element(c.floats().begin(), c.floats().end());
      std::cout << ": min " << *lo << ", max " << *hi;
    }
    std::cout << "\n";
  }
}

}  // namespace

void register_data(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "load the data, fit the preprocessing and print a summary");
  auto flags = std::make_shared<DataFlags>();
  auto spec_path = std::make_shared<std::string>(std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-32.json");
  flags->add_to(*cmd);
  cmd->add_option("--spec", *spec_path, "model spec (JSON)");
  cmd->callback([flags, spec_path] {
    ModelSpec spec = ModelSpec::from_file(*spec_path);
    Dataset d = flags->load(&spec);
    std::cout << "data: " << d.source << "\n";
    print_table("interactions", d.interactions);
    if (d.skipped_unknown_candidates)
      std::cout << "  (" << d.skipped_unknown_candidates
                << " interactions left out: candidate id not in the catalogue)\n";
    print_table("candidates", d.candidates);
    Split split = split_for_spec(d.interactions, spec.data);
    std::cout << "split (seed " << spec.data.split_seed << "): " << split.train.num_rows() << " train, "
              << split.test.num_rows() << " test\n";
    TwoTowerModel model(spec);
    model.fit_preprocessing(d.interactions, d.candidates);
    model.initialize(spec.training.seed);
    std::cout << "spec " << spec.name << ":\n" << model.describe();
  });
}

}  // namespace tt::cli
