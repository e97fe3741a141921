// Model conversion (persist/convert.h): quantized files load with the precision recorded and
// re-save identically, strip drops only training content, export then import reproduces
// every score bit for bit, and bad import input is refused naming the file and tensor.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/read_file.h"
#include "io/array_files.h"
#include "io_test_support.h"
#include "persist/convert.h"
#include "persist/model_serialization.h"

using namespace tt;
using namespace tt::iotest;
namespace fs = std::filesystem;

namespace {

const RetrievalModel& base_model() {
  static const RetrievalModel m = make_model();
  return m;
}

RetrievalModel copy_of(const RetrievalModel& m) {
  SaveOptions o;
  o.include_optimizer = true;
  return load_model_from_buffer(save_model_to_buffer(m, o));
}

struct Answers {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  Matrix embeddings;
};

Answers answers(const RetrievalModel& m, const Table& q, size_t k = 10) {
  Answers a;
  m.embed_queries(q, a.embeddings);
  a.ids.resize(q.num_rows() * k);
  a.scores.resize(q.num_rows() * k);
  SearchOptions so;
  so.k = k;
  ThreadPool pool(1);
  m.index().search(a.embeddings.data(), q.num_rows(), so, a.ids.data(), a.scores.data(), pool);
  return a;
}

bool same_answers(const Answers& a, const Answers& b) {
  return a.ids == b.ids && std::memcmp(a.scores.data(), b.scores.data(), a.scores.size() * 4) == 0 &&
         same_bits(a.embeddings, b.embeddings);
}

bool same_weights(const RetrievalModel& a, const RetrievalModel& b) {
  const auto pa = a.model().parameters(), pb = b.model().parameters();
  if (pa.size() != pb.size()) return false;
  for (size_t i = 0; i < pa.size(); ++i)
    if (pa[i]->name != pb[i]->name || !same_bits(pa[i]->value, pb[i]->value)) return false;
  return a.index().keys() == b.index().keys() && same_bits(a.index().embeddings(), b.index().embeddings());
}

const Parameter& param(const RetrievalModel& m, const std::string& name) {
  for (const Parameter* p : m.model().parameters())
    if (p->name == name) return *p;
  FAIL("no parameter " << name);
  return *m.model().parameters().front();
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag)
      : path(fs::temp_directory_path() / ("tt_convert_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<uint8_t> bytes_of(const std::string& path) {
  const std::string s = read_file(path);
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("convert: quantized files record their precision, load dequantized and re-save identically") {
  const RetrievalModel& base = base_model();
  SaveOptions raw;
  raw.compression_level = 0;
  const size_t f32_size = save_model_to_buffer(base, raw).size();
  const Table q = queries();
  for (Precision p : {Precision::bf16, Precision::fp16, Precision::int8}) {
    CAPTURE(precision_name(p));
    RetrievalModel m = copy_of(base);
    quantize_model(m, p, p);
    CHECK(m.candidate_precision() == p);
    CHECK(m.weights_precision() == p);
    // Biases keep their float32 values; kernels and tables are rounded.
    CHECK(same_bits(param(m, "query/dense_0/bias").value, param(base, "query/dense_0/bias").value));
    CHECK(!same_bits(param(m, "query/dense_0/kernel").value, param(base, "query/dense_0/kernel").value));

    const std::vector<uint8_t> bytes = save_model_to_buffer(m, raw);
    CHECK(bytes.size() < f32_size);
    CHECK(ModelFileReader::from_buffer(bytes).header().required_features == kRequiredFeatureQuantized);
    const ModelInfo info = read_model_info_from_buffer(bytes);
    CHECK(info.index_precision == p);
    CHECK(info.weights_precision == p);

    const RetrievalModel back = load_model_from_buffer(bytes);
    CHECK(back.candidate_precision() == p);
    CHECK(back.weights_precision() == p);
    CHECK(same_weights(m, back));
    CHECK(same_answers(answers(m, q), answers(back, q)));
    CHECK(save_model_to_buffer(back, raw) == bytes);
    // The stored index bytes are what quantize_rows gives for the loaded embeddings (the fast path's contract).
    const Matrix& e = back.index().embeddings();
    const QuantizedRows qr = quantize_rows(e.data(), e.rows(), e.cols(), p, "index");
    std::vector<float> d(e.size());
    qr.dequantize(d.data());
    CHECK(std::memcmp(d.data(), e.data(), d.size() * 4) == 0);
    // A rebuilt index (from the quantized towers) is rounded to the recorded precision too.
    RetrievalModel rebuilt = copy_of(back);
    ThreadPool pool(1);
    rebuilt.build_index(catalogue(), pool);
    Matrix r = rebuilt.index().embeddings();
    round_to_precision(r.data(), r.rows(), r.cols(), p, "index");
    CHECK(same_bits(r, rebuilt.index().embeddings()));
  }
  // Per part: only the index at int8, weights stay f32.
  RetrievalModel m = copy_of(base);
  quantize_model(m, Precision::int8, std::nullopt);
  CHECK(m.weights_precision() == Precision::f32);
  CHECK(same_bits(param(m, "query/dense_0/kernel").value, param(base, "query/dense_0/kernel").value));
  const RetrievalModel back = load_model_from_buffer(save_model_to_buffer(m));
  CHECK(back.candidate_precision() == Precision::int8);
  CHECK(back.weights_precision() == Precision::f32);
}

TEST_CASE("convert: quantization refuses values out of range and leaves the model as it was") {
  RetrievalModel m = copy_of(base_model());
  Parameter& k = const_cast<Parameter&>(param(m, "query/dense_0/kernel"));
  k.value.data()[3] = 1e6f;
  const Matrix before = k.value;
  Thrown t = thrown([&] { quantize_model(m, Precision::fp16, Precision::fp16); });
  CHECK(t.kind == kInvalid);
  CHECK(contains(t.message, "tensor '" + k.name + "': value 1000000.000000 at row 0, column 3 exceeds fp16's range"));
  CHECK(same_bits(before, k.value));
  CHECK(m.weights_precision() == Precision::f32);
  CHECK(m.candidate_precision() == Precision::f32);
}

TEST_CASE("convert: top-k overlap and the index's accuracy") {
  const RetrievalModel& base = base_model();
  ThreadPool pool(1);
  const Table test = interactions(catalogue(), 60, 3);
  CHECK(topk_overlap(base, base, test, 10, pool) == 1.0);
  RetrievalModel q8 = copy_of(base);
  quantize_model(q8, Precision::int8, Precision::int8);
  const double o = topk_overlap(base, q8, test, 5, pool);
  CHECK(o > 0.5);
  CHECK(o <= 1.0);
  size_t examples = 0;
  const std::vector<double> acc = index_topk_accuracy(base, test, {1, 5, 30}, pool, &examples);
  CHECK(examples == 60);
  CHECK(acc[0] <= acc[1]);
  CHECK(acc[2] == 1.0);  // 30 candidates: every positive is in the top 30
  RetrievalModel other = copy_of(base);
  other.set_index(CandidateIndex({"a"}, Matrix(1, base.model().embedding_dim())));
  CHECK(thrown([&] { topk_overlap(base, other, test, 5, pool); }).kind == kInvalid);
}

TEST_CASE("convert: strip drops optimizer state and training metadata only") {
  RetrievalModel m = copy_of(base_model());
  REQUIRE(!m.optimizer_state().empty());
  const Table q = queries();
  const Answers before = answers(m, q);
  strip_model(m);
  SaveOptions o;
  o.include_optimizer = true;
  const std::vector<uint8_t> bytes = save_model_to_buffer(m, o);
  const RetrievalModel back = load_model_from_buffer(bytes);
  CHECK(back.optimizer_state().empty());
  CHECK(back.metadata().metrics.empty());
  CHECK(back.metadata().data_source.empty());
  CHECK(back.metadata().seed == 0);
  CHECK(same_answers(before, answers(back, q)));
  const auto meta = ModelFileReader::from_buffer(bytes).read(SectionKind::metadata);
  const std::string text(meta.begin(), meta.end());
  CHECK(!contains(text, "\"seed\""));
  CHECK(contains(text, "\"parameter_count\""));
  CHECK(!ModelFileReader::from_buffer(bytes).has(SectionKind::optimizer));
  CHECK(bytes.size() < save_model_to_buffer(base_model(), o).size());
}

TEST_CASE("convert: export then import reproduces every score bit for bit") {
  const RetrievalModel& base = base_model();
  TempDir dir("export");
  const Table inter = interactions(catalogue(), 50, 8);
  ExportOptions eo;
  eo.queries = &inter;
  const auto files = export_model(base, dir.path.string(), eo);
  CHECK(files.size() == 11);  // 2 x 2 embeddings, keys, weights, spec, preprocessing, 3 vocabularies
  for (const char* f :
       {"candidate_embeddings.npy", "candidate_embeddings.fvecs", "candidate_keys.txt", "query_embeddings.npy",
        "query_embeddings.fvecs", "weights.safetensors", "spec.json", "preprocessing.json", "vocab/query.user_id.txt",
        "vocab/candidate.title_id.txt", "vocab/candidate.title_text.txt"})
    CHECK_MESSAGE(fs::exists(dir / f), f);

  // The exported arrays are the model's values.
  const FloatArray ce = read_npy(dir / "candidate_embeddings.npy");
  CHECK(ce.shape == std::vector<uint64_t>{base.index().size(), base.index().dim()});
  CHECK(std::memcmp(ce.values.data(), base.index().embeddings().data(), ce.values.size() * 4) == 0);
  CHECK(read_fvecs(dir / "candidate_embeddings.fvecs").values == ce.values);
  Matrix qe;
  base.embed_queries(inter, qe);
  const FloatArray qa = read_npy(dir / "query_embeddings.npy");
  CHECK(qa.shape == std::vector<uint64_t>{50, base.model().embedding_dim()});
  CHECK(std::memcmp(qa.values.data(), qe.data(), qe.size() * 4) == 0);
  const auto st = read_safetensors(dir / "weights.safetensors");
  CHECK(st.size() == base.model().parameters().size());
  for (const auto& [name, a] : st) {
    CAPTURE(name);
    const Parameter& p = param(base, name);
    CHECK(a.shape == std::vector<uint64_t>{p.value.rows(), p.value.cols()});
    CHECK(std::memcmp(a.values.data(), p.value.data(), a.values.size() * 4) == 0);
  }
  const auto vocab = read_lines(dir / "vocab/query.user_id.txt");
  CHECK(vocab == base.model().query().encoders()[0].string_lookup()->vocabulary());

  const Table q = queries();
  const Answers expected = answers(base, q);
  // The fitted state of every feature (vocabularies, boundaries, normalization statistics),
  // byte for byte; text counts only when they were exported.
  auto check_preprocessing = [&](const RetrievalModel& m, bool text_counts) {
    for (size_t t = 0; t < 2; ++t) {
      const Tower& x = t ? base.model().candidate() : base.model().query();
      const Tower& y = t ? m.model().candidate() : m.model().query();
      for (size_t i = 0; i < x.encoders().size(); ++i) {
        if (!text_counts && x.encoders()[i].text()) {
          CHECK(x.encoders()[i].text()->vocabulary() == y.encoders()[i].text()->vocabulary());
          continue;
        }
        ByteWriter wa, wb;
        x.encoders()[i].save_state(wa);
        y.encoders()[i].save_state(wb);
        CHECK_MESSAGE(wa.bytes() == wb.bytes(), x.encoders()[i].spec().name);
      }
    }
  };
  bool text_counts = true;
  auto check_import = [&](const ImportOptions& io) {
    const RetrievalModel imported = import_model(io);
    const RetrievalModel reloaded = load_model_from_buffer(save_model_to_buffer(imported));
    check_preprocessing(reloaded, text_counts);
    CHECK(same_weights(base, reloaded));
    CHECK(same_answers(expected, answers(reloaded, q)));
    Matrix a, b;
    base.embed_queries(inter, a);
    reloaded.embed_queries(inter, b);
    CHECK(same_bits(a, b));
  };
  SUBCASE("index from the exported embeddings") {
    ImportOptions io;
    io.dir = dir.path.string();
    check_import(io);
  }
  SUBCASE("index built from the candidates table") {
    const Table cat = catalogue();
    ImportOptions io;
    io.dir = dir.path.string();
    io.candidates = &cat;
    io.threads = 1;
    check_import(io);
  }
  SUBCASE("weights from .npz, embeddings from .fvecs, text vocabulary without counts") {
    std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
    for (const auto& [name, a] : st) entries.emplace_back(name, npy_bytes(a.values.data(), a.rows(), a.cols()));
    write_bytes(dir / "weights.npz", npz_bytes(entries));
    fs::remove(dir / "weights.safetensors");
    fs::remove(dir / "candidate_embeddings.npy");
    std::string pre = read_file(dir / "preprocessing.json");
    const size_t at = pre.find("\"counts\"");
    REQUIRE(at != std::string::npos);
    pre.erase(at, pre.find(']', at) + 2 - at);  // the counts array and its comma
    std::ofstream(dir / "preprocessing.json") << pre;
    ImportOptions io;
    io.dir = dir.path.string();
    text_counts = false;
    check_import(io);
  }
  SUBCASE("features without stored state are fitted on the tables") {
    fs::remove(dir / "preprocessing.json");
    const Table cat = catalogue();
    const Table all = interactions(cat);  // what make_model fitted on
    ImportOptions io;
    io.dir = dir.path.string();
    io.interactions = &all;
    io.candidates = &cat;
    io.threads = 1;
    check_import(io);
  }
}

TEST_CASE("convert: bad import input is refused naming the file and the tensor") {
  const RetrievalModel& base = base_model();
  TempDir dir("import");
  export_model(base, dir.path.string(), {});
  const auto good = bytes_of(dir / "weights.safetensors");
  const auto st = read_safetensors(dir / "weights.safetensors");
  auto import_with = [&](const std::vector<NamedTensor>& tensors) {
    write_bytes(dir / "weights.safetensors", safetensors_bytes(tensors));
    ImportOptions io;
    io.dir = dir.path.string();
    return thrown([&] { import_model(io); });
  };
  auto tensors = [&] {
    std::vector<NamedTensor> v;
    for (const auto& [name, a] : st) v.push_back({name, a.rows(), a.cols(), a.values.data()});
    return v;
  };
  const std::string w = dir / "weights.safetensors";
  CHECK(import_with(tensors()).kind == 0);

  auto ts = tensors();
  ts.erase(ts.begin());  // candidate/dense_0/bias (name order)
  Thrown t = import_with(ts);
  CHECK(t.kind == kInvalid);
  CHECK(contains(t.message, w + ": tensor '" + st[0].first + "' ("));
  CHECK(contains(t.message, ") is missing"));

  ts = tensors();
  for (auto& x : ts)
    if (x.name == "query/dense_0/kernel") x.rows -= 1;
  t = import_with(ts);
  CHECK(contains(t.message, w + ": tensor 'query/dense_0/kernel' has shape (16, 16), the spec implies (17, 16)"));
  CHECK(contains(t.message, "transpose a PyTorch Linear weight"));

  ts = tensors();
  const float one = 1.0f;
  ts.push_back({"query/extra", 1, 1, &one});
  t = import_with(ts);
  CHECK(contains(t.message, w + ": unknown tensor 'query/extra' (1, 1)"));

  ts = tensors();
  const float bad = NAN;
  for (auto& x : ts)
    if (x.name == "query/dense_1/bias") x.data = &bad, x.cols = 1, x.rows = 1;
  t = import_with(ts);
  CHECK(contains(t.message, "tensor 'query/dense_1/bias' has shape (1, 1)"));

  // Damaged safetensors files.
  ImportOptions io;
  io.dir = dir.path.string();
  write_bytes(w, {good.begin(), good.begin() + 6});
  t = thrown([&] { import_model(io); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, w + ": truncated safetensors file: 6 bytes"));
  write_bytes(w, {good.begin(), good.begin() + 100});
  t = thrown([&] { import_model(io); });
  CHECK(contains(t.message, w + ": safetensors header size"));
  CHECK(contains(t.message, "is larger than the file (100 bytes)"));
  std::string text(good.begin(), good.end());
  text.replace(text.find("\"F32\""), 5, "\"I64\"");
  write_bytes(w, {text.begin(), text.end()});
  t = thrown([&] { import_model(io); });
  CHECK(t.kind == kUnsupported);
  CHECK(contains(t.message, "dtype 'I64' is not supported"));
  write_bytes(w, good);

  // A bad .npy header for the candidate embeddings, a missing vocabulary, a kind mismatch.
  auto emb = bytes_of(dir / "candidate_embeddings.npy");
  auto broken = emb;
  broken[12] = 'X';  // inside the header dictionary
  write_bytes(dir / "candidate_embeddings.npy", broken);
  t = thrown([&] { import_model(io); });
  CHECK(t.kind == kCorrupt);
  CHECK(contains(t.message, dir / "candidate_embeddings.npy" + ": bad .npy header"));
  write_bytes(dir / "candidate_embeddings.npy", emb);
  fs::rename(dir / "vocab/query.user_id.txt", dir / "moved.txt");
  t = thrown([&] { import_model(io); });
  CHECK(t.kind == kIo);
  CHECK(contains(t.message, "query.user_id.txt"));
  fs::rename(dir / "moved.txt", dir / "vocab/query.user_id.txt");
  std::string pre = read_file(dir / "preprocessing.json");
  pre.replace(pre.find("\"normalization\""), 15, "\"hashing\"");
  std::ofstream(dir / "preprocessing.json") << pre;
  t = thrown([&] { import_model(io); });
  CHECK(t.kind == kInvalid);
  CHECK(contains(
      t.message,
      "preprocessing.json: feature 'query/timestamp_normalized': kind is \"hashing\", the spec says 'normalization'"));
}
