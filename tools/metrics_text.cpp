// The CLI's metric lines, shared by train and eval: the model's accuracies, the most-popular
// baseline's on the same rows, and a verdict a reader cannot miss.
#include <iomanip>
#include <sstream>

#include "cli.h"

namespace tt::cli {

namespace {

std::string accuracy_line(const std::vector<size_t>& ks, const std::vector<double>& values) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(4);
  for (size_t i = 0; i < ks.size() && i < values.size(); ++i)
    o << (i ? "  " : "") << "top-" << ks[i] << " " << values[i];
  return o.str();
}

}  // namespace

std::string metrics_line(const TopKMetrics& m) { return accuracy_line(m.k, m.accuracy); }

std::string baseline_lines(const TopKMetrics& m) {
  if (m.baseline.empty()) return "";
  std::ostringstream o;
  o << "most popular: " << accuracy_line(m.k, m.baseline) << "  (the training rows' most frequent candidates, "
    << "one list for every query)\n";
  const std::vector<size_t> behind = m.not_beating_baseline();
  if (behind.empty()) {
    o << "summary: the model beats the most-popular baseline at every k\n";
  } else {
    o << "summary: WARNING: the model does not beat the most-popular baseline at top-";
    for (size_t i = 0; i < behind.size(); ++i) o << (i ? ", top-" : "") << behind[i];
    o << "\n";
  }
  return o.str();
}

}  // namespace tt::cli
