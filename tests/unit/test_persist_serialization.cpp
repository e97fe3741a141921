// A RetrievalModel to and from a model file: every float bit-identical after a round trip
// (weights, index, encodings, query embeddings), optimizer state only on request, a
// metadata-only read that never touches the weights, and damaged or crafted files refused
// with the right ErrorKind and a message naming the section and the field.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include "base/bytes.h"
#include "io_test_support.h"
#include "persist/model_serialization.h"

using namespace tt;
using namespace tt::iotest;
namespace fs = std::filesystem;

namespace {

bool same_encoding(const EncodedBatch& a, const EncodedBatch& b) {
  if (a.rows != b.rows || a.features.size() != b.features.size()) return false;
  for (size_t f = 0; f < a.features.size(); ++f) {
    const auto& x = a.features[f];
    const auto& y = b.features[f];
    if (x.ids != y.ids || x.width != y.width || x.values.size() != y.values.size()) return false;
    if (!x.values.empty() && std::memcmp(x.values.data(), y.values.data(), x.values.size() * 4) != 0) return false;
  }
  return true;
}

void check_same(const RetrievalModel& a, const RetrievalModel& b, bool with_optimizer) {
  CHECK(a.model().spec().to_json() == b.model().spec().to_json());
  const auto pa = a.model().parameters();
  const auto pb = b.model().parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i]->name);
    CHECK(pa[i]->name == pb[i]->name);
    CHECK(same_bits(pa[i]->value, pb[i]->value));
  }
  CHECK(a.index().keys() == b.index().keys());
  CHECK(same_bits(a.index().embeddings(), b.index().embeddings()));
  CHECK(b.index().key_position(a.index().keys()[3]) == a.index().key_position(a.index().keys()[3]));

  const Table cat = catalogue();
  const Table q = queries();
  const Table inter = interactions(cat, 50, 99);
  CHECK(same_encoding(a.model().query().encode(q), b.model().query().encode(q)));
  CHECK(same_encoding(a.model().query().encode(inter), b.model().query().encode(inter)));
  CHECK(same_encoding(a.model().candidate().encode(cat), b.model().candidate().encode(cat)));
  Matrix ea, eb;
  a.embed_queries(q, ea);
  b.embed_queries(q, eb);
  CHECK(same_bits(ea, eb));
  a.embed_queries(inter, ea);
  b.embed_queries(inter, eb);
  CHECK(same_bits(ea, eb));
  // Rebuilding the index from the loaded candidate tower gives the stored embeddings.
  RetrievalModel& mb = const_cast<RetrievalModel&>(b);
  const Matrix stored = b.index().embeddings();
  ThreadPool pool(1);
  mb.build_index(cat, pool);
  CHECK(same_bits(stored, b.index().embeddings()));

  const TrainingMetadata& x = a.metadata();
  const TrainingMetadata& y = b.metadata();
  CHECK(x.library_version == y.library_version);
  CHECK(x.data_source == y.data_source);
  CHECK(x.data_fingerprint == y.data_fingerprint);
  CHECK(x.seed == y.seed);
  CHECK(x.epochs == y.epochs);
  CHECK(x.metrics == y.metrics);
  CHECK(x.train_seconds == y.train_seconds);
  CHECK(x.created_unix == y.created_unix);
  if (with_optimizer)
    CHECK(a.optimizer_state() == b.optimizer_state());
  else
    CHECK(b.optimizer_state().empty());
}

// The weights payload, decoded and re-encoded, for crafting damaged files.
struct Tensor {
  std::string name;
  uint32_t dtype = 0;
  uint64_t rows = 0, cols = 0;
  std::vector<float> data;
};

void pad(ByteWriter& w) {
  const uint8_t zeros[64] = {};
  w.raw(zeros, (64 - w.bytes().size() % 64) % 64);
}

std::vector<Tensor> decode_weights(const std::vector<uint8_t>& bytes) {
  ByteReader r(bytes, "weights");
  std::vector<Tensor> out(r.u64());
  for (auto& t : out) {
    t.name = r.str();
    t.dtype = r.u32();
    r.u32();
    t.rows = r.u64();
    t.cols = r.u64();
    r.view((64 - r.position() % 64) % 64, "pad");
    t.data.resize(t.rows * t.cols);
    r.raw(t.data.data(), t.data.size() * 4, "data");
  }
  r.expect_end();
  return out;
}

std::vector<uint8_t> encode_weights(const std::vector<Tensor>& ts) {
  ByteWriter w;
  w.u64(ts.size());
  for (const auto& t : ts) {
    w.str(t.name);
    w.u32(t.dtype);
    w.u32(0);
    w.u64(t.rows);
    w.u64(t.cols);
    pad(w);
    w.raw(t.data.data(), t.data.size() * 4);
  }
  return w.take();
}

SectionData& find_section(std::vector<SectionData>& s, SectionKind k) {
  for (auto& d : s)
    if (d.kind == static_cast<uint32_t>(k)) return d;
  FAIL("no section");
  return s.front();
}

Thrown load_buffer(const std::vector<uint8_t>& b) {
  return thrown([&] { (void)load_model_from_buffer(b, "m.tt"); });
}

const RetrievalModel& shared_model() {
  static const RetrievalModel m = make_model();
  return m;
}

}  // namespace

TEST_CASE("model serialization: buffer round trip is bit-identical at every compression setting") {
  const RetrievalModel& m = shared_model();
  for (int level : {0, 1, 3, 19}) {
    for (bool compress_index : {true, false}) {
      CAPTURE(level);
      CAPTURE(compress_index);
      SaveOptions o;
      o.compression_level = level;
      o.compress_index = compress_index;
      const auto bytes = save_model_to_buffer(m, o);
      RetrievalModel back = load_model_from_buffer(bytes);
      check_same(m, back, false);
      // Saving the loaded model gives the same bytes.
      CHECK(save_model_to_buffer(back, o) == bytes);
      auto r = ModelFileReader::from_buffer(bytes);
      const SectionEntry* index = r.find(SectionKind::index);
      REQUIRE(index);
      if (level == 0 || !compress_index) CHECK(index->codec == 0u);
      if (level != 0) CHECK(r.find(SectionKind::spec)->codec == 1u);
    }
  }
}

TEST_CASE("model serialization: a multi-valued feature round-trips and sets required feature bit 1") {
  ModelOptions o;
  o.multi_value = true;
  const RetrievalModel m = make_model(o);
  const FeatureEncoder& words = m.model().candidate().encoders().back();
  REQUIRE(words.multi_value_lookup());
  CHECK(words.multi_value_lookup()->vocab_size() > 10);
  const auto bytes = save_model_to_buffer(m, SaveOptions{});
  // Readers that predate the feature kind refuse the file by this bit ("a newer twotower wrote
  // this file") instead of failing on the spec's unknown kind.
  CHECK(ModelFileReader::from_buffer(bytes).header().required_features == kRequiredFeatureMultiValue);
  const RetrievalModel back = load_model_from_buffer(bytes);
  check_same(m, back, false);
  CHECK(back.model().candidate().encoders().back().multi_value_lookup()->vocabulary() ==
        words.multi_value_lookup()->vocabulary());
  // A model without one leaves the bit clear, so older readers still load it.
  CHECK(ModelFileReader::from_buffer(save_model_to_buffer(shared_model(), SaveOptions{})).header().required_features ==
        0u);
}

TEST_CASE("model serialization: file round trip, optimizer state only when asked") {
  const fs::path dir = fs::temp_directory_path() / ("tt_io_ser_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "model.tt").string();
  for (const char* opt : {"adagrad", "adam"}) {
    CAPTURE(opt);
    ModelOptions mo;
    mo.optimizer = opt;
    const RetrievalModel m = make_model(mo);
    REQUIRE_FALSE(m.optimizer_state().empty());

    save_model(path, m);
    CHECK_FALSE(ModelFileReader::open(path).has(SectionKind::optimizer));
    check_same(m, load_model(path), false);

    SaveOptions with;
    with.include_optimizer = true;
    save_model(path, m, with);
    auto r = ModelFileReader::open(path);
    REQUIRE(r.has(SectionKind::optimizer));
    CHECK_FALSE(r.find(SectionKind::optimizer)->required());
    check_same(m, load_model(path), true);
    CHECK(read_model_info(path).has_optimizer_state);
  }
  // A model without optimizer state writes no optimizer section even when asked.
  ModelOptions none;
  none.optimizer_state = false;
  none.train = false;
  const RetrievalModel fresh = make_model(none);
  SaveOptions with;
  with.include_optimizer = true;
  CHECK_FALSE(ModelFileReader::from_buffer(save_model_to_buffer(fresh, with)).has(SectionKind::optimizer));
  check_same(fresh, load_model_from_buffer(save_model_to_buffer(fresh, with)), false);
  fs::remove_all(dir);
}

TEST_CASE("model serialization: an empty index and an unbuilt model") {
  ModelOptions none;
  none.train = false;
  RetrievalModel m = make_model(none);
  m.set_index(CandidateIndex());
  RetrievalModel back = load_model_from_buffer(save_model_to_buffer(m));
  CHECK(back.index().size() == 0);
  CHECK(read_model_info_from_buffer(save_model_to_buffer(m)).candidates == 0);

  RetrievalModel unbuilt{TwoTowerModel(ModelSpec::from_json(spec_json(), "spec"))};
  Thrown t = thrown([&] { save_model_to_buffer(unbuilt); });
  CHECK(t.kind == kInvalid);
  CHECK(contains(t.message, "not fitted"));
}

TEST_CASE("model serialization: read_model_info reads only the spec and metadata") {
  const RetrievalModel& m = shared_model();
  SaveOptions o;
  o.include_optimizer = true;
  auto bytes = save_model_to_buffer(m, o);
  ModelInfo info = read_model_info_from_buffer(bytes);
  CHECK(info.format_version == kModelFormatVersion);
  CHECK(info.file_size == bytes.size());
  CHECK(info.spec.to_json() == m.model().spec().to_json());
  CHECK(info.metadata.data_fingerprint == m.metadata().data_fingerprint);
  CHECK(info.metadata.seed == m.metadata().seed);
  CHECK(info.parameter_count == m.model().parameter_count());
  CHECK(info.candidates == m.index().size());
  CHECK(info.embedding_dim == 8);
  CHECK(info.has_optimizer_state);
  CHECK(contains(info.written_by, "twotower "));
  REQUIRE(info.sections.size() == 6);
  const char* names[] = {"spec", "metadata", "preprocessing", "weights", "index", "optimizer"};
  for (size_t i = 0; i < 6; ++i) {
    CHECK(info.sections[i].name == names[i]);
    CHECK(info.sections[i].kind == i + 1);
    CHECK(info.sections[i].required == (i != 1 && i != 5));
  }

  // Break the weights, index and preprocessing checksums: info still works, loading does not.
  auto r = ModelFileReader::from_buffer(bytes);
  auto broken = bytes;
  for (SectionKind k : {SectionKind::weights, SectionKind::index, SectionKind::preprocessing}) {
    const SectionEntry* e = r.find(k);
    broken[e->offset + e->stored_size / 2] ^= 0x40;
  }
  ModelInfo again = read_model_info_from_buffer(broken);
  CHECK(again.parameter_count == info.parameter_count);
  Thrown t = load_buffer(broken);
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "checksum mismatch"));

  // From a file too.
  const fs::path p = fs::temp_directory_path() / ("tt_io_info_" + std::to_string(::getpid()) + ".tt");
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(broken.data()), broken.size());
  CHECK(read_model_info(p.string()).candidates == info.candidates);
  t = thrown([&] { (void)load_model(p.string()); });
  CHECK(contains(t.message, p.string()));
  fs::remove(p);
}

TEST_CASE("model serialization: truncation at every section boundary and at random offsets") {
  SaveOptions o;
  o.include_optimizer = true;
  const auto good = save_model_to_buffer(shared_model(), o);
  auto r = ModelFileReader::from_buffer(good);
  std::vector<size_t> cuts = {0, 7, 8, 47, 48, kModelHeaderSize + 6 * kSectionEntrySize - 1};
  for (const auto& e : r.header().sections) {
    cuts.push_back(e.offset);
    cuts.push_back(e.offset + 1);
    cuts.push_back(e.offset + e.stored_size / 2);
    cuts.push_back(e.offset + e.stored_size - 1);
  }
  std::mt19937_64 g(42);
  for (int i = 0; i < 150; ++i) cuts.push_back(g() % good.size());
  for (size_t n : cuts) {
    CAPTURE(n);
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    Thrown t = load_buffer(cut);
    CHECK(t.kind == kCorrupt);
    CHECK(contains(t.message, "m.tt: "));
    CHECK(thrown([&] { (void)read_model_info_from_buffer(cut); }).kind == kCorrupt);
  }
}

TEST_CASE("model serialization: a flipped byte in every section is refused and named") {
  SaveOptions o;
  o.include_optimizer = true;
  const auto good = save_model_to_buffer(shared_model(), o);
  auto r = ModelFileReader::from_buffer(good);
  for (const auto& e : r.header().sections) {
    const std::string name = section_kind_name(e.kind);
    for (uint64_t at : {e.offset, e.offset + e.stored_size / 3, e.offset + e.stored_size - 1}) {
      auto bad = good;
      bad[at] ^= 0x04;
      Thrown t = load_buffer(bad);
      CAPTURE(name);
      CAPTURE(at);
      CHECK(t.kind == kCorrupt);
      CHECK(contains(t.message, "m.tt: section '" + name + "': checksum mismatch"));
    }
  }
  for (size_t at = 0; at < kModelHeaderSize + 6 * kSectionEntrySize; ++at) {
    auto bad = good;
    bad[at] ^= 0x80;
    Thrown t = load_buffer(bad);
    CAPTURE(at);
    CHECK((t.kind == kCorrupt || t.kind == kUnsupported));
  }
}

TEST_CASE("model serialization: damaged contents past the checksums never crash") {
  // Flip bytes, then recompute every checksum, so the section parsers see the damage. A flip in
  // a weight may load (a different but finite number); anything else must be a tt::Error.
  for (int level : {0, 3}) {
    SaveOptions o;
    o.include_optimizer = true;
    o.compression_level = level;
    const auto good = save_model_to_buffer(shared_model(), o);
    std::mt19937_64 g(level + 1);
    for (int i = 0; i < 400; ++i) {
      auto bad = good;
      const size_t at = kModelHeaderSize + 6 * kSectionEntrySize + g() % (good.size() - 336);
      bad[at] ^= static_cast<uint8_t>(1u << (g() % 8));
      reseal_model_file(bad);
      Thrown t = load_buffer(bad);
      (void)thrown([&] { (void)read_model_info_from_buffer(bad); });
      CHECK((t.kind == 0 || t.kind == kCorrupt || t.kind == kUnsupported));
    }
  }
}

TEST_CASE("model serialization: weights are checked against the shapes the spec implies") {
  const RetrievalModel& m = shared_model();
  const auto base = model_sections(m, {});
  auto with_weights = [&](auto&& edit) {
    auto s = base;
    auto& w = find_section(s, SectionKind::weights);
    auto ts = decode_weights(w.bytes);
    edit(ts);
    w.bytes = encode_weights(ts);
    return load_buffer(encode_model_file(s, 3));
  };
  auto find = [](std::vector<Tensor>& ts, const std::string& n) -> Tensor& {
    for (auto& t : ts)
      if (t.name == n) return t;
    FAIL("no tensor " << n);
    return ts.front();
  };
  CHECK(with_weights([](auto&) {}).kind == 0);

  Thrown t = with_weights([&](auto& ts) {
    Tensor& k = find(ts, "query/dense_0/kernel");
    k.rows -= 1;
    k.data.resize(k.rows * k.cols);
  });
  CHECK(t.kind == kCorrupt);
  // Input: user_id 8 + user_hash 4 + timestamp_bucket 4 + normalization 1 = 17.
  CHECK(contains(t.message,
                 "m.tt: section 'weights': tensor 'query/dense_0/kernel' has shape 16x16, the spec implies 17x16"));

  t = with_weights([&](auto& ts) {
    Tensor& k = find(ts, "candidate/title_id/embedding");
    std::swap(k.rows, k.cols);
  });
  CHECK(contains(t.message, "tensor 'candidate/title_id/embedding' has shape 8x"));

  t = with_weights([](auto& ts) { ts.erase(ts.begin() + 2); });
  CHECK(contains(t.message, "section 'weights': tensor 'query/timestamp_bucket/embedding' (11x4) is missing"));

  t = with_weights([](auto& ts) { ts.push_back(Tensor{"query/extra", 0, 1, 1, {0.5f}}); });
  CHECK(contains(t.message, "unknown tensor 'query/extra' (1x1)"));

  t = with_weights([](auto& ts) { ts.push_back(ts[0]); });
  CHECK(contains(t.message, "tensor 'query/user_id/embedding' appears twice"));

  t = with_weights([&](auto& ts) { find(ts, "query/dense_1/bias").data[3] = std::nanf(""); });
  CHECK(contains(t.message, "tensor 'query/dense_1/bias' has a non-finite value at row 0, column 3"));
  t = with_weights([&](auto& ts) { find(ts, "candidate/dense_0/kernel").data[9] = INFINITY; });
  CHECK(contains(t.message, "tensor 'candidate/dense_0/kernel' has a non-finite value at row 1, column 1"));

  t = with_weights([](auto& ts) { ts[1].dtype = 7; });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "tensor 'query/user_hash/embedding': dtype 7 is unknown to this reader"));
  // A known quantized dtype without the header's required feature bit: damaged.
  t = with_weights([](auto& ts) { ts[1].dtype = 1; });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message,
                 "tensor 'query/user_hash/embedding': dtype bf16 in a file whose header lacks required feature bit 0"));

  // A shape whose data would not fit: refused before allocating.
  t = with_weights([](auto& ts) {
    ts[0].rows = uint64_t{1} << 40;
    ts[0].data.clear();
  });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "tensor 'query/user_id/embedding': shape 1099511627776x8 needs"));
  t = with_weights([](auto& ts) {
    ts[0].rows = uint64_t{1} << 62;
    ts[0].cols = uint64_t{1} << 62;
    ts[0].data.clear();
  });
  CHECK(contains(t.message, "overflows"));

  // A model whose spec differs (top layer 4 instead of 8) cannot take these weights.
  auto s = base;
  ModelOptions mo;
  mo.top_layer = 4;
  mo.train = false;
  find_section(s, SectionKind::spec).bytes = model_sections(make_model(mo), {})[0].bytes;
  t = load_buffer(encode_model_file(s, 3));
  CHECK(contains(t.message, "tensor 'query/dense_1/kernel' has shape 16x8, the spec implies 16x4"));
}

TEST_CASE("model serialization: damaged spec, preprocessing, index, metadata and optimizer sections") {
  const RetrievalModel& m = shared_model();
  SaveOptions o;
  o.include_optimizer = true;
  const auto base = model_sections(m, o);
  auto with = [&](SectionKind k, auto&& edit) {
    auto s = base;
    edit(find_section(s, k).bytes);
    return load_buffer(encode_model_file(s, 3));
  };
  auto text = [](std::vector<uint8_t>& b, const std::string& t) { b.assign(t.begin(), t.end()); };

  Thrown t = with(SectionKind::spec, [&](auto& b) { text(b, "{not json"); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "m.tt: section 'spec'"));
  // A number that overflows a double (nlohmann's out_of_range, not a parse_error).
  t = with(SectionKind::spec, [&](auto& b) {
    std::string s(b.begin(), b.end());
    s.replace(s.find("1.0"), 3, "1.00000001167e46809");
    text(b, s);
  });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "m.tt: section 'spec'"));
  t = with(SectionKind::spec, [&](auto& b) {
    std::string s(b.begin(), b.end());
    s.replace(s.find("\"name\""), 6, "\"nmae\"");
    text(b, s);
  });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'spec'"));

  t = with(SectionKind::preprocessing, [](auto& b) { b.resize(b.size() - 1); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "m.tt: section 'preprocessing'"));
  t = with(SectionKind::preprocessing, [](auto& b) { b[0] = 3; });
  CHECK(contains(t.message, "holds 3 feature states, the spec has 6 features"));
  t = with(SectionKind::preprocessing, [](auto& b) { b[16] = 'Q'; });  // "query/user_id" -> "Query/..."
  CHECK(contains(t.message, "expected the state of feature 'query/user_id', found 'Query/user_id'"));
  t = with(SectionKind::preprocessing, [](auto& b) { b.push_back(0); });
  CHECK(contains(t.message, "trailing bytes"));

  // Index: count, dim, dtype at the start of the payload.
  t = with(SectionKind::index, [](auto& b) { b[8] = 9; });
  CHECK(contains(t.message, "m.tt: section 'index': embedding dimension 9, the model's is 8"));
  t = with(SectionKind::index, [](auto& b) { std::memset(b.data(), 0xff, 8); });
  CHECK(contains(t.message, "section 'index': candidate count 18446744073709551615 exceeds"));
  t = with(SectionKind::index, [](auto& b) { b[0] += 1; });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'index'"));
  t = with(SectionKind::index, [](auto& b) { b[16] = 9; });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "section 'index': embeddings: dtype 9 is unknown to this reader"));
  t = with(SectionKind::index, [](auto& b) {
    const float nan = std::nanf("");
    std::memcpy(b.data() + b.size() - 4, &nan, 4);
  });
  CHECK(contains(t.message, "embeddings has a non-finite value at row 29, column 7"));

  // Metadata: unknown keys ignored, wrong types and inconsistent counts refused.
  t = with(SectionKind::metadata, [&](auto& b) { text(b, R"({"seed": 1, "from_the_future": [1, 2]})"); });
  CHECK(t.kind == 0);
  t = with(SectionKind::metadata, [&](auto& b) { text(b, R"({"seed": "one"})"); });
  CHECK(contains(t.message, "m.tt: section 'metadata': 'seed' must be a non-negative integer"));
  t = with(SectionKind::metadata, [&](auto& b) { text(b, R"([1, 2])"); });
  CHECK(contains(t.message, "section 'metadata': expected a JSON object"));
  t = with(SectionKind::metadata, [&](auto& b) { text(b, R"({"candidates": 31})"); });
  CHECK(contains(t.message, "section 'metadata': candidates is 31, the index holds 30"));
  t = with(SectionKind::metadata, [&](auto& b) { text(b, "{\"seed\": 1"); });
  CHECK(contains(t.message, "section 'metadata': not valid JSON"));
  // Names from the file are escaped: a message stays one line whatever the file holds.
  t = with(SectionKind::metadata, [&](auto& b) { text(b, R"({"metrics": {"top\n1\u0007": "x"}})"); });
  CHECK(contains(t.message, "metric 'top\\x0A1\\x07' must be a number"));
  CHECK(t.message.find('\n') == std::string::npos);
  CHECK(t.message.find('\a') == std::string::npos);

  // Optimizer.
  t = with(SectionKind::optimizer, [](auto& b) { b[8] = 'X'; });
  CHECK(contains(t.message, "m.tt: section 'optimizer': state of optimizer 'Xdagrad', the spec trains with 'adagrad'"));
  t = with(SectionKind::optimizer, [](auto& b) { b.resize(b.size() - 5); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, "section 'optimizer'"));

  // Sections missing.
  for (SectionKind k : {SectionKind::spec, SectionKind::preprocessing, SectionKind::weights, SectionKind::index}) {
    auto s = base;
    s.erase(std::find_if(s.begin(), s.end(), [&](const SectionData& d) { return d.kind == static_cast<uint32_t>(k); }));
    t = load_buffer(encode_model_file(s, 3));
    CHECK(t.kind == kCorrupt);
    CHECK(contains(t.message, section_label(static_cast<uint32_t>(k)) + " is missing"));
  }
  // The metadata is optional.
  auto s = base;
  s.erase(s.begin() + 1);
  CHECK(load_buffer(encode_model_file(s, 3)).kind == 0);
}

TEST_CASE("model serialization: unknown sections, required refused and optional skipped") {
  auto s = model_sections(shared_model(), {});
  SectionData extra;
  extra.kind = 4242;
  extra.required = false;
  extra.bytes = {1, 2, 3};
  s.push_back(extra);
  RetrievalModel back = load_model_from_buffer(encode_model_file(s, 3));
  check_same(shared_model(), back, false);
  ModelInfo info = read_model_info_from_buffer(encode_model_file(s, 3));
  REQUIRE(info.sections.size() == 6);
  CHECK(info.sections[5].name == "kind 4242");

  s.back().required = true;
  Thrown t = load_buffer(encode_model_file(s, 3));
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "section kind 4242"));
  CHECK(contains(t.message, "a newer twotower wrote this file"));
}

TEST_CASE("model serialization: a failed save keeps the existing model file") {
  const fs::path dir = fs::temp_directory_path() / ("tt_io_atomic_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "model.tt").string();
  ModelOptions small;
  small.train = false;
  const RetrievalModel first = make_model(small);
  save_model(path, first);
  const auto size = fs::file_size(path);

  SaveOptions raw;
  raw.compression_level = 0;
  raw.include_optimizer = true;
  const auto second = save_model_to_buffer(shared_model(), raw);
  REQUIRE(second.size() > size + 4096);
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto prev = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = size + 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  Thrown t = thrown([&] { save_model(path, shared_model(), raw); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "model.tt"));
  CHECK(fs::file_size(path) == size);
  check_same(first, load_model(path), false);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  CHECK(files == 1);

  t = thrown([&] { save_model((dir / "no" / "such" / "dir.tt").string(), first); });
  CHECK(t.kind == kIo);
  fs::remove_all(dir);
}

TEST_CASE("model serialization: metadata with non-finite numbers and invalid UTF-8 still saves") {
  ModelOptions small;
  small.train = false;
  RetrievalModel m = make_model(small);
  m.metadata().train_seconds = std::nan("");
  m.metadata().metrics["factorized_top_k/top_1_categorical_accuracy"] = INFINITY;
  m.metadata().data_source = "caf\xe9.csv";  // Latin-1, not UTF-8
  m.metadata().created_unix = -5;
  RetrievalModel back = load_model_from_buffer(save_model_to_buffer(m));
  CHECK(std::isnan(back.metadata().train_seconds));
  CHECK(std::isnan(back.metadata().metrics.at("factorized_top_k/top_1_categorical_accuracy")));
  CHECK(back.metadata().data_source == "caf\xef\xbf\xbd.csv");
  CHECK(back.metadata().created_unix == -5);
}
