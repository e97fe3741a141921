#include "model/streamed_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_set>

#include "base/error.h"
#include "base/parallel.h"
#include "data/catalogue_join.h"
#include "data/table_file.h"
#include "data/text.h"
#include "model/candidate_inputs.h"
#include "model/columnar_stream.h"
#include "model/dataset.h"

namespace tt {

namespace {

// One feature's preprocessing fitted from chunks of rows: what FeatureEncoder::fit computes from
// the whole column, from running state only. A candidate feature of joined interactions reads,
// per row, the catalogue row it is joined to.
class FeatureFitter {
 public:
  FeatureFitter(FeatureEncoder& encoder, bool joined) : encoder_(encoder), spec_(encoder.spec()), joined_(joined) {}

  // Features that need no pass over the interactions: fitted on the catalogue, given their
  // vocabulary or boundaries, or hashed.
  static bool needs_rows(const FeatureSpec& f) {
    if (f.fit_on != FitOn::interactions) return false;
    switch (f.kind) {
      case FeatureKind::string_lookup:
      case FeatureKind::multi_value_lookup:
        return f.vocabulary.empty();
      case FeatureKind::discretization:
        return f.boundaries.empty();
      case FeatureKind::hashing:
        return false;
      case FeatureKind::normalization:
      case FeatureKind::text:
        return true;
    }
    return false;
  }
  bool second_pass() const { return spec_.kind == FeatureKind::normalization; }

  void add(const Table& rows, const std::vector<uint32_t>& catalogue_rows, const Table& catalogue, int pass) {
    const Column& c = joined_ ? catalogue.column(spec_.column) : rows.column(spec_.column);
    const size_t n = rows.num_rows();
    auto at = [&](size_t i) { return joined_ ? catalogue_rows[i] : i; };
    try {
      switch (spec_.kind) {
        case FeatureKind::string_lookup:
          if (c.dtype() == DType::float32) wrong_type(c, "string or int64");
          if (joined_) {
            used_.resize(c.size(), 0);
            for (size_t i = 0; i < n; ++i) used_[at(i)] = 1;
          } else if (c.dtype() == DType::int64) {
            ints_.insert(c.ints().begin(), c.ints().end());
          } else {
            strings_.insert(c.strings().begin(), c.strings().end());
          }
          break;
        case FeatureKind::discretization:
          for (size_t i = 0; i < n; ++i) range(number(c, at(i)));
          break;
        case FeatureKind::normalization:
          for (size_t i = 0; i < n; ++i) {
            const double x = number(c, at(i));
            pass == 1 ? normalization_.add_first(x) : normalization_.add_second(x);
          }
          break;
        case FeatureKind::text:
          if (c.dtype() != DType::string)
            fail(ErrorKind::invalid_argument, "column '" + c.name() + "' must be string for a text feature");
          if (joined_) {
            counts_.resize(c.size(), 0);
            for (size_t i = 0; i < n; ++i) ++counts_[at(i)];
          } else {
            for (size_t i = 0; i < n; ++i) tokens_.add(c.strings()[i]);
          }
          break;
        case FeatureKind::multi_value_lookup:
          // The vocabulary depends only on the distinct cells (StringLookup::fit sorts the
          // distinct values), so keeping the cells seen gives the in-memory fit.
          if (c.dtype() != DType::string)
            fail(ErrorKind::invalid_argument,
                 "column '" + c.name() + "' must be string for a multi_value_lookup feature (values joined by '" +
                     std::string(1, spec_.separator) + "')");
          if (joined_) {
            used_.resize(c.size(), 0);
            for (size_t i = 0; i < n; ++i) used_[at(i)] = 1;
          } else {
            strings_.insert(c.strings().begin(), c.strings().end());
          }
          break;
        case FeatureKind::hashing:
          break;
      }
    } catch (const Error& e) {
      fail(e.kind(), "feature '" + spec_.name + "': " + e.what());
    }
  }

  void install(const Table& catalogue) {
    try {
      switch (spec_.kind) {
        case FeatureKind::string_lookup:
          encoder_.set_fitted(StringLookup::fit(vocabulary(catalogue)));
          break;
        case FeatureKind::discretization:
          if (!seen_) fail(ErrorKind::invalid_argument, "Discretization::fit_linspace: no values");
          encoder_.set_fitted(
              Discretization::from_boundaries(Discretization::linspace(lo_, hi_, spec_.num_boundaries)));
          break;
        case FeatureKind::normalization:
          encoder_.set_fitted(normalization_.finish());
          break;
        case FeatureKind::text:
          if (joined_) {
            const auto& texts = catalogue.column(spec_.column).strings();
            for (size_t r = 0; r < counts_.size(); ++r)
              if (counts_[r]) tokens_.add(texts[r], counts_[r]);
          }
          encoder_.set_fitted(tokens_.fit(spec_.max_tokens));
          break;
        case FeatureKind::multi_value_lookup: {
          const std::vector<std::string> cells = vocabulary(catalogue);
          encoder_.set_fitted(MultiValueLookup::fit(cells, spec_.separator));
          break;
        }
        case FeatureKind::hashing:
          break;
      }
    } catch (const Error& e) {
      fail(e.kind(), "feature '" + spec_.name + "': " + e.what());
    }
  }

 private:
  [[noreturn]] static void wrong_type(const Column& c, const char* expected) {
    fail(ErrorKind::invalid_argument,
         "column '" + c.name() + "' has type " + dtype_name(c.dtype()) + "; expected " + expected);
  }
  static double number(const Column& c, size_t row) {
    if (c.dtype() == DType::int64) return static_cast<double>(c.ints()[row]);
    if (c.dtype() == DType::float32) return c.floats()[row];
    wrong_type(c, "int64 or float32");
  }
  void range(double d) {
    if (!std::isfinite(d)) fail(ErrorKind::invalid_argument, "Discretization::fit_linspace: values must be finite");
    if (!seen_) lo_ = hi_ = d;
    lo_ = std::min(lo_, d);
    hi_ = std::max(hi_, d);
    seen_ = true;
  }
  // The distinct values seen, as text (StringLookup::fit sorts them).
  std::vector<std::string> vocabulary(const Table& catalogue) const {
    std::vector<std::string> out;
    std::vector<int64_t> ints(ints_.begin(), ints_.end());
    if (joined_) {
      const Column& c = catalogue.column(spec_.column);
      for (size_t r = 0; r < used_.size(); ++r)
        if (used_[r]) c.dtype() == DType::int64 ? ints.push_back(c.ints()[r]) : out.push_back(c.strings()[r]);
    }
    for (int64_t v : ints) out.push_back(std::to_string(v));
    out.insert(out.end(), strings_.begin(), strings_.end());
    return out;
  }

  FeatureEncoder& encoder_;
  const FeatureSpec& spec_;
  bool joined_;
  std::unordered_set<int64_t> ints_;
  std::unordered_set<std::string> strings_;
  std::vector<char> used_;        // joined: catalogue rows seen
  std::vector<uint64_t> counts_;  // joined text: rows per catalogue row
  TokenCounter tokens_;
  NormalizationFit normalization_;
  double lo_ = 0, hi_ = 0;
  bool seen_ = false;
};

template <class F>
void for_each_chunk(const ColumnarFile& file, const std::vector<std::string>& columns, size_t chunk_rows, F&& f) {
  for (uint64_t a = 0; a < file.num_rows(); a += chunk_rows) {
    const uint64_t e = std::min<uint64_t>(file.num_rows(), a + chunk_rows);
    f(a, file.read_rows(a, e, columns));
    file.release_rows(a, e);
  }
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

void fit_preprocessing_streamed(TwoTowerModel& model, const ColumnarFile& file, const std::vector<std::string>& columns,
                                const Table& catalogue, size_t chunk_rows, const ChunkVisitor& visit) {
  if (chunk_rows == 0) fail(ErrorKind::invalid_argument, "fit_preprocessing_streamed: chunk_rows must be positive");
  const ModelSpec& spec = model.spec();
  // A zero-row table with the interactions' columns (and the joined catalogue columns) lets the
  // features that read no rows fit as in memory, with the same checks.
  Table schema = file.read_rows(0, 0, columns);
  const bool joined = reads_catalogue(spec, schema);
  std::vector<std::string> joined_columns_needed;
  if (joined)
    for (const auto& f : spec.candidate.features)
      if (!schema.has(f.column)) joined_columns_needed.push_back(f.column);
  for (const auto& name : joined_columns_needed)
    if (!schema.has(name)) schema.add(catalogue.column(name).take({}));

  std::vector<FeatureFitter> fitters;
  for (Tower* tower : {&model.query(), &model.candidate()})
    for (FeatureEncoder& e : tower->encoders()) {
      if (FeatureFitter::needs_rows(e.spec()))
        fitters.emplace_back(e, joined && tower == &model.candidate());
      else
        e.fit(schema, catalogue);
    }
  bool second = false;
  for (const auto& f : fitters) second = second || f.second_pass();

  const std::string& id = spec.candidate_id_column;
  auto join = [&](uint64_t first, const Table& rows) {
    if (!joined) return std::vector<uint32_t>();
    CatalogueJoin j =
        join_catalogue(rows, catalogue, id, [](size_t r) { return "candidates row " + std::to_string(r); });
    if (j.missing)
      fail(ErrorKind::parse, describe_table_file_row(file.source(), first + j.first_missing) + ": candidate id " +
                                 id_for_message(rows, id, j.first_missing) + " (column '" + id +
                                 "') is not in the catalogue (streaming training needs every id there; " +
                                 std::to_string(j.missing) + " rows of this chunk lack theirs)");
    return std::move(j.catalogue_row);
  };
  for_each_chunk(file, columns, chunk_rows, [&](uint64_t first, const Table& rows) {
    const std::vector<uint32_t> at = join(first, rows);
    for (auto& f : fitters) f.add(rows, at, catalogue, 1);
    if (visit) visit(first, rows, at);
  });
  if (second)
    for_each_chunk(file, columns, chunk_rows, [&](uint64_t first, const Table& rows) {
      const std::vector<uint32_t> at = join(first, rows);
      for (auto& f : fitters)
        if (f.second_pass()) f.add(rows, at, catalogue, 2);
    });
  for (auto& f : fitters) f.install(catalogue);
}

std::vector<std::string> checked_interaction_columns(const ModelSpec& spec, const ColumnarFile& file,
                                                     const Table& catalogue, bool* joined) {
  std::vector<std::string> header;
  for (const auto& c : file.columns()) header.push_back(c.name);
  std::vector<std::pair<std::string, DType>> typed;
  for (const ColumnSpec& c : interaction_columns(spec, header, joined)) typed.emplace_back(c.name, c.type);
  std::vector<std::string> columns = file.expect_types(typed);
  const std::string& id = spec.candidate_id_column;
  const std::string from = " (" + file.source() + ")";
  if (catalogue.num_rows() == 0)
    fail(ErrorKind::invalid_argument, "the candidate catalogue has no rows" + from + ": nothing to retrieve");
  if (file.num_rows() == 0)
    fail(ErrorKind::invalid_argument, "the interactions have no rows" + from + ": nothing to train on");
  if (!catalogue.has(id))
    fail(ErrorKind::invalid_argument, "the candidate catalogue has no column '" + id + "' (candidate_tower.id_column)");
  return columns;
}

std::string columnar_fingerprint(const ColumnarFile& file) { return "ttc-" + hex64(file.content_checksum()); }

FitResult fit_streamed(const ModelSpec& spec, const std::string& interactions_path, const Table& catalogue,
                       const TrainOptions& options, const StreamOptions& stream) {
  check_train_options(options);
  if (options.exchange || options.order_ranks != 1)
    fail(ErrorKind::invalid_argument, "streaming training runs in one process, without --order-ranks");
  // Not implemented: the refit would have to stream the held-out validation rows with the training rows.
  if (spec.training.refit_after_validation)
    fail(ErrorKind::invalid_argument,
         "training.refit_after_validation is not supported with streaming training: train in memory, or refit "
         "by hand (data.validation_rows 0 and training.epochs set to the epoch early stopping kept)");
  // Not implemented: each row's history needs every earlier row of its user, not a window.
  if (!spec.data.history.column.empty())
    fail(ErrorKind::invalid_argument, "data.history is not supported with streaming training: train in memory");
  if (stream.memory_limit_bytes == 0 && stream.shuffle_buffer_rows < spec.training.batch_size)
    fail(ErrorKind::invalid_argument, "the shuffle buffer of " + std::to_string(stream.shuffle_buffer_rows) +
                                          " rows must hold at least one batch (training.batch_size " +
                                          std::to_string(spec.training.batch_size) + ")");
  const ColumnarFile file = ColumnarFile::open(interactions_path);
  bool joined = false;
  const std::vector<std::string> columns = checked_interaction_columns(spec, file, catalogue, &joined);
  const std::string& id = spec.candidate_id_column;
  const HeldOutRows held = select_held_out(file.num_rows(), spec.data);

  // One pass fits the preprocessing and keeps the held-out rows, the training rows' candidate
  // counts and (interactions not joined) the count of ids missing from the catalogue.
  TwoTowerModel model(spec);
  Table test, validation;
  CandidateCounts counts;
  std::unordered_set<std::string> known;
  for (const std::string& k : candidate_keys(catalogue, id)) known.insert(k);
  size_t unknown = 0;
  std::string first_unknown;
  auto append = [](Table& to, const Table& rows, const std::vector<size_t>& take) {
    if (take.empty()) return;
    Table part = rows.take(take);
    if (to.num_rows() == 0)
      to = std::move(part);
    else
      to.append(part);
  };
  const uint64_t limit = stream.memory_limit_bytes;
  if (limit && stream.shuffle_buffer_rows && stream.shuffle_buffer_rows < spec.training.batch_size)
    fail(ErrorKind::invalid_argument, "the shuffle buffer of " + std::to_string(stream.shuffle_buffer_rows) +
                                          " rows must hold at least one batch (training.batch_size " +
                                          std::to_string(spec.training.batch_size) + ")");
  const size_t chunk =
      stream.chunk_rows ? stream.chunk_rows
      : limit ? plan_chunk_rows(limit, file, columns, uint64_t{spec.data.test_rows} + spec.data.validation_rows)
              : stream.shuffle_buffer_rows;
  fit_preprocessing_streamed(model, file, columns, catalogue, chunk,
                             [&](uint64_t first, const Table& rows, const std::vector<uint32_t>&) {
                               std::vector<size_t> test_rows, validation_rows;
                               const std::vector<std::string> keys = candidate_keys(rows, id);
                               for (size_t i = 0; i < rows.num_rows(); ++i) {
                                 const uint64_t r = first + i;
                                 if (std::binary_search(held.test.begin(), held.test.end(), r)) {
                                   test_rows.push_back(i);
                                 } else if (std::binary_search(held.validation.begin(), held.validation.end(), r)) {
                                   validation_rows.push_back(i);
                                 } else {
                                   ++counts.count[keys[i]];
                                   ++counts.total;
                                 }
                                 if (!joined && !known.count(keys[i]) && unknown++ == 0) first_unknown = keys[i];
                               }
                               append(test, rows, test_rows);
                               append(validation, rows, validation_rows);
                             });
  FitResult out;
  out.warnings = weigh_unknown_candidates(spec, file.num_rows(), unknown, first_unknown);
  out.train_rows = held.train_rows;
  out.test_rows = test.num_rows();
  out.validation_rows = validation.num_rows();
  model.initialize(spec.training.seed);

  // Under a memory limit, what the fixed part leaves sizes the shuffle buffer.
  size_t buffer = stream.shuffle_buffer_rows;
  if (limit) {
    const MemoryPlan plan =
        plan_stream_memory(limit, model, file, columns, catalogue, test, validation, held.train_rows, options.threads);
    if (stream.plan) *stream.plan = plan;
    check_plan(plan, spec.training.batch_size, buffer);
    if (buffer == 0) buffer = plan.buffer_rows;
  }
  ColumnarRowStream rows(file, columns, held, buffer);
  out.training = train_streamed(model, rows, counts, validation, test, catalogue, options);
  out.model = std::make_unique<RetrievalModel>(std::move(model));
  ThreadPool pool(options.threads);
  out.model->build_index(catalogue, pool, &test);
  out.model->optimizer_state() = out.training.optimizer_state;
  record_training_metadata(*out.model, interactions_path,
                           columnar_fingerprint(file) + "-" + table_fingerprint(catalogue), options, out.training, 0);
  return out;
}

}  // namespace tt
