#include "data/table.h"

#include "base/error.h"
#include "data/text.h"

namespace tt {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::string:
      return "string";
    case DType::int64:
      return "int64";
    case DType::float32:
      return "float32";
  }
  return "unknown";
}

DType parse_dtype(std::string_view name) {
  if (name == "string" || name == "str") return DType::string;
  if (name == "int64" || name == "int") return DType::int64;
  if (name == "float32" || name == "float") return DType::float32;
  fail(ErrorKind::parse, "unknown column type " + quote_for_message(name) + " (expected string, int64 or float32)");
}

Column::Column(std::string name, DType type) : name_(std::move(name)) {
  switch (type) {
    case DType::string:
      data_ = Strings{};
      break;
    case DType::int64:
      data_ = Ints{};
      break;
    case DType::float32:
      data_ = Floats{};
      break;
  }
}

size_t Column::size() const {
  return std::visit([](const auto& v) { return v.size(); }, data_);
}

const char* Column::expect(DType want) const {
  if (dtype() != want)
    fail(ErrorKind::invalid_argument,
         "column '" + name_ + "' has type " + dtype_name(dtype()) + ", expected " + dtype_name(want));
  return nullptr;
}

const Column::Strings& Column::strings() const {
  expect(DType::string);
  return std::get<Strings>(data_);
}
const Column::Ints& Column::ints() const {
  expect(DType::int64);
  return std::get<Ints>(data_);
}
const Column::Floats& Column::floats() const {
  expect(DType::float32);
  return std::get<Floats>(data_);
}
Column::Strings& Column::strings() {
  expect(DType::string);
  return std::get<Strings>(data_);
}
Column::Ints& Column::ints() {
  expect(DType::int64);
  return std::get<Ints>(data_);
}
Column::Floats& Column::floats() {
  expect(DType::float32);
  return std::get<Floats>(data_);
}

Column Column::take(std::span<const size_t> rows) const {
  return std::visit(
      [&](const auto& v) {
        std::remove_cvref_t<decltype(v)> out;
        out.reserve(rows.size());
        for (size_t r : rows) {
          if (r >= v.size())
            fail(ErrorKind::invalid_argument, "row " + std::to_string(r) + " out of range for column '" + name_ +
                                                  "' of " + std::to_string(v.size()) + " rows");
          out.push_back(v[r]);
        }
        return Column(name_, std::move(out));
      },
      data_);
}

void Column::append(const Column& other) {
  expect(other.dtype());
  std::visit(
      [&](auto& v) {
        const auto& o = std::get<std::remove_cvref_t<decltype(v)>>(other.data_);
        v.insert(v.end(), o.begin(), o.end());
      },
      data_);
}

void Column::reserve(size_t rows) {
  std::visit([&](auto& v) { v.reserve(rows); }, data_);
}

void Table::add(Column column) {
  if (has(column.name())) fail(ErrorKind::invalid_argument, "duplicate column '" + column.name() + "'");
  if (!columns_.empty() && column.size() != num_rows_)
    fail(ErrorKind::invalid_argument, "column '" + column.name() + "' has " + std::to_string(column.size()) +
                                          " rows, the table has " + std::to_string(num_rows_));
  num_rows_ = column.size();
  columns_.push_back(std::move(column));
}

bool Table::has(std::string_view name) const {
  for (const auto& c : columns_)
    if (c.name() == name) return true;
  return false;
}

const Column& Table::column(std::string_view name) const {
  for (const auto& c : columns_)
    if (c.name() == name) return c;
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "" : ", ") + c.name();
  fail(ErrorKind::invalid_argument, "unknown column '" + std::string(name) + "' (columns: " + names + ")");
}

Column& Table::column(std::string_view name) {
  return const_cast<Column&>(static_cast<const Table*>(this)->column(name));
}

Table Table::take(std::span<const size_t> rows) const {
  Table out;
  for (const auto& c : columns_) out.add(c.take(rows));
  if (columns_.empty()) out.num_rows_ = 0;
  return out;
}

void Table::append(const Table& other) {
  if (columns_.empty()) {
    *this = other;
    return;
  }
  if (other.num_columns() != num_columns())
    fail(ErrorKind::invalid_argument, "cannot append a table of " + std::to_string(other.num_columns()) +
                                          " columns to one of " + std::to_string(num_columns()));
  for (auto& c : columns_) c.append(other.column(c.name()));
  num_rows_ += other.num_rows();
}

void Table::reserve(size_t rows) {
  for (auto& c : columns_) c.reserve(rows);
}

}  // namespace tt
