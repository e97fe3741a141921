#include "data/catalogue_join.h"

#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "base/error.h"
#include "data/text.h"

namespace tt {

namespace {

const Column& id_column_of(const Table& t, const std::string& name, const char* role) {
  if (!t.has(name))
    fail(ErrorKind::invalid_argument, std::string("the ") + role + " have no candidate id column '" + name + "'");
  const Column& c = t.column(name);
  if (c.dtype() == DType::float32)
    fail(ErrorKind::invalid_argument, "candidate id column '" + name + "' must be string or int64, not float32");
  return c;
}

template <class Key, class Values>
void join_values(const Values& ids, const Values& catalogue_ids, const std::string& id_column,
                 const RowLocator& where_catalogue, CatalogueJoin& out) {
  std::unordered_map<Key, uint32_t> row_of;
  row_of.reserve(catalogue_ids.size());
  for (size_t r = 0; r < catalogue_ids.size(); ++r) {
    const auto [it, fresh] = row_of.emplace(Key(catalogue_ids[r]), static_cast<uint32_t>(r));
    if (!fresh) {
      std::string id;
      if constexpr (std::is_same_v<Key, int64_t>)
        id = std::to_string(catalogue_ids[r]);
      else
        id = quote_for_message(catalogue_ids[r]);
      fail(ErrorKind::invalid_argument, where_catalogue(r) + ": candidate id " + id + " (column '" + id_column +
                                            "') appears again; it was first at " + where_catalogue(it->second) +
                                            " (catalogue ids must be unique)");
    }
  }
  out.catalogue_row.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto it = row_of.find(Key(ids[i]));
    if (it != row_of.end()) {
      out.catalogue_row[i] = it->second;
    } else {
      out.catalogue_row[i] = CatalogueJoin::kNoCatalogueRow;
      if (out.missing++ == 0) out.first_missing = i;
    }
  }
}

}  // namespace

CatalogueJoin join_catalogue(const Table& interactions, const Table& catalogue, const std::string& id_column,
                             const RowLocator& where_catalogue) {
  const Column& ids = id_column_of(interactions, id_column, "interactions");
  const Column& catalogue_ids = id_column_of(catalogue, id_column, "candidates");
  if (ids.dtype() != catalogue_ids.dtype())
    fail(ErrorKind::invalid_argument, "candidate id column '" + id_column + "' is " + dtype_name(ids.dtype()) +
                                          " in the interactions but " + dtype_name(catalogue_ids.dtype()) +
                                          " in the catalogue");
  if (catalogue_ids.size() >= CatalogueJoin::kNoCatalogueRow)
    fail(ErrorKind::invalid_argument,
         "the catalogue has " + std::to_string(catalogue_ids.size()) + " rows; a join supports fewer than 2^32-1");
  CatalogueJoin out;
  if (ids.dtype() == DType::int64)
    join_values<int64_t>(ids.ints(), catalogue_ids.ints(), id_column, where_catalogue, out);
  else
    join_values<std::string_view>(ids.strings(), catalogue_ids.strings(), id_column, where_catalogue, out);
  return out;
}

std::string id_for_message(const Table& interactions, const std::string& id_column, size_t row) {
  const Column& c = interactions.column(id_column);
  if (c.dtype() == DType::int64) return std::to_string(c.ints().at(row));
  return quote_for_message(c.strings().at(row));
}

}  // namespace tt
