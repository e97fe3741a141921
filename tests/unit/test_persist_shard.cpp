// Sharded serving: merging the top-k lists of an index's contiguous slices (index/topk_merge.h)
// gives bit for bit the whole index's answer for searches of up to kFloatScanMaxQueries queries
// (float32 and int8 scans, across score blocks and threads, with exact ties across slices), and
// the same scores within float rounding for GEMM batches; shard_model
// (persist/convert.h) keeps the slice and records it, the file keeps it, and a file whose shard
// fields disagree with its index is refused as corrupt.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "base/parallel.h"
#include "base/random.h"
#include "index/candidate_index.h"
#include "index/float_scan.h"
#include "index/topk_merge.h"
#include "io_test_support.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

using namespace tt;
using namespace tt::iotest;

namespace {

// Random rows, the second half a copy of the first: every score is tied exactly with the one
// n / 2 rows on, which lands in another slice.
Matrix tied_rows(size_t n, size_t d, Rng& rng) {
  Matrix m(n, d);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < d; ++c) m.at(r, c) = r < n / 2 ? rng.uniform(-1.0f, 1.0f) : m.at(r - n / 2, c);
  return m;
}

CandidateIndex slice(const CandidateIndex& whole, size_t begin, size_t end) {
  std::vector<std::string> keys(whole.keys().begin() + static_cast<ptrdiff_t>(begin),
                                whole.keys().begin() + static_cast<ptrdiff_t>(end));
  Matrix e(end - begin, whole.dim());
  std::memcpy(e.data(), whole.embeddings().row(begin), e.size() * sizeof(float));
  return CandidateIndex(std::move(keys), std::move(e));
}

}  // namespace

TEST_CASE("shard: merged slices answer exactly as the whole index (blocks, ties, int8, threads; GEMM rounding)") {
  Rng rng(11, 0);
  const size_t n = 10000, d = 16;  // more than one 4,096-candidate score block
  Matrix e = tied_rows(n, d, rng);
  std::vector<std::string> keys(n);
  for (size_t i = 0; i < n; ++i) keys[i] = std::to_string(i);
  for (const Precision scan : {Precision::f32, Precision::int8}) {
    CandidateIndex whole(keys, e);
    whole.set_scan_precision(scan);
    for (const size_t nq : {size_t{1}, size_t{3}, size_t{70}}) {  // scan path; GEMM path, two query blocks
      Matrix q(nq, d);
      for (float& v : q.span()) v = rng.uniform(-1.0f, 1.0f);
      for (const int threads : {1, 2}) {
        ThreadPool pool(threads);
        for (const size_t k : {size_t{1}, size_t{10}, size_t{300}}) {
          SearchOptions so;
          so.k = k;
          std::vector<int64_t> ids(nq * k), merged_ids(nq * k);
          std::vector<float> scores(nq * k), merged_scores(nq * k);
          whole.search(q.data(), nq, so, ids.data(), scores.data(), pool);
          for (const size_t count : {size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
            CAPTURE(scan);
            CAPTURE(nq);
            CAPTURE(threads);
            CAPTURE(k);
            CAPTURE(count);
            std::vector<std::vector<int64_t>> part_ids(count, std::vector<int64_t>(nq * k));
            std::vector<std::vector<float>> part_scores(count, std::vector<float>(nq * k));
            std::vector<const int64_t*> id_lists;
            std::vector<const float*> score_lists;
            for (size_t s = 0; s < count; ++s) {
              const size_t b = ShardInfo::begin(s, count, n), end = ShardInfo::begin(s + 1, count, n);
              CandidateIndex part = slice(whole, b, end);
              part.set_scan_precision(scan);
              part.search(q.data(), nq, so, part_ids[s].data(), part_scores[s].data(), pool);
              for (int64_t& id : part_ids[s])
                if (id >= 0) id += static_cast<int64_t>(b);
              id_lists.push_back(part_ids[s].data());
              score_lists.push_back(part_scores[s].data());
            }
            merge_topk(id_lists, score_lists, nq, k, k, merged_ids.data(), merged_scores.data());
            if (nq <= kFloatScanMaxQueries ||
                (scan != Precision::f32 && nq <= CandidateIndex::kCompactScanMaxQueries)) {
              CHECK(merged_ids == ids);
              CHECK(std::memcmp(merged_scores.data(), scores.data(), scores.size() * sizeof(float)) == 0);
            } else {
              // oneDNN's GEMM rounds a score by where the candidate falls in its block.
              float worst = 0.0f;
              for (size_t i = 0; i < scores.size(); ++i)
                worst = std::max(worst, std::fabs(scores[i] - merged_scores[i]));
              CHECK(worst <= 1e-5f);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("shard: merge orders by score then id, pads, and refuses overlapping lists, NaN and bad ids") {
  const int64_t a[3] = {7, 3, -1}, b[3] = {2, 9, 5};
  const float sa[3] = {1.0f, 1.0f, -INFINITY}, sb[3] = {1.0f, 4.0f, 0.5f};
  const int64_t* ids[2] = {a, b};
  const float* scores[2] = {sa, sb};
  int64_t out[8];
  float out_scores[8];
  merge_topk(ids, scores, 1, 3, 8, out, out_scores);
  const int64_t expected[8] = {9, 2, 3, 7, 5, -1, -1, -1};
  CHECK(std::equal(out, out + 8, expected));
  CHECK(out_scores[0] == 4.0f);
  CHECK(out_scores[4] == 0.5f);
  CHECK(std::isinf(out_scores[7]));

  const int64_t dup[3] = {3, 3, -1};
  ids[1] = dup;
  out[0] = 42;
  Thrown t = thrown([&] { merge_topk(ids, scores, 1, 3, 2, out, out_scores); });
  CHECK(t.kind == kInvalid);
  CHECK(contains(t.message, "row 0: id 3 is in list 0 and list 1"));
  CHECK(out[0] == 42);
  ids[0] = dup;
  ids[1] = b;
  t = thrown([&] { merge_topk(ids, scores, 1, 3, 2, out, out_scores); });
  CHECK(contains(t.message, "id 3 is twice in list 0"));
  const int64_t bad[3] = {-5, 1, 2};
  ids[0] = bad;
  CHECK(contains(thrown([&] { merge_topk(ids, scores, 1, 3, 2, out, out_scores); }).message,
                 "list 0, row 0, slot 0: id -5"));
  ids[0] = a;
  const float nan_scores[3] = {1.0f, NAN, 0.0f};
  scores[1] = nan_scores;
  CHECK(contains(thrown([&] { merge_topk(ids, scores, 1, 3, 2, out, out_scores); }).message,
                 "list 1, row 0, slot 1: the score of id 9 is NaN"));
}

TEST_CASE("shard: shard_model keeps the slice, the file records it, and inconsistent shard fields are corrupt") {
  const RetrievalModel& base = []() -> const RetrievalModel& {
    static const RetrievalModel m = make_model();
    return m;
  }();
  const size_t n = base.index().size();
  REQUIRE(n == 30);
  ThreadPool pool(1);
  RetrievalModel m = load_model_from_buffer(save_model_to_buffer(base));
  shard_model(m, 2, 4, pool);
  const size_t begin = ShardInfo::begin(2, 4, n), end = ShardInfo::begin(3, 4, n);
  CHECK(begin == 15);
  CHECK(end == 22);
  REQUIRE(m.shard());
  CHECK(m.shard()->offset == 15);
  CHECK(m.shard()->catalogue_size == 30);
  CHECK(m.index().size() == 7);
  CHECK(m.index().keys()[0] == base.index().keys()[15]);
  CHECK(std::memcmp(m.index().embeddings().data(), base.index().embeddings().row(15), 7 * m.index().dim() * 4) == 0);

  const RetrievalModel loaded = load_model_from_buffer(save_model_to_buffer(m));
  REQUIRE(loaded.shard());
  CHECK(loaded.shard()->index == 2);
  CHECK(loaded.shard()->count == 4);
  const std::vector<uint8_t> bytes = save_model_to_buffer(m);
  const ModelInfo info = read_model_info_from_buffer(bytes);
  REQUIRE(info.shard);
  CHECK(info.shard->offset == 15);

  // Stripping keeps the shard (it is not training metadata).
  RetrievalModel stripped = load_model_from_buffer(bytes);
  strip_model(stripped);
  CHECK(load_model_from_buffer(save_model_to_buffer(stripped)).shard().has_value());

  // Refusals leave the model as it was.
  CHECK(contains(thrown([&] { shard_model(m, 0, 2, pool); }).message, "already shard 2 of 4"));
  RetrievalModel whole = load_model_from_buffer(save_model_to_buffer(base));
  CHECK(contains(thrown([&] { shard_model(whole, 0, 31, pool); }).message, "shard count is 31; it must be 1..30"));
  CHECK(contains(thrown([&] { shard_model(whole, 4, 4, pool); }).message, "shard index 4 of 4 shards"));
  PartitionBuildOptions too_many;
  too_many.partitions = 9;
  CHECK(contains(thrown([&] { shard_model(whole, 2, 4, pool, &too_many); }).message,
                 "9 partitions for the 7 candidates of shard 2"));
  CHECK(whole.index().size() == 30);
  CHECK(!whole.shard());

  // An approximate index is rebuilt over the slice.
  PartitionBuildOptions ann;
  ann.partitions = 4;
  whole.build_ann(ann, pool);
  shard_model(whole, 0, 2, pool);
  REQUIRE(whole.index().partitions());
  CHECK(whole.index().partitions()->size() == 15);

  // Shard fields that disagree with the index are refused when the file is read.
  RetrievalModel bad = load_model_from_buffer(save_model_to_buffer(m));
  bad.set_shard(ShardInfo{1, 4, 15, 30});  // shard 1 of 4 starts at row 7
  Thrown t = thrown([&] { (void)load_model_from_buffer(save_model_to_buffer(bad)); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "shard 1 of 4 of a catalogue of 30 holds rows [7, 15), not offset 15 with 7 candidates"));
  bad.set_shard(ShardInfo{4, 4, 0, 30});
  CHECK(contains(thrown([&] { (void)load_model_from_buffer(save_model_to_buffer(bad)); }).message,
                 "shard 4 of 4 (count must be 1..65536, index below it)"));
  // A whole model rebuilt from a catalogue is no longer a shard.
  RetrievalModel rebuilt = load_model_from_buffer(save_model_to_buffer(m));
  rebuilt.build_index(catalogue(), pool);
  CHECK(!rebuilt.shard());
}
