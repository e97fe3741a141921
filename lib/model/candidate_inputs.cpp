#include "model/candidate_inputs.h"

#include "base/error.h"
#include "data/catalogue_join.h"

namespace tt {

bool reads_catalogue(const ModelSpec& spec, const Table& interactions) {
  for (const auto& f : spec.candidate.features)
    if (!interactions.has(f.column)) return true;
  return false;
}

std::vector<uint32_t> catalogue_rows(const ModelSpec& spec, const Table& interactions, const Table& catalogue) {
  const std::string& id = spec.candidate_id_column;
  if (id.empty())
    fail(ErrorKind::invalid_argument,
         "the interactions lack candidate-tower columns, and joining them to the catalogue needs the spec's "
         "candidate_id_column");
  CatalogueJoin join =
      join_catalogue(interactions, catalogue, id, [](size_t r) { return "candidates row " + std::to_string(r); });
  if (join.missing)
    fail(ErrorKind::invalid_argument, "interactions row " + std::to_string(join.first_missing) + ": candidate id " +
                                          id_for_message(interactions, id, join.first_missing) + " (column '" + id +
                                          "') is not in the catalogue (" + std::to_string(join.missing) +
                                          " interaction rows have such ids)");
  return std::move(join.catalogue_row);
}

CandidateInputs encode_candidate_inputs(const TwoTowerModel& model, const Table& interactions, const Table& catalogue) {
  CandidateInputs out;
  if (!reads_catalogue(model.spec(), interactions)) {
    out.encoded = model.candidate().encode(interactions);
    return out;
  }
  out.row_of = catalogue_rows(model.spec(), interactions, catalogue);
  out.encoded = model.candidate().encode(catalogue);
  return out;
}

Table joined_columns(const Table& catalogue, const std::vector<uint32_t>& rows,
                     const std::vector<std::string>& columns) {
  const std::vector<size_t> take(rows.begin(), rows.end());
  Table out;
  for (const auto& name : columns)
    if (!out.has(name)) out.add(catalogue.column(name).take(take));
  return out;
}

}  // namespace tt
