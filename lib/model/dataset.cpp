#include "model/dataset.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_set>

#include "base/error.h"
#include "data/catalogue_join.h"
#include "data/cell_text.h"
#include "data/delimited.h"
#include "data/movielens.h"
#include "data/table_file.h"
#include "data/text.h"

namespace tt {

Dataset load_movielens_dataset(const std::string& dir) {
  MovieLens ml = load_movielens(dir);
  return Dataset{std::move(ml.ratings), std::move(ml.catalogue), "movielens-100k:" + dir};
}

namespace {

// `own_candidate_columns`: the interactions file carries every column the candidate tower reads,
// which are then read from it (no join).
std::vector<ColumnSpec> columns_for(const ModelSpec& spec, bool candidates_file, bool own_candidate_columns = false) {
  std::set<std::string> names;
  for (const TowerSpec* t : {&spec.query, &spec.candidate})
    for (const auto& f : t->features) {
      // The interactions carry the query tower's columns and the candidate id; the catalogue
      // carries the candidate tower's columns (joined on the id unless the interactions have
      // them too), and those of query features fitted on candidates.
      const bool wanted = candidates_file ? (t == &spec.candidate || f.fit_on == FitOn::candidates)
                                          : (t == &spec.query || own_candidate_columns);
      if (wanted) names.insert(f.column);
    }
  names.insert(spec.candidate_id_column);
  // data.history's column is built after the split, from its user and time columns.
  if (!spec.data.history.column.empty() && !candidates_file) {
    names.erase(spec.data.history.column);
    names.insert(spec.data.history.user_column);
    names.insert(spec.data.history.time_column);
  }
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

std::vector<ColumnSpec> interaction_columns(const ModelSpec& spec, const std::vector<std::string>& header,
                                            bool* joined) {
  bool own = true;
  for (const auto& f : spec.candidate.features)
    own = own && std::find(header.begin(), header.end(), f.column) != header.end();
  if (joined) *joined = !own;
  return columns_for(spec, false, own);
}

Table read_catalogue(const std::string& path, const ModelSpec& spec) {
  return read_table_file(path, columns_for(spec, true));
}

Dataset load_delimited_dataset(const std::string& interactions_path, const std::string& candidates_path,
                               const ModelSpec& spec, const LoadOptions& options) {
  Dataset d;
  bool joined = false;
  const std::vector<ColumnSpec> columns = interaction_columns(spec, table_file_columns(interactions_path), &joined);
  const bool own = !joined;
  d.interactions = read_table_file(interactions_path, columns);
  d.candidates = read_catalogue(candidates_path, spec);
  d.source = interactions_path + " + " + candidates_path;
  // Interactions carrying the candidate tower's columns are read as they are (check_training_data
  // then weighs ids missing from the catalogue); others are joined to the catalogue on the id.
  if (own) return d;
  // Checked here, where rows still have file lines; training then joins without failing.
  const std::string& id = spec.candidate_id_column;
  const CatalogueJoin join = join_catalogue(d.interactions, d.candidates, id,
                                            [&](size_t r) { return describe_table_file_row(candidates_path, r); });
  if (join.missing && !options.skip_unknown_candidates)
    fail(ErrorKind::parse, describe_table_file_row(interactions_path, join.first_missing) + ": candidate id " +
                               id_for_message(d.interactions, id, join.first_missing) + " (column '" + id +
                               "') is not in the catalogue " + candidates_path + " (" + std::to_string(join.missing) +
                               " interactions have unknown ids; to leave them out, skip unknown candidates: "
                               "--skip-unknown-candidates)");
  if (join.missing) {
    std::vector<size_t> keep;
    keep.reserve(join.catalogue_row.size() - join.missing);
    for (size_t r = 0; r < join.catalogue_row.size(); ++r)
      if (join.catalogue_row[r] != CatalogueJoin::kNoCatalogueRow) keep.push_back(r);
    d.interactions = d.interactions.take(keep);
    d.skipped_unknown_candidates = join.missing;
  }
  return d;
}

std::vector<std::string> check_training_data(const ModelSpec& spec, const Dataset& data) {
  const std::string& id = spec.candidate_id_column;
  const std::string from = data.source.empty() ? "" : " (" + data.source + ")";
  if (data.candidates.num_rows() == 0)
    fail(ErrorKind::invalid_argument, "the candidate catalogue has no rows" + from + ": nothing to retrieve");
  const size_t n = data.interactions.num_rows();
  if (n == 0) fail(ErrorKind::invalid_argument, "the interactions have no rows" + from + ": nothing to train on");
  const size_t test = std::min(spec.data.test_rows, n);
  if ((spec.data.train_rows ? spec.data.train_rows : n - test) == 0)
    fail(ErrorKind::invalid_argument, "no interactions left to train on: data.test_rows holds out " +
                                          std::to_string(test) + " of the " + std::to_string(n) + " interactions");
  if (!data.candidates.has(id))
    fail(ErrorKind::invalid_argument, "the candidate catalogue has no column '" + id + "' (candidate_tower.id_column)");
  if (!data.interactions.has(id))
    fail(ErrorKind::invalid_argument, "the interactions have no column '" + id + "' (candidate_tower.id_column)");

  const Column& catalogue_ids = data.candidates.column(id);
  std::unordered_set<std::string> known;
  known.reserve(catalogue_ids.size());
  for (size_t i = 0; i < catalogue_ids.size(); ++i) known.insert(cell_text(catalogue_ids, i));
  const Column& ids = data.interactions.column(id);
  size_t unknown = 0;
  std::string first;
  for (size_t i = 0; i < ids.size(); ++i)
    if (!known.count(cell_text(ids, i)) && unknown++ == 0) first = cell_text(ids, i);
  return weigh_unknown_candidates(spec, n, unknown, first);
}

std::vector<std::string> weigh_unknown_candidates(const ModelSpec& spec, size_t n, size_t unknown,
                                                  const std::string& first) {
  const std::string& id = spec.candidate_id_column;
  std::vector<std::string> warnings;
  if (unknown == 0) return warnings;
  const double share = static_cast<double>(unknown) / static_cast<double>(n);
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.2f%%", 100.0 * share);
  const std::string what = std::to_string(unknown) + " of " + std::to_string(n) + " interactions (" + percent +
                           ") have a '" + id +
                           "' absent from the candidate catalogue (the first: " + quote_for_message(first) +
                           "); they can never be retrieved";
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", spec.data.max_unknown_candidates);
  if (share > spec.data.max_unknown_candidates)
    fail(ErrorKind::invalid_argument,
         what + ", more than data.max_unknown_candidates (" + limit +
             "): is the catalogue the right one? Raise data.max_unknown_candidates to train anyway");
  warnings.push_back(what + " (data.max_unknown_candidates " + limit + " allows it)");
  return warnings;
}

Split split_for_spec(const Table& interactions, const DataSpec& data) {
  const size_t n = interactions.num_rows();
  if (data.test_rows > n)
    fail(ErrorKind::invalid_argument,
         "test_rows " + std::to_string(data.test_rows) + " exceeds the " + std::to_string(n) + " interactions");
  const size_t train = data.train_rows ? data.train_rows : n - data.test_rows;
  Split split = shuffle_split(interactions, train, data.test_rows, data.split_seed);
  split_validation(split, data.validation_rows);
  return split;
}

}  // namespace tt
