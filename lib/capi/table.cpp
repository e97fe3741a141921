#include <algorithm>
#include <cstring>
#include <memory>

#include "base/atomic_file.h"
#include "capi/api_guard.h"
#include "capi/table_handle.h"
#include "data/columnar.h"
#include "data/delimited.h"
#include "data/locate.h"
#include "data/movielens.h"
#include "data/table_file.h"
#include "data/text.h"

using namespace tt;
using capi::require;

tt::Column& tt_table::column_for_append(const char* name, DType type) {
  require(name, "column");
  for (auto& c : columns)
    if (c.name() == name) {
      if (c.dtype() != type)
        fail(ErrorKind::invalid_argument, std::string("column '") + name + "' holds " + dtype_name(c.dtype()) +
                                              " values; cannot append " + dtype_name(type));
      return c;
    }
  if (!*name) fail(ErrorKind::invalid_argument, "column name is empty");
  columns.emplace_back(name, type);
  return columns.back();
}

tt::Table tt_table::to_table() const {
  Table t;
  for (const auto& c : columns) t.add(c);
  return t;
}

static tt_table* wrap(Table t) {
  auto h = std::make_unique<tt_table>();
  for (const auto& c : t.columns()) h->columns.push_back(c);
  return h.release();
}

static DType to_dtype(tt_dtype t) {
  switch (t) {
    case TT_DTYPE_STRING:
      return DType::string;
    case TT_DTYPE_INT64:
      return DType::int64;
    case TT_DTYPE_FLOAT32:
      return DType::float32;
  }
  fail(ErrorKind::invalid_argument, "unknown tt_dtype " + std::to_string(static_cast<int>(t)));
}

static tt_dtype from_dtype(DType t) {
  switch (t) {
    case DType::string:
      return TT_DTYPE_STRING;
    case DType::int64:
      return TT_DTYPE_INT64;
    case DType::float32:
      return TT_DTYPE_FLOAT32;
  }
  fail(ErrorKind::internal, "unknown column type " + std::to_string(static_cast<int>(t)));
}

// The column named `name`, after checking that rows [first, first + count) exist in it.
static const Column& column_rows(const tt_table* table, const char* name, size_t first, size_t count, const void* out) {
  require(table, "table");
  require(name, "column");
  if (count) require(out, "out");
  const Column* found = nullptr;
  std::string names;
  for (const auto& c : table->columns) {
    if (c.name() == name) found = &c;
    names += (names.empty() ? "" : ", ") + c.name();
  }
  if (!found)
    fail(ErrorKind::invalid_argument,
         "unknown column " + quote_for_message(name) + " (columns: " + escape_for_message(names) + ")");
  if (first > found->size() || count > found->size() - first)
    fail(ErrorKind::invalid_argument, "column " + quote_for_message(found->name()) + " has " +
                                          std::to_string(found->size()) + " rows; asked for " + std::to_string(count) +
                                          " from row " + std::to_string(first));
  return *found;
}

template <class T, class Values>
static void copy_rows(const Values& values, size_t first, size_t count, T* out) {
  std::copy(values.begin() + static_cast<std::ptrdiff_t>(first),
            values.begin() + static_cast<std::ptrdiff_t>(first + count), out);
}

// The parallel arrays of tt_table_read_file and tt_data_convert as column specs.
static std::vector<ColumnSpec> column_specs(const char* const* columns, const tt_dtype* types, size_t num_columns) {
  if (num_columns) {
    require(columns, "columns");
    require(types, "types");
  }
  std::vector<ColumnSpec> specs;
  for (size_t i = 0; i < num_columns; ++i) {
    if (!columns[i]) fail(ErrorKind::invalid_argument, "columns[" + std::to_string(i) + "] is NULL");
    specs.push_back({columns[i], to_dtype(types[i])});
  }
  return specs;
}

extern "C" {

TT_API tt_status tt_table_create(tt_table** out) {
  return TT_GUARD({
    require(out, "out");
    *out = new tt_table();
  });
}

TT_API void tt_table_free(tt_table* table) { delete table; }

TT_API tt_status tt_table_append_strings(tt_table* table, const char* column, const char* const* values, size_t n) {
  return TT_GUARD({
    require(table, "table");
    if (n) require(values, "values");
    std::vector<std::string> v;
    v.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (!values[i]) fail(ErrorKind::invalid_argument, "values[" + std::to_string(i) + "] is NULL");
      v.emplace_back(values[i]);
    }
    auto& c = table->column_for_append(column, DType::string).strings();
    c.insert(c.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  });
}

TT_API tt_status tt_table_append_int64(tt_table* table, const char* column, const int64_t* values, size_t n) {
  return TT_GUARD({
    require(table, "table");
    if (n) require(values, "values");
    auto& c = table->column_for_append(column, DType::int64).ints();
    c.insert(c.end(), values, values + n);
  });
}

TT_API tt_status tt_table_append_float32(tt_table* table, const char* column, const float* values, size_t n) {
  return TT_GUARD({
    require(table, "table");
    if (n) require(values, "values");
    auto& c = table->column_for_append(column, DType::float32).floats();
    c.insert(c.end(), values, values + n);
  });
}

TT_API tt_status tt_table_validate(const tt_table* table) {
  return TT_GUARD({
    require(table, "table");
    (void)table->to_table();
  });
}

TT_API tt_status tt_table_num_rows(const tt_table* table, size_t* out) {
  return TT_GUARD({
    require(table, "table");
    require(out, "out");
    size_t rows = table->columns.empty() ? 0 : table->columns[0].size();
    for (const auto& c : table->columns)
      if (c.size() != rows)
        fail(ErrorKind::invalid_argument, "column '" + c.name() + "' has " + std::to_string(c.size()) +
                                              " rows, column '" + table->columns[0].name() + "' has " +
                                              std::to_string(rows));
    *out = rows;
  });
}

TT_API tt_status tt_table_num_columns(const tt_table* table, size_t* out) {
  return TT_GUARD({
    require(table, "table");
    require(out, "out");
    *out = table->columns.size();
  });
}

TT_API tt_status tt_table_column_info(const tt_table* table, size_t index, const char** name, tt_dtype* type,
                                      size_t* length) {
  return TT_GUARD({
    require(table, "table");
    if (index >= table->columns.size())
      fail(ErrorKind::invalid_argument, "column index " + std::to_string(index) + " is beyond the table's " +
                                            std::to_string(table->columns.size()) + " columns");
    const Column& c = table->columns[index];
    if (name) *name = c.name().c_str();
    if (type) *type = from_dtype(c.dtype());
    if (length) *length = c.size();
  });
}

TT_API tt_status tt_table_get_strings(const tt_table* table, const char* column, size_t first_row, size_t count,
                                      const char** out) {
  return TT_GUARD({
    const auto& values = column_rows(table, column, first_row, count, out).strings();
    for (size_t i = 0; i < count; ++i) out[i] = values[first_row + i].c_str();
  });
}

TT_API tt_status tt_table_get_int64(const tt_table* table, const char* column, size_t first_row, size_t count,
                                    int64_t* out) {
  return TT_GUARD({ copy_rows(column_rows(table, column, first_row, count, out).ints(), first_row, count, out); });
}

TT_API tt_status tt_table_get_float32(const tt_table* table, const char* column, size_t first_row, size_t count,
                                      float* out) {
  return TT_GUARD({ copy_rows(column_rows(table, column, first_row, count, out).floats(), first_row, count, out); });
}

TT_API tt_status tt_table_read_file(const char* path, const char* const* columns, const tt_dtype* types,
                                    size_t num_columns, tt_table** out) {
  return TT_GUARD({
    require(path, "path");
    require(out, "out");
    if (num_columns) {
      require(columns, "columns");
      require(types, "types");
    }
    *out = wrap(read_table_file(path, column_specs(columns, types, num_columns)));
  });
}

TT_API tt_status tt_table_write_columnar(const tt_table* table, const char* path) {
  return TT_GUARD({
    require(table, "table");
    require(path, "path");
    write_columnar(path, table->to_table());
  });
}

TT_API tt_status tt_data_convert(const char* input, const char* output, const char* const* columns,
                                 const tt_dtype* types, size_t num_columns) {
  return TT_GUARD({
    require(input, "input");
    require(output, "output");
    check_writable_path(output, "output");
    write_columnar(output, read_table_file(input, column_specs(columns, types, num_columns)));
  });
}

TT_API tt_status tt_load_movielens(const char* dir, tt_table** ratings, tt_table** catalogue) {
  return TT_GUARD({
    require(ratings, "ratings");
    require(catalogue, "catalogue");
    MovieLens ml = load_movielens(locate_movielens(dir ? dir : "", ""));
    std::unique_ptr<tt_table> r(wrap(std::move(ml.ratings)));
    std::unique_ptr<tt_table> c(wrap(std::move(ml.catalogue)));
    *ratings = r.release();
    *catalogue = c.release();
  });
}

}  // extern "C"
