#include "model/stream_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "base/error.h"
#include "base/parallel.h"
#include "model/candidate_inputs.h"
#include "model/evaluation.h"
#include "model/trainer.h"

namespace tt {

namespace {

constexpr size_t kSampleRows = 4096;        // rows read to measure a row's bytes
constexpr size_t kMaxChunkRows = 1u << 16;  // larger preprocessing chunks read no faster
constexpr size_t kScoreBlock = 256;         // evaluation: queries per task (model/evaluation.cpp)
constexpr size_t kScoreColumns = 16384;     // evaluation: catalogue columns scored at once

// A heap allocation of `bytes` as glibc's malloc takes it: 8 bytes of header, 16-byte steps,
// 32 at least.
uint64_t malloc_bytes(uint64_t bytes) { return std::max<uint64_t>(32, (bytes + 8 + 15) / 16 * 16); }

template <class T>
uint64_t vector_bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

// Bytes per row of `t` (at least 1).
uint64_t per_row(uint64_t bytes, size_t rows) {
  return std::max<uint64_t>(1, (bytes + rows - 1) / std::max<size_t>(1, rows));
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// The mapped bytes of one block of each column read (a block is checked whole when first read)
// and of the string columns' dictionaries (mapped as their values are read, kept).
uint64_t mapped_bytes(const ColumnarFile& file, const std::vector<std::string>& columns) {
  uint64_t out = 0;
  for (const auto& name : columns) {
    const ColumnarColumn& c = file.column(name);
    out += uint64_t{file.block_rows()} * (c.type == DType::int64 ? 8 : 4);
    if (c.type == DType::string) out += c.dictionary_size;
  }
  return out;
}

uint64_t sample_rows(const ColumnarFile& file) { return std::min<uint64_t>(file.num_rows(), kSampleRows); }

}  // namespace

uint64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t table_bytes(const Table& t) {
  uint64_t out = 0;
  for (const Column& c : t.columns()) {
    switch (c.dtype()) {
      case DType::int64:
        out += vector_bytes(c.ints());
        break;
      case DType::float32:
        out += vector_bytes(c.floats());
        break;
      case DType::string:
        out += vector_bytes(c.strings());
        // Beyond the short-string buffer (15 characters in libstdc++), a string allocates.
        for (const std::string& s : c.strings())
          if (s.capacity() > 15) out += malloc_bytes(s.capacity() + 1);
        break;
    }
  }
  return out;
}

uint64_t encoded_bytes(const EncodedBatch& b) {
  uint64_t out = 0;
  for (const EncodedFeature& f : b.features) out += vector_bytes(f.ids) + vector_bytes(f.values);
  return out;
}

uint64_t read_bytes_per_row(const ColumnarFile& file, const std::vector<std::string>& columns) {
  const uint64_t n = sample_rows(file);
  return per_row(table_bytes(file.read_rows(0, n, columns)), n);
}

size_t plan_chunk_rows(uint64_t limit, const ColumnarFile& file, const std::vector<std::string>& columns,
                       uint64_t held_out_rows) {
  const uint64_t row = read_bytes_per_row(file, columns);
  // A chunk is read (a copy taken of its held-out rows) and each row's id is made a key string.
  const uint64_t chunk_row = 2 * row + 40;
  const uint64_t fixed = resident_bytes() + held_out_rows * row + mapped_bytes(file, columns);
  const uint64_t one_block = chunk_row * std::min<uint64_t>(file.block_rows(), file.num_rows());
  if (fixed + one_block > limit)
    fail(ErrorKind::invalid_argument,
         "the memory limit of " + mib(limit) + " cannot hold the preprocessing pass over " + file.source() + ": " +
             mib(fixed) + " are resident or held (the process, the catalogue, " + std::to_string(held_out_rows) +
             " held-out rows, mapped blocks) and one block of rows needs " + mib(one_block));
  return static_cast<size_t>(std::min<uint64_t>({kMaxChunkRows, (limit - fixed) / chunk_row, file.num_rows()}));
}

MemoryPlan plan_stream_memory(uint64_t limit, const TwoTowerModel& model, const ColumnarFile& file,
                              const std::vector<std::string>& columns, const Table& catalogue, const Table& test,
                              const Table& validation, uint64_t train_rows, int threads) {
  const ModelSpec& spec = model.spec();
  const TaskSpec& task = spec.task;
  const size_t batch = spec.training.batch_size;
  const uint64_t n_cat = catalogue.num_rows(), dim = model.embedding_dim();
  const uint64_t n_threads = static_cast<uint64_t>(threads > 0 ? threads : hardware_threads());
  MemoryPlan p;
  p.limit = limit;
  p.resident = resident_bytes();

  // Optimizer: its slots, their serialised copy in the result and the model's copy of that at
  // the end; early stopping keeps a copy of the weights.
  uint64_t params = 0;
  for (const Parameter* q : model.parameters()) params += q->value.size() * sizeof(float);
  const std::string& kind = spec.training.optimizer.kind;
  const uint64_t slots = kind == "adam" ? 2 : kind == "adagrad" ? 1 : spec.training.optimizer.momentum > 0 ? 1 : 0;
  p.optimizer = params * slots + (spec.training.patience > 0 && spec.data.validation_rows > 0 ? params : 0);

  // The evaluation sets, as the trainer builds them (the catalogue part of each counted below).
  uint64_t eval_catalogue = 0;
  for (const Table* rows : {&test, &validation}) {
    if (rows->num_rows() == 0) continue;
    const Table sample = evaluation_sample(*rows, spec.eval.sample_rows, spec.eval.sample_seed);
    const EvalSet set = make_eval_set(model, sample, catalogue, spec.eval.distinct_candidates);
    p.held_out += table_bytes(sample) + encoded_bytes(set.queries) + encoded_bytes(set.positives);
    eval_catalogue += encoded_bytes(set.catalogue);
  }

  // A sample of the training rows, read and encoded as a window is.
  const uint64_t n = sample_rows(file);
  const Table rows = file.read_rows(0, n, columns);
  const bool joined = reads_catalogue(spec, rows);
  const uint64_t row = per_row(table_bytes(rows), n);
  uint64_t encoded = encoded_bytes(model.query().encode(rows));
  if (!joined) encoded += encoded_bytes(model.candidate().encode(rows));
  const uint64_t encoded_row = per_row(encoded, n);
  const bool grouping = task.loss.num_hard_negatives == 0;
  const bool coded = task.loss.remove_accidental_hits || task.sampling_estimate != SamplingEstimate::none;
  // Per row: the order (8), the catalogue row or id code (4), weight and probability (4 each),
  // the counts' key string (when estimating from counts), and the grouping: a group per row
  // (4) and, not joined, a hashed key per distinct candidate row (at most one per row).
  p.per_row = row + encoded_row + 8 + 4 + 4 + 4 + (coded ? 4 : 0) +
              (task.sampling_estimate == SamplingEstimate::counts ? 40 : 0) +
              (grouping ? 8 + (joined ? 0 : malloc_bytes(encoded_row + 4) + 64) : 0);

  // The catalogue encoded for training (joined or with uniform negatives), its id codes and
  // grouping keys, each evaluation set's copy.
  const uint64_t cat_encoded = encoded_bytes(model.candidate().encode(catalogue));
  p.catalogue = cat_encoded + eval_catalogue + n_cat * (4 + 8 + (grouping ? 4 + malloc_bytes(32) + 64 : 0));

  // One batch: each tower's inputs gathered, its activations and their gradients, the logits
  // against in-batch, uniform and hard negatives with their softmax and gradient; the blocks
  // being read.
  uint64_t widths = 0;
  for (const Tower* t : {&model.query(), &model.candidate()}) {
    widths += t->input_dim();
    for (size_t w : t->spec().layers) widths += w;
  }
  const uint64_t negatives = batch + task.uniform_negatives + task.loss.num_hard_negatives;
  p.workspace = batch * (encoded_row + 4 * widths * 4 + 3 * dim * sizeof(float)) +
                3 * uint64_t{batch} * negatives * sizeof(float) + mapped_bytes(file, columns) +
                2 * uint64_t{std::min<uint64_t>(file.block_rows(), train_rows)} * row;
  // After an epoch's rows (the buffer is empty then): the evaluation embeds the catalogue and
  // scores a block of queries per thread; at the end the optimizer state is saved twice (the
  // result's copy and the model's) and the index embeds the catalogue (with a partitioned
  // index's copy and assignments).
  // Embedding the catalogue holds every layer's output for all its rows at once.
  uint64_t candidate_widths = model.candidate().input_dim();
  for (size_t w : model.candidate().spec().layers) candidate_widths += w;
  const uint64_t embeddings = n_cat * dim * sizeof(float), embedding = n_cat * candidate_widths * sizeof(float);
  const uint64_t evaluation =
      embeddings + embedding +
      n_threads * kScoreBlock * (std::min<uint64_t>(n_cat, kScoreColumns) + 4 * widths) * sizeof(float);
  p.after = std::max(evaluation, 2 * params * slots + cat_encoded + embedding + 2 * embeddings + n_cat * 16);

  if (p.fixed() < p.usable())
    p.buffer_rows = static_cast<size_t>(std::min<uint64_t>(train_rows, (p.usable() - p.fixed()) / p.per_row));
  return p;
}

std::string MemoryPlan::describe() const {
  return "limit " + mib(limit) + " (5% kept free) = fixed " + mib(fixed()) + " (resident " + mib(resident) +
         ", optimizer " + mib(optimizer) + ", catalogue " + mib(catalogue) + ", held-out rows " + mib(held_out) +
         ", workspace " + mib(workspace) + ", evaluation and index " + mib(after) + ") + a buffer of " +
         std::to_string(buffer_rows) + " rows x " + std::to_string(per_row) + " bytes";
}

void check_plan(const MemoryPlan& p, size_t batch_size, size_t buffer_rows) {
  const size_t need = std::max(batch_size, buffer_rows);
  if (p.fixed() + need * p.per_row <= p.usable()) return;
  const std::string what = buffer_rows > batch_size ? "a shuffle buffer of " + std::to_string(buffer_rows) + " rows"
                                                    : "one batch (" + std::to_string(batch_size) + " rows)";
  fail(ErrorKind::invalid_argument,
       "the memory limit of " + mib(p.limit) + " cannot hold the fixed part of streaming training plus " + what +
           " of " + std::to_string(p.per_row) + " bytes per row: " + p.describe() + "; raise the limit to at least " +
           mib((p.fixed() + need * p.per_row) * 20 / 19 + 1));
}

}  // namespace tt
