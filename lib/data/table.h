// A columnar in-memory table: named columns of string, int64 or float32 values, all of one
// length. It is the only way data moves from loaders into features and training.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tt {

enum class DType { string, int64, float32 };

const char* dtype_name(DType t);
// Parses "string", "int64", "float32" (also "str", "int", "float"); throws ErrorKind::parse.
DType parse_dtype(std::string_view name);

class Column {
 public:
  using Strings = std::vector<std::string>;
  using Ints = std::vector<int64_t>;
  using Floats = std::vector<float>;

  Column(std::string name, Strings values) : name_(std::move(name)), data_(std::move(values)) {}
  Column(std::string name, Ints values) : name_(std::move(name)), data_(std::move(values)) {}
  Column(std::string name, Floats values) : name_(std::move(name)), data_(std::move(values)) {}
  // An empty column of the given type.
  Column(std::string name, DType type);

  const std::string& name() const { return name_; }
  DType dtype() const { return static_cast<DType>(data_.index()); }
  size_t size() const;

  // Typed access; a wrong type throws ErrorKind::invalid_argument naming the column and both types.
  const Strings& strings() const;
  const Ints& ints() const;
  const Floats& floats() const;
  Strings& strings();
  Ints& ints();
  Floats& floats();

  // A new column holding rows[i] of this one, in that order.
  Column take(std::span<const size_t> rows) const;
  // Appends all values of another column of the same type.
  void append(const Column& other);
  // Room for `rows` values without reallocating (appends that fill a window of known size).
  void reserve(size_t rows);

 private:
  const char* expect(DType want) const;
  std::string name_;
  std::variant<Strings, Ints, Floats> data_;  // index order matches DType
};

class Table {
 public:
  Table() = default;

  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  const std::vector<Column>& columns() const { return columns_; }

  // Adds a column; its length must equal num_rows() unless the table has no columns yet, and
  // its name must be new. Throws ErrorKind::invalid_argument otherwise.
  void add(Column column);
  bool has(std::string_view name) const;
  // Throws ErrorKind::invalid_argument: "unknown column 'x' (columns: a, b, c)".
  const Column& column(std::string_view name) const;
  Column& column(std::string_view name);

  // A new table with rows[i] of this one, in that order (used by shuffles, splits, batches).
  Table take(std::span<const size_t> rows) const;
  // Appends the rows of a table with the same column names and types (in any order).
  void append(const Table& other);
  // Room for `rows` rows in every column: appends up to that many copy each value once.
  void reserve(size_t rows);

 private:
  std::vector<Column> columns_;
  size_t num_rows_ = 0;
};

}  // namespace tt
