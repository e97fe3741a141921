#include "model/rank_share.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "base/error.h"
#include "data/split.h"
#include "model/dataset.h"
#include "model/step_exchange.h"
#include "model/streamed_fit.h"

namespace tt {

namespace {

// This rank's rows of the file: (file row, slot), slot numbering the training rows first and
// then the test rows in split order; sorted by file row for the pass.
struct Wanted {
  std::vector<std::pair<uint64_t, uint32_t>> rows;
  size_t train = 0, test = 0;
};

}  // namespace

RankShare read_rank_share(const ModelSpec& spec, const ColumnarFile& file, const Table& catalogue, size_t rank,
                          size_t ranks, size_t chunk_rows) {
  if (ranks == 0 || rank >= ranks) fail(ErrorKind::invalid_argument, "read_rank_share: rank out of range");
  if (spec.data.validation_rows)
    fail(ErrorKind::invalid_argument,
         "validation rows (data.validation_rows, early stopping) are not supported with distributed training");
  if (!spec.data.history.column.empty())
    fail(ErrorKind::invalid_argument, "data.history is not supported with distributed training: train in memory");
  bool joined = false;
  const std::vector<std::string> columns = checked_interaction_columns(spec, file, catalogue, &joined);
  const size_t n = file.num_rows();
  if (spec.data.test_rows > n)
    fail(ErrorKind::invalid_argument,
         "test_rows " + std::to_string(spec.data.test_rows) + " exceeds the " + std::to_string(n) + " interactions");
  RankShare share(spec);
  share.test_rows = spec.data.test_rows;
  share.train_rows = spec.data.train_rows ? spec.data.train_rows : n - share.test_rows;
  if (share.train_rows > n - share.test_rows)
    fail(ErrorKind::invalid_argument, "cannot split " + std::to_string(n) + " rows into " +
                                          std::to_string(share.train_rows) + " train and " +
                                          std::to_string(share.test_rows) + " test rows");

  // split_for_spec's permutation (it needs only the row count); kept only while this rank's
  // rows and the training rows are marked.
  std::vector<char> training(n, 0);
  Wanted want;
  {
    const std::vector<size_t> order = shuffled_rows(n, spec.data.split_seed);
    for (size_t i = 0; i < share.train_rows; ++i) training[order[i]] = 1;
    const auto [a, b] = rank_rows(share.train_rows, rank, ranks);
    const auto [c, d] = rank_rows(share.test_rows, rank, ranks);
    want.train = b - a;
    want.test = d - c;
    for (size_t i = a; i < b; ++i) want.rows.emplace_back(order[i], static_cast<uint32_t>(i - a));
    for (size_t i = c; i < d; ++i)
      want.rows.emplace_back(order[share.train_rows + i], static_cast<uint32_t>(want.train + i - c));
  }
  std::sort(want.rows.begin(), want.rows.end());

  const std::string& id = spec.candidate_id_column;
  std::unordered_set<std::string> known;
  if (!joined)
    for (const std::string& k : candidate_keys(catalogue, id)) known.insert(k);
  size_t unknown = 0;
  std::string first_unknown;
  Table mine;                  // this rank's rows in file order
  std::vector<uint32_t> slot;  // their slots
  auto next = want.rows.begin();
  // Each chunk of the file: count training candidates, note unknown ones, keep this rank's rows.
  auto take_chunk = [&](uint64_t first, const Table& rows, const std::vector<uint32_t>&) {
    const std::vector<std::string> keys = candidate_keys(rows, id);
    for (size_t i = 0; i < rows.num_rows(); ++i) {
      if (training[first + i]) {
        ++share.counts.count[keys[i]];
        ++share.counts.total;
      }
      if (!joined && !known.count(keys[i]) && unknown++ == 0) first_unknown = keys[i];
    }
    std::vector<size_t> take;
    for (; next != want.rows.end() && next->first < first + rows.num_rows(); ++next) {
      take.push_back(static_cast<size_t>(next->first - first));
      slot.push_back(next->second);
    }
    if (take.empty()) return;
    Table part = rows.take(take);
    if (mine.num_rows() == 0)
      mine = std::move(part);
    else
      mine.append(part);
  };
  fit_preprocessing_streamed(share.model, file, columns, catalogue, chunk_rows, take_chunk);
  share.warnings = weigh_unknown_candidates(spec, n, unknown, first_unknown);

  // Back into split order: position of each slot in `mine`.
  std::vector<size_t> at(slot.size());
  for (size_t i = 0; i < slot.size(); ++i) at[slot[i]] = i;
  const std::span<const size_t> all(at);
  const Table schema = file.read_rows(0, 0, columns);
  share.train = want.train ? mine.take(all.subspan(0, want.train)) : schema;
  share.test = want.test ? mine.take(all.subspan(want.train)) : schema;
  return share;
}

}  // namespace tt
