// The approximate index in the model file (optional section 'ann', kind 7): a round trip gives
// identical answers, a reader that does not know the section skips it and answers exactly,
// a damaged section is refused and named, quantization and index rebuilds keep it.
#include <doctest/doctest.h>

#include <filesystem>

#include "io_test_support.h"
#include "persist/ann_section.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

using namespace tt;
using namespace tt::iotest;

namespace {

RetrievalModel model_with_ann() {
  RetrievalModel m = make_model();
  ThreadPool pool(1);
  PartitionBuildOptions o;
  o.partitions = 4;
  o.seed = 9;
  m.build_ann(o, pool);
  return m;
}

// Top-k ids and scores of the test queries.
std::pair<std::vector<int64_t>, std::vector<float>> answers(const RetrievalModel& m, const SearchOptions& so) {
  Matrix q;
  m.embed_queries(queries(), q);
  std::vector<int64_t> ids(q.rows() * so.k);
  std::vector<float> scores(ids.size());
  ThreadPool pool(2);
  m.index().search(q.data(), q.rows(), so, ids.data(), scores.data(), pool);
  return {ids, scores};
}

SearchOptions approximate(size_t probe) {
  SearchOptions so;
  so.k = 7;
  so.probe = probe;
  so.rescore = 8;
  return so;
}

void relabel(std::vector<SectionData>& s, SectionKind from, uint32_t to) {
  for (auto& d : s)
    if (d.kind == static_cast<uint32_t>(from)) d.kind = to;
}

}  // namespace

TEST_CASE("ann section: save and load give the same approximate index and the same answers") {
  const RetrievalModel m = model_with_ann();
  REQUIRE(m.index().partitions());
  const auto bytes = save_model_to_buffer(m);
  const RetrievalModel back = load_model_from_buffer(bytes, "m.tt");
  REQUIRE(back.index().partitions());
  const PartitionIndex &a = *m.index().partitions(), &b = *back.index().partitions();
  CHECK(a.assignment() == b.assignment());
  CHECK(same_bits(a.centroids(), b.centroids()));
  REQUIRE(a.calibration().size() == b.calibration().size());
  for (size_t i = 0; i < a.calibration().size(); ++i) {
    CHECK(a.calibration()[i].probe == b.calibration()[i].probe);
    CHECK(a.calibration()[i].recall == b.calibration()[i].recall);
  }
  for (size_t probe : {1, 2, 4}) CHECK(answers(m, approximate(probe)) == answers(back, approximate(probe)));
  // The section is listed as optional.
  const ModelInfo info = read_model_info_from_buffer(bytes);
  bool listed = false;
  for (const auto& s : info.sections)
    if (s.name == "ann") listed = !s.required;
  CHECK(listed);
  // Without the approximate index, nothing extra is written.
  const auto plain = model_sections(make_model(), {});
  for (const auto& s : plain) CHECK(s.kind != static_cast<uint32_t>(SectionKind::ann));
}

TEST_CASE("ann section: a reader that does not know it skips it and answers exactly") {
  // A reader predating the section sees an optional kind it does not know: relabelling the
  // section to such a kind gives this reader the same view of the file.
  const RetrievalModel m = model_with_ann();
  auto s = model_sections(m, {});
  relabel(s, SectionKind::ann, 4242);
  const RetrievalModel old_view = load_model_from_buffer(encode_model_file(s, 3), "m.tt");
  CHECK(old_view.index().partitions() == nullptr);
  SearchOptions exact;
  exact.k = 7;
  CHECK(answers(old_view, exact) == answers(m, exact));
  // Asked for approximate search, a model without the approximate index answers exactly.
  CHECK(answers(old_view, approximate(1)) == answers(m, exact));
}

TEST_CASE("ann section: the committed file with the section loads (tests/data/model-v1-ann.tt)") {
  const std::string path = std::string(TT_SOURCE_DIR) + "/tests/data/model-v1-ann.tt";
  const RetrievalModel m = load_model(path);
  REQUIRE(m.index().partitions());
  CHECK(m.index().partitions()->partitions() == 4);
  SearchOptions so = approximate(4);
  so.rescore = m.index().size();
  SearchOptions exact;
  exact.k = 7;
  // Every partition and a shortlist of the whole index: the exact answer.
  CHECK(answers(m, so).first == answers(m, exact).first);
}

TEST_CASE("ann section: damaged or inconsistent contents are refused and named; an unknown method is ignored") {
  const RetrievalModel m = model_with_ann();
  auto with_payload = [&](std::vector<uint8_t> payload) {
    auto s = model_sections(m, {});
    for (auto& d : s)
      if (d.kind == static_cast<uint32_t>(SectionKind::ann)) d.bytes = std::move(payload);
    return encode_model_file(s, 3);
  };
  const std::vector<uint8_t> good = ann_section(m.index());
  // A partition number out of range (the last 4 bytes are the last candidate's partition).
  auto bad = good;
  bad[bad.size() - 4] = 99;
  Thrown t = thrown([&] { (void)load_model_from_buffer(with_payload(bad), "m.tt"); });
  CHECK(t.kind == static_cast<int>(ErrorKind::corrupt));
  CHECK(contains(t.message, "section 'ann'"));
  CHECK(contains(t.message, "partition 99"));
  // Truncated.
  auto cut = good;
  cut.resize(cut.size() - 3);
  t = thrown([&] { (void)load_model_from_buffer(with_payload(cut), "m.tt"); });
  CHECK(t.kind == static_cast<int>(ErrorKind::corrupt));
  CHECK(contains(t.message, "section 'ann'"));
  // A candidate count that does not match the index.
  auto count = good;
  count[8] ^= 1;
  t = thrown([&] { (void)load_model_from_buffer(with_payload(count), "m.tt"); });
  CHECK(t.kind == static_cast<int>(ErrorKind::corrupt));
  CHECK(contains(t.message, "the index holds"));
  // A method this reader does not know: loaded without the approximate index.
  auto newer = good;
  newer[0] = 2;
  const RetrievalModel back = load_model_from_buffer(with_payload(newer), "m.tt");
  CHECK(back.index().partitions() == nullptr);
}

TEST_CASE("ann section: quantizing the index and rebuilding it keep an approximate index") {
  RetrievalModel m = model_with_ann();
  const auto assignment = m.index().partitions()->assignment();
  quantize_model(m, Precision::int8, std::nullopt);
  REQUIRE(m.index().partitions());
  CHECK(m.index().partitions()->assignment() == assignment);
  const RetrievalModel back = load_model_from_buffer(save_model_to_buffer(m), "m.tt");
  CHECK(answers(m, approximate(2)) == answers(back, approximate(2)));
  ThreadPool pool(1);
  m.build_index(catalogue(), pool);
  CHECK(m.index().partitions() != nullptr);
  m.drop_ann();
  CHECK(m.index().partitions() == nullptr);
  m.build_index(catalogue(), pool);
  CHECK(m.index().partitions() == nullptr);
  // A small catalogue gets no approximate index unless asked.
  CHECK(make_model().index().partitions() == nullptr);
}
