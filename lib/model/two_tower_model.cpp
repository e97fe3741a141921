#include "model/two_tower_model.h"

#include <sstream>

#include "base/error.h"

namespace tt {

TwoTowerModel::TwoTowerModel(ModelSpec spec)
    : spec_(std::move(spec)), query_("query", spec_.query), candidate_("candidate", spec_.candidate) {}

void TwoTowerModel::fit_preprocessing(const Table& interactions, const Table& candidates) {
  query_.fit(interactions, candidates);
  candidate_.fit(interactions, candidates);
}

void TwoTowerModel::initialize(uint64_t seed) {
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
