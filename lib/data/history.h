// Watch history as a query feature (Covington et al., RecSys 2016, "Deep Neural Networks for
// YouTube Recommendations"): for each interaction row, the items the same user interacted with
// before it, as one multi-valued string cell ("item3|item7|item1") for a multi_value_lookup
// feature. Built after the split, from the rows a model is allowed to know only, so that no
// held-out row's item ever reaches a history.
#pragma once

#include <cstddef>
#include <string>

#include "data/table.h"

namespace tt {

struct HistoryOptions {
  std::string column;       // the column added (empty: no history)
  std::string user_column;  // string or int64
  std::string item_column;  // string or int64: the candidate id
  std::string time_column;  // int64 or float32
  size_t max_items = 0;     // keep the most recent this many (0: all)
  char separator = '|';
};

// For each row of `rows`: the items of the rows of `known` with the same user and a time
// strictly earlier than the row's (a tie is not "before": rows of the same second are left out,
// and so is the row itself when it is one of `known`), oldest first, the most recent
// max_items of them, joined by the separator. Known rows of equal time keep their order in
// `known`. Throws ErrorKind::invalid_argument on a missing column or a wrong type, and when an
// item id contains the separator (it would read back as two items).
Column history_column(const Table& known, const Table& rows, const HistoryOptions& options);

// `rows` with history_column(known, rows, options) added (replacing a column of that name).
Table with_history(const Table& rows, const Table& known, const HistoryOptions& options);

}  // namespace tt
