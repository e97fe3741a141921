// Candidate sampling probabilities without counting: the streaming frequency estimate of Yi et
// al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations"
// (RecSys 2019), used by task.sampling_probability = "streaming".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tt {

// The streaming frequency estimate of Yi et al. (RecSys 2019, algorithm 2): per hash bucket,
// the step a candidate was last seen (A) and a moving average of the steps between sightings
// (B); 1/B estimates how often per batch the candidate occurs. Fixed memory, one pass, so it
// works when the candidates are too many to count; buckets shared by colliding candidates
// overestimate both.
class StreamingFrequency {
 public:
  // buckets >= 1; alpha in (0, 1].
  StreamingFrequency(size_t buckets, float alpha) : last_(buckets, 0), gap_(buckets, 0.0f), alpha_(alpha) {}
  // Records one batch (step numbers start at 1): every occurrence updates its bucket, so a
  // candidate seen m times in a batch pulls its gap towards 1/m.
  void observe(uint64_t step, std::span<const int32_t> codes) {
    for (int32_t c : codes) {
      const size_t h = bucket(c);
      if (last_[h] == 0)
        gap_[h] = static_cast<float>(step);  // first sighting: the steps since the start
      else
        gap_[h] = (1.0f - alpha_) * gap_[h] + alpha_ * static_cast<float>(step - last_[h]);
      last_[h] = step;
    }
  }
  // Expected occurrences per batch (0 if never seen).
  float per_batch(int32_t code) const {
    const float g = gap_[bucket(code)];
    return g > 0.0f ? 1.0f / g : 0.0f;
  }

 private:
  std::vector<uint64_t> last_;
  std::vector<float> gap_;
  float alpha_;
  size_t bucket(int32_t code) const {
    uint64_t z = static_cast<uint64_t>(code) + 0x9e3779b97f4a7c15ull;  // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<size_t>((z ^ (z >> 31)) % last_.size());
  }
};

}  // namespace tt
