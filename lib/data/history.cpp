#include "data/history.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "data/cell_text.h"

namespace tt {

namespace {

// A column the history is built from; when missing, the message names the spec field that
// asked for it (e.g. data.history.user_column), not only the column.
const Column& input_column(const Table& t, const std::string& name, const char* field) {
  if (!t.has(name)) {
    std::string names;
    for (const auto& c : t.columns()) names += (names.empty() ? "" : ", ") + c.name();
    fail(ErrorKind::invalid_argument,
         std::string(field) + ": the interactions have no column '" + name + "' (columns: " + names + ")");
  }
  return t.column(name);
}

// Users and items are compared by their text; a float32 id would compare by rounding.
const Column& id_column(const Table& t, const std::string& name, const char* role, const char* field) {
  const Column& c = input_column(t, name, field);
  if (c.dtype() == DType::float32)
    fail(ErrorKind::invalid_argument,
         std::string("the history's ") + role + " column '" + name + "' must be string or int64, not float32");
  return c;
}

double time_at(const Column& c, size_t row) {
  switch (c.dtype()) {
    case DType::int64:
      return static_cast<double>(c.ints()[row]);
    case DType::float32: {
      // A NaN would break the sort and the search below (a later item could enter a history).
      const float v = c.floats()[row];
      if (!std::isfinite(v))
        fail(ErrorKind::invalid_argument, "the history's time column '" + c.name() +
                                              "' has a non-finite value at row " + std::to_string(row + 1) +
                                              " (data.history.time_column)");
      return static_cast<double>(v);
    }
    case DType::string:
      break;
  }
  fail(ErrorKind::invalid_argument,
       "the history's time column '" + c.name() + "' must be int64 or float32, not string");
}

struct Event {
  double time;
  std::string item;
};

}  // namespace

Column history_column(const Table& known, const Table& rows, const HistoryOptions& o) {
  // Each user's known events, sorted by time (stable: ties keep the order of `known`).
  std::unordered_map<std::string, std::vector<Event>> events;
  if (known.num_rows() > 0) {
    const Column& user = id_column(known, o.user_column, "user", "data.history.user_column");
    const Column& item = id_column(known, o.item_column, "item", "candidate_tower.id_column");
    const Column& time = input_column(known, o.time_column, "data.history.time_column");
    for (size_t r = 0; r < known.num_rows(); ++r) {
      std::string id = cell_text(item, r);
      if (id.find(o.separator) != std::string::npos)
        fail(ErrorKind::invalid_argument, "item id '" + id + "' (column '" + o.item_column +
                                              "') contains the history separator '" + std::string(1, o.separator) +
                                              "': choose another data.history.separator");
      events[cell_text(user, r)].push_back({time_at(time, r), std::move(id)});
    }
    for (auto& [_, e] : events)
      std::stable_sort(e.begin(), e.end(), [](const Event& a, const Event& b) { return a.time < b.time; });
  }
  Column::Strings cells(rows.num_rows());
  if (rows.num_rows() == 0) return Column(o.column, std::move(cells));
  const Column& user = id_column(rows, o.user_column, "user", "data.history.user_column");
  const Column& time = input_column(rows, o.time_column, "data.history.time_column");
  for (size_t r = 0; r < rows.num_rows(); ++r) {
    auto it = events.find(cell_text(user, r));
    if (it == events.end()) continue;
    const std::vector<Event>& e = it->second;
    const double t = time_at(time, r);
    // Strictly before: the first event at or after t ends the history.
    const size_t end = static_cast<size_t>(
        std::lower_bound(e.begin(), e.end(), t, [](const Event& a, double v) { return a.time < v; }) - e.begin());
    const size_t begin = o.max_items && end > o.max_items ? end - o.max_items : 0;
    std::string& cell = cells[r];
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) cell.push_back(o.separator);
      cell += e[i].item;
    }
  }
  return Column(o.column, std::move(cells));
}

Table with_history(const Table& rows, const Table& known, const HistoryOptions& o) {
  Column history = history_column(known, rows, o);
  Table out;
  for (const Column& c : rows.columns())
    if (c.name() != o.column) out.add(c);
  out.add(std::move(history));
  return out;
}

}  // namespace tt
