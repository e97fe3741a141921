#include "model/two_tower_model.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "base/checked_math.h"
#include "base/error.h"
#include "model/candidate_inputs.h"

namespace tt {

TwoTowerModel::TwoTowerModel(ModelSpec spec)
    : spec_(std::move(spec)), query_("query", spec_.query), candidate_("candidate", spec_.candidate) {}

void TwoTowerModel::fit_preprocessing(const Table& interactions, const Table& candidates) {
  query_.fit(interactions, candidates);
  if (!reads_catalogue(spec_, interactions)) {
    candidate_.fit(interactions, candidates);
    return;
  }
  // Joined to the catalogue: a candidate feature fitted on the interactions sees, per
  // interaction, its catalogue row's value (what a denormalised file would have held).
  std::vector<std::string> columns;
  for (const auto& f : spec_.candidate.features)
    if (f.fit_on == FitOn::interactions) columns.push_back(f.column);
  Table joined;
  if (!columns.empty()) joined = joined_columns(candidates, catalogue_rows(spec_, interactions, candidates), columns);
  candidate_.fit(joined, candidates);
}

namespace {

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  return std::to_string(bytes) + " bytes (" + buf + ")";
}

uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : UINT64_MAX;
}

}  // namespace

// A spec with huge layers or embedding tables would end in a bare std::bad_alloc inside the
// first allocation, or (with overcommit) in the kernel's OOM killer during training. The bytes
// follow from the shapes, so a model that cannot fit is refused before anything is allocated,
// naming its largest tensor.
void TwoTowerModel::check_parameter_memory() const {
  const std::vector<ParameterShape> shapes = parameter_shapes();
  uint64_t total = 0, largest_bytes = 0;
  const ParameterShape* largest = nullptr;
  for (const ParameterShape& s : shapes) {
    const size_t bytes = checked_mul(checked_mul(s.rows, s.cols, s.name.c_str()), sizeof(float), s.name.c_str());
    total = checked_add(total, bytes, "the model's parameters");
    if (bytes >= largest_bytes) {
      largest_bytes = bytes;
      largest = &s;
    }
  }
  // Training keeps a gradient and the optimizer's state beside every weight (Adam: two slots).
  constexpr uint64_t kTrainingCopies = 4;
  const uint64_t memory = physical_memory_bytes();
  if (largest && total > memory / kTrainingCopies)
    fail(ErrorKind::invalid_argument,
         "the spec's weights need " + format_bytes(total) + ", about " + std::to_string(kTrainingCopies) +
             "x that to train, and this machine has " + format_bytes(memory) + "; the largest tensor is '" +
             largest->name + "' [" + std::to_string(largest->rows) + " x " + std::to_string(largest->cols) +
             "] = " + format_bytes(largest_bytes) + ": make the layers, embedding_dim or vocabularies smaller");
}

void TwoTowerModel::initialize(uint64_t seed) {
  check_parameter_memory();
  // Separate streams per tower, so adding a feature to one tower leaves the other's draws alone.
  Rng q(seed, 1), c(seed, 2);
  query_.build(q);
  candidate_.build(c);
}

void TwoTowerModel::allocate() {
  query_.allocate();
  candidate_.allocate();
}

std::vector<ParameterShape> TwoTowerModel::parameter_shapes() const {
  auto s = query_.parameter_shapes();
  auto c = candidate_.parameter_shapes();
  s.insert(s.end(), c.begin(), c.end());
  return s;
}

std::vector<Parameter*> TwoTowerModel::parameters() {
  auto p = query_.parameters();
  auto c = candidate_.parameters();
  p.insert(p.end(), c.begin(), c.end());
  return p;
}

std::vector<const Parameter*> TwoTowerModel::parameters() const {
  auto p = query_.parameters();
  auto c = candidate_.parameters();
  p.insert(p.end(), c.begin(), c.end());
  return p;
}

size_t TwoTowerModel::parameter_count() const {
  size_t n = 0;
  for (const Parameter* p : parameters()) n += p->value.size();
  return n;
}

std::string TwoTowerModel::describe() const {
  std::ostringstream o;
  for (const Tower* t : {&query_, &candidate_}) {
    o << t->prefix() << " tower: input " << t->input_dim() << " -> layers [";
    for (size_t i = 0; i < t->spec().layers.size(); ++i) o << (i ? ", " : "") << t->spec().layers[i];
    o << "]\n";
    for (const auto& e : t->encoders()) o << "  " << e.describe() << "\n";
  }
  if (ready()) o << "trainable parameters: " << parameter_count() << "\n";
  return o.str();
}

}  // namespace tt
