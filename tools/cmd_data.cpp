// `twotower data`: load the data, fit the spec's preprocessing and print what was fitted.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

#include "base/atomic_file.h"
#include "cli.h"
#include "data/columnar.h"
#include "data/table_file.h"
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

struct ConvertDataFlags {
  std::string input, output, spec;
  std::vector<std::string> columns;  // NAME:TYPE
  uint32_t block_rows = kDefaultBlockRows;
};

// The columns to convert: each --column NAME:TYPE, else the spec's declared columns that the
// input's header has (in header order).
std::vector<ColumnSpec> columns_to_convert(const ConvertDataFlags& f) {
  std::vector<ColumnSpec> out;
  for (const std::string& c : f.columns) {
    const size_t colon = c.rfind(':');
    if (colon == std::string::npos || colon == 0)
      fail(ErrorKind::invalid_argument, "--column " + c + ": expected NAME:TYPE (TYPE string, int64 or float32)");
    out.push_back({c.substr(0, colon), parse_dtype(c.substr(colon + 1))});
  }
  if (!f.spec.empty()) {
    if (!out.empty()) fail(ErrorKind::invalid_argument, "give --spec or --column, not both");
    const ModelSpec spec = ModelSpec::from_file(f.spec);
    for (const std::string& name : table_file_columns(f.input)) {
      const auto it = spec.columns.find(name);
      if (it != spec.columns.end()) out.push_back({name, it->second});
    }
    if (out.empty())
      fail(ErrorKind::invalid_argument,
           f.input + ": no column of the header is declared in " + f.spec + "'s \"columns\"");
  }
  if (out.empty()) fail(ErrorKind::invalid_argument, "name the columns to convert: --spec F or --column NAME:TYPE");
  return out;
}

void convert_data(const ConvertDataFlags& f) {
  check_writable_path(f.output, "--output");
  const auto t0 = std::chrono::steady_clock::now();
  const Table t = read_table_file(f.input, columns_to_convert(f));
  const auto t1 = std::chrono::steady_clock::now();
  ColumnarWriteOptions o;
  o.block_rows = f.block_rows;
  write_columnar(f.output, t, o);
  const auto t2 = std::chrono::steady_clock::now();
  std::cout << f.output << ": " << t.num_rows() << " rows, " << t.num_columns() << " columns (";
  for (size_t i = 0; i < t.num_columns(); ++i)
    std::cout << (i ? ", " : "") << t.columns()[i].name() << " " << dtype_name(t.columns()[i].dtype());
  std::cout << "), " << std::filesystem::file_size(f.output) << " bytes; read "
            << std::chrono::duration<double>(t1 - t0).count() << " s, written "
            << std::chrono::duration<double>(t2 - t1).count() << " s\n";
}

}  // namespace

void register_data(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "load the data, fit the preprocessing and print a summary");
  auto flags = std::make_shared<DataFlags>();
  auto spec_path = std::make_shared<std::string>(std::string(TT_SOURCE_DIR) + "/samples/movielens/deep-32.json");
  flags->add_to(*cmd);
  cmd->add_option("--spec", *spec_path, "model spec (JSON)");
  auto conv = std::make_shared<ConvertDataFlags>();
  auto* convert =
      cmd->add_subcommand("convert", "convert a CSV/TSV file to a columnar data file (docs/data-format.md)");
  convert->add_option("input", conv->input, "CSV, TSV or columnar file with a header row")->required();
  convert->add_option("-o,--output", conv->output, "columnar data file to write (atomically), e.g. clicks.ttc")
      ->required();
  convert->add_option("--spec", conv->spec, "convert the columns the spec's 'columns' declares (with their types)");
  convert->add_option("--column", conv->columns,
                      "NAME:TYPE of a column to convert (repeatable; TYPE string, int64, float32)");
  add_number_option<uint32_t>(*convert, "--block-rows", conv->block_rows, 1, kMaxBlockRows,
                              "rows per block (checksums, streaming; default 65536)");
  convert->callback([conv] { convert_data(*conv); });
  cmd->callback([flags, spec_path, convert] {
    if (convert->parsed()) return;
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
