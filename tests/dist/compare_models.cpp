// Compares a distributed run's model with the single-process run of the same global batches:
//   compare_models <distributed.tt> <single.tt> <max relative weight difference> <max top-100 difference>
// Every weight must match within the tolerance relative to the model's largest weight
// magnitude (float rounding: the ranks add partial sums in another order than one process;
// relative to each tensor's own scale would fail on tensors whose true gradient is zero, such
// as the candidate tower's output bias under a softmax, which hold rounding noise only),
// and the final top-100 accuracies must be within the given difference. Prints what it measured.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "persist/model_serialization.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_models distributed.tt single.tt max_relative_diff max_top100_diff\n");
    return 2;
  }
  try {
    const tt::RetrievalModel a = tt::load_model(argv[1]);
    const tt::RetrievalModel b = tt::load_model(argv[2]);
    const double weight_tolerance = std::atof(argv[3]), top_tolerance = std::atof(argv[4]);
    const auto pa = a.model().parameters(), pb = b.model().parameters();
    if (pa.size() != pb.size()) {
      std::fprintf(stderr, "the models have %zu and %zu weight tensors\n", pa.size(), pb.size());
      return 1;
    }
    bool ok = true;
    double worst = 0.0, scale = 0.0;
    for (const tt::Parameter* p : pb)
      for (float v : p->value.span()) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    std::printf("largest weight magnitude %.4g\n", scale);
    for (size_t i = 0; i < pa.size(); ++i) {
      const tt::Matrix &x = pa[i]->value, &y = pb[i]->value;
      if (x.size() != y.size() || pa[i]->name != pb[i]->name) {
        std::fprintf(stderr, "tensor %zu: '%s' vs '%s' differ in shape\n", i, pa[i]->name.c_str(), pb[i]->name.c_str());
        return 1;
      }
      double max_diff = 0.0;
      size_t equal = 0;
      for (size_t k = 0; k < x.size(); ++k) {
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(x.data()[k] - y.data()[k])));
        equal += x.data()[k] == y.data()[k];
      }
      const double rel = scale > 0 ? max_diff / scale : max_diff;
      worst = std::max(worst, rel);
      std::printf("%-40s %8zu values  max |diff| %.3g  relative %.3g  bit-equal %.1f%%\n", pa[i]->name.c_str(),
                  x.size(), max_diff, rel, 100.0 * static_cast<double>(equal) / static_cast<double>(x.size()));
      if (!(rel <= weight_tolerance)) ok = false;
    }
    std::printf("largest relative weight difference %.3g (tolerance %.3g)\n", worst, weight_tolerance);
    const auto& ma = a.metadata().metrics;
    const auto& mb = b.metadata().metrics;
    const std::string top100 = "factorized_top_k/top_100_categorical_accuracy";
    if (!ma.count(top100) || !mb.count(top100)) {
      std::fprintf(stderr, "a model has no top-100 accuracy in its metadata (was it evaluated?)\n");
      return 1;
    }
    const double da = ma.at(top100), db = mb.at(top100);
    std::printf("top-100: distributed %.4f, single process %.4f, difference %.4f (tolerance %.4f)\n", da, db,
                std::fabs(da - db), top_tolerance);
    if (!(std::fabs(da - db) <= top_tolerance)) ok = false;
    if (a.metadata().epochs != b.metadata().epochs) {
      std::fprintf(stderr, "epochs differ: %zu vs %zu\n", a.metadata().epochs, b.metadata().epochs);
      ok = false;
    }
    std::printf("%s\n", ok ? "EQUIVALENT" : "NOT EQUIVALENT");
    return ok ? 0 : 1;
  } catch (const tt::Error& e) {
    std::fprintf(stderr, "compare_models: %s\n", e.what());
    return 1;
  }
}
