// The standalone vector index (index/vector_index.h) and its file (persist/vector_index_file.h):
// a model file with only an index section (and ann) that round-trips keys, precision and the
// approximate index; a model file's index read as a vector index (text keys become row
// numbers, kept as names); and what the model loader says about an index file.
#include <doctest/doctest.h>

#include <limits>

#include "io_test_support.h"
#include "persist/model_serialization.h"
#include "persist/vector_index_file.h"

using namespace tt;
using namespace tt::iotest;

namespace {

std::vector<float> rows(size_t n, size_t d, uint64_t seed) {
  Rng rng(seed, 1);
  std::vector<float> x(n * d);
  for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
  return x;
}

std::pair<std::vector<int64_t>, std::vector<float>> top(const VectorIndex& index, const std::vector<float>& q,
                                                        const SearchOptions& so) {
  const size_t n = q.size() / index.dim();
  std::vector<int64_t> keys(n * so.k);
  std::vector<float> scores(keys.size());
  ThreadPool pool(2);
  index.search(q.data(), n, so, keys.data(), scores.data(), pool);
  return {keys, scores};
}

}  // namespace

TEST_CASE("vector index: keys, precision and the approximate index survive a file") {
  ThreadPool pool(1);
  const size_t d = 6;
  const auto x = rows(120, d, 1), q = rows(3, d, 2);
  std::vector<int64_t> keys(120);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = INT64_MIN + 5 * static_cast<int64_t>(i);
  for (Precision p : {Precision::f32, Precision::bf16, Precision::fp16, Precision::int8}) {
    CAPTURE(precision_name(p));
    VectorIndex index(d, p);
    index.add(x.data(), 120, keys.data(), pool);
    PartitionBuildOptions o;
    o.partitions = 6;
    index.build_ann(o, nullptr, pool);
    const auto bytes = save_vector_index_to_buffer(index, 3);
    const VectorIndex back = load_vector_index_from_buffer(bytes, "idx.tt");
    CHECK(back.precision() == p);
    CHECK(back.keys() == index.keys());
    CHECK(!back.positional_keys());
    REQUIRE(back.index().partitions());
    CHECK(back.index().partitions()->partitions() == 6);
    CHECK(same_bits(back.index().embeddings(), index.index().embeddings()));
    SearchOptions so;
    so.k = 7;
    CHECK(top(back, q, so) == top(index, q, so));
    so.probe = 2;
    CHECK(top(back, q, so) == top(index, q, so));
    // Only the index sections: the model loader refuses it, naming the index loader.
    const Thrown t = thrown([&] { load_model_from_buffer(bytes, "idx.tt"); });
    CHECK(t.kind == kInvalid);
    CHECK(contains(t.message, "idx.tt: a vector index file"));
  }
}

TEST_CASE("vector index: a model file's index, keyed by text, is keyed by row number") {
  const RetrievalModel m = make_model();  // keys are movie titles
  const auto bytes = save_model_to_buffer(m);
  VectorIndex index = load_vector_index_from_buffer(bytes, "model.tt");
  CHECK(index.positional_keys());
  REQUIRE(index.size() == m.index().size());
  CHECK(index.keys().front() == 0);
  CHECK(index.keys().back() == static_cast<int64_t>(m.index().size()) - 1);
  // Same answers as the model's own index (positions are its candidate ids).
  Matrix q;
  m.embed_queries(queries(), q);
  SearchOptions so;
  so.k = 5;
  std::vector<int64_t> ids(q.rows() * so.k);
  std::vector<float> scores(ids.size());
  ThreadPool pool(1);
  m.index().search(q.data(), q.rows(), so, ids.data(), scores.data(), pool);
  CHECK(top(index, std::vector<float>(q.data(), q.data() + q.size()), so) == std::make_pair(ids, scores));
  // Keys given to such an index would not survive a reload: refused; rows without keys are fine.
  const auto extra = rows(2, index.dim(), 3);
  const int64_t k2[2] = {7, 8};
  const Thrown t = thrown([&] { index.add(extra.data(), 2, k2, pool); });
  CHECK(t.kind == kInvalid);
  CHECK(contains(t.message, "add vectors to it without keys"));
  index.add(extra.data(), 2, nullptr, pool);
  const VectorIndex back = load_vector_index_from_buffer(save_vector_index_to_buffer(index, 1), "again.tt");
  CHECK(back.positional_keys());
  CHECK(back.keys() == index.keys());
  CHECK(back.index().keys() == index.index().keys());  // the titles stay as names
}

TEST_CASE("vector index: bad input") {
  ThreadPool pool(1);
  CHECK(thrown([] { VectorIndex(0, Precision::f32); }).kind == kInvalid);
  CHECK(thrown([] { VectorIndex(VectorIndex::kMaxDim + 1, Precision::f32); }).kind == kInvalid);
  VectorIndex index(3, Precision::f32);
  const float nan_row[3] = {0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
  Thrown t = thrown([&] { index.add(nan_row, 1, nullptr, pool); });
  CHECK(contains(t.message, "vectors: row 0, column 1 is NaN"));
  CHECK(index.size() == 0);
  const float ok[3] = {1, 2, 3};
  const int64_t minus_one = -1;
  t = thrown([&] { index.add(ok, 1, &minus_one, pool); });
  CHECK(contains(t.message, "keys[0] is -1"));
  t = thrown([&] { index.build_ann({}, nullptr, pool); });
  CHECK(contains(t.message, "add some first"));
  // A file whose index section is damaged is refused as corrupt, naming the section.
  index.add(ok, 1, nullptr, pool);
  auto bytes = save_vector_index_to_buffer(index, 0);
  bytes[bytes.size() - 5] ^= 0x40;
  t = thrown([&] { load_vector_index_from_buffer(bytes, "bad.tt"); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "bad.tt: section 'index'"));
}
