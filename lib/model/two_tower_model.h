// The model: a spec, a query tower and a candidate tower.
#pragma once

#include "model/spec.h"
#include "model/tower.h"

namespace tt {

class TwoTowerModel {
 public:
  explicit TwoTowerModel(ModelSpec spec);

  const ModelSpec& spec() const { return spec_; }
  Tower& query() { return query_; }
  Tower& candidate() { return candidate_; }
  const Tower& query() const { return query_; }
  const Tower& candidate() const { return candidate_; }

  // Fits every feature's preprocessing (each on the table its spec names), then builds the
  // weights and draws their initial values from `seed`.
  void fit_preprocessing(const Table& interactions, const Table& candidates);
  void initialize(uint64_t seed);
  // Builds the weights the fitted preprocessing implies, zero-filled (for loading saved ones).
  void allocate();
  // Every weight's name and shape, query tower then candidate tower (parameters() order),
  // without allocating anything.
  std::vector<ParameterShape> parameter_shapes() const;
  // invalid_argument naming the largest tensor when training the weights could not fit in this
  // machine's memory (initialize checks it before allocating).
  void check_parameter_memory() const;
  bool ready() const { return query_.built() && candidate_.built(); }

  size_t embedding_dim() const { return query_.output_dim(); }
  std::vector<Parameter*> parameters();
  std::vector<const Parameter*> parameters() const;
  size_t parameter_count() const;

  // A multi-line summary of every fitted transform and the layer shapes.
  std::string describe() const;

 private:
  ModelSpec spec_;
  Tower query_;
  Tower candidate_;
};

}  // namespace tt
