#include "model/dataset.h"

#include <set>

#include "base/error.h"
#include "data/delimited.h"
#include "data/movielens.h"

namespace tt {

Dataset load_movielens_dataset(const std::string& dir) {
  MovieLens ml = load_movielens(dir);
  return Dataset{std::move(ml.ratings), std::move(ml.catalogue), "movielens-100k:" + dir};
}

namespace {

std::vector<ColumnSpec> columns_for(const ModelSpec& spec, bool candidates_file) {
  std::set<std::string> names;
  for (const TowerSpec* t : {&spec.query, &spec.candidate})
    for (const auto& f : t->features) {
      // Training encodes both towers from the interaction rows, whatever a feature is fitted on;
      // the catalogue goes through the candidate tower, and query features fitted on candidates
      // read it too.
      const bool wanted = candidates_file ? (t == &spec.candidate || f.fit_on == FitOn::candidates) : true;
      if (wanted) names.insert(f.column);
    }
  names.insert(spec.candidate_id_column);
  if (!candidates_file) {
    if (!spec.task.sample_weight_column.empty()) names.insert(spec.task.sample_weight_column);
    if (!spec.task.sampling_probability_column.empty()) names.insert(spec.task.sampling_probability_column);
  }
  std::vector<ColumnSpec> out;
  for (const auto& n : names) {
    auto it = spec.columns.find(n);
    if (it == spec.columns.end())
      fail(ErrorKind::invalid_argument, "the spec's \"columns\" does not declare a type for column '" + n + "'");
    out.push_back({n, it->second});
  }
  return out;
}

}  // namespace

Dataset load_delimited_dataset(const std::string& interactions_path, const std::string& candidates_path,
                               const ModelSpec& spec) {
  Dataset d;
  d.interactions = read_delimited(interactions_path, columns_for(spec, false));
  d.candidates = read_delimited(candidates_path, columns_for(spec, true));
  d.source = interactions_path + " + " + candidates_path;
  return d;
}

Split split_for_spec(const Table& interactions, const DataSpec& data) {
  const size_t n = interactions.num_rows();
  if (data.test_rows > n)
    fail(ErrorKind::invalid_argument,
         "test_rows " + std::to_string(data.test_rows) + " exceeds the " + std::to_string(n) + " interactions");
  const size_t train = data.train_rows ? data.train_rows : n - data.test_rows;
  return shuffle_split(interactions, train, data.test_rows, data.split_seed);
}

}  // namespace tt
