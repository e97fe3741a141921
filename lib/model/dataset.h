// The data a model trains on: interactions (one row per (query, candidate) event) and the
// candidate catalogue, from MovieLens or from the user's own CSV/TSV files.
#pragma once

#include <string>
#include <vector>

#include "data/delimited.h"
#include "data/split.h"
#include "data/table.h"
#include "model/spec.h"

namespace tt {

struct Dataset {
  Table interactions;
  Table candidates;
  std::string source;  // where it came from, for summaries and the model file's metadata
  // Interaction rows left out because their candidate id is not in the catalogue
  // (LoadOptions::skip_unknown_candidates).
  size_t skipped_unknown_candidates = 0;
};

struct LoadOptions {
  // An interaction whose candidate id is not in the catalogue: an error naming file and line
  // (false), or the row is left out and counted in Dataset::skipped_unknown_candidates (true).
  bool skip_unknown_candidates = false;
};

// MovieLens 100k: ratings are the interactions, u.item the candidates.
Dataset load_movielens_dataset(const std::string& dir);

// The user's own files; the columns the spec's features read are loaded with the types the
// spec declares under "columns" (a feature column without a declared type is an error). The
// interactions carry the candidate id and the query tower's columns; the candidate tower's
// columns come from the catalogue row with that id (ids must be unique in the catalogue).
Dataset load_delimited_dataset(const std::string& interactions_path, const std::string& candidates_path,
                               const ModelSpec& spec, const LoadOptions& options = {});

// Checks made before any training, so that bad data fails in seconds with a message about the
// data, not after an epoch inside a GEMM: an empty catalogue or interaction table, a split that
// leaves nothing to train on, and interactions whose candidate id is absent from the catalogue
// (such a positive can never be retrieved, and metrics computed with it are meaningless). Those
// are refused above spec.data.max_unknown_candidates; below it, a warning is returned.
std::vector<std::string> check_training_data(const ModelSpec& spec, const Dataset& data);

// check_training_data's verdict on `unknown` of `n` interactions (the first of them `first`)
// whose candidate id is not in the catalogue: warnings, or ErrorKind::invalid_argument above
// spec.data.max_unknown_candidates.
std::vector<std::string> weigh_unknown_candidates(const ModelSpec& spec, size_t n, size_t unknown,
                                                  const std::string& first);

// The columns load_delimited_dataset reads from an interactions file with columns `header`;
// *joined tells whether the candidate tower's columns then come from the catalogue.
std::vector<ColumnSpec> interaction_columns(const ModelSpec& spec, const std::vector<std::string>& header,
                                            bool* joined);
// The catalogue's columns load_delimited_dataset reads from `path`.
Table read_catalogue(const std::string& path, const ModelSpec& spec);

// The spec's train/test split (train_rows 0 means all rows not in test), with the last
// validation_rows of the training part held out as the validation rows.
Split split_for_spec(const Table& interactions, const DataSpec& data);

}  // namespace tt
