// One-call forms of the engine's phased training step (Tower::start_step .. finish_backward,
// Optimizer::prepare .. update), for tests that check a tower or an optimizer on its own. The
// engine itself only ever runs the phases (model/trainer.cpp), so these live with the tests.
#pragma once

#include <vector>

#include "model/tower.h"
#include "nn/optimizer.h"

namespace tt {

// The tower's training forward pass over the whole batch as one share.
inline const Matrix& forward_whole(Tower& tower, const EncodedBatch& batch, TowerActivations& act) {
  tower.start_step(batch.rows, 1, act);
  tower.forward_rows(batch, act, 0, batch.rows);
  return tower.train_output(act);
}

// d_out: dL/d(tower output) for the batch of forward_whole; accumulates every parameter's gradient.
inline void backward_whole(Tower& tower, const EncodedBatch& batch, TowerActivations& act, const Matrix& d_out) {
  Matrix d = d_out;
  tower.backward_rows(act, d, 0, 0, batch.rows);
  tower.finish_backward(batch, act);
}

// One optimizer step on every parameter from its gradient (which it then clears).
inline void optimizer_step(Optimizer& optimizer, std::vector<Parameter*>& params) {
  optimizer.prepare(params);
  optimizer.begin_step();
  optimizer.update(params);
}

}  // namespace tt
