#include "persist/model_serialization.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/bytes.h"
#include "base/error.h"
#include "base/precision.h"
#include "base/version.h"
#include "data/text.h"
#include "index/vector_index.h"
#include "nn/optimizer.h"
#include "persist/ann_section.h"

namespace tt {

namespace {

using json = nlohmann::json;

constexpr size_t kPayloadAlignment = 64;  // tensor data inside weights and index payloads

std::vector<uint8_t> text_bytes(const std::string& s) { return {s.begin(), s.end()}; }

void pad_to_alignment(ByteWriter& w) {
  static const uint8_t zeros[kPayloadAlignment] = {};
  const size_t pad = (kPayloadAlignment - w.bytes().size() % kPayloadAlignment) % kPayloadAlignment;
  w.raw(zeros, pad);
}

void skip_padding(ByteReader& r) {
  const size_t pad = (kPayloadAlignment - r.position() % kPayloadAlignment) % kPayloadAlignment;
  for (uint8_t b : r.view(pad, "padding"))
    if (b != 0) r.corrupt("nonzero padding byte before byte " + std::to_string(r.position()));
}

bool quantizable_weight(const std::string& name) { return !name.ends_with("/bias"); }

std::string dtype_name(uint32_t dtype) {
  if (auto p = precision_from_code(dtype)) return precision_name(*p);
  return "dtype " + std::to_string(dtype);
}

// rows * cols elements of `elem` bytes, or throws if that overflows or exceeds `limit`.
size_t data_bytes(uint64_t rows, uint64_t cols, size_t elem, size_t limit, ByteReader& r, const std::string& what) {
  if (cols != 0 && rows > std::numeric_limits<uint64_t>::max() / cols / elem)
    r.corrupt(what + ": shape " + std::to_string(rows) + "x" + std::to_string(cols) + " overflows");
  const uint64_t bytes = rows * cols * elem;
  if (bytes > limit)
    r.corrupt(what + ": shape " + std::to_string(rows) + "x" + std::to_string(cols) + " needs " +
              std::to_string(bytes) + " bytes of data, only " + std::to_string(limit) + " are left");
  return static_cast<size_t>(bytes);
}

void check_finite(const float* v, size_t n, size_t cols, ByteReader& r, const std::string& what) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]))
      r.corrupt(what + " has a non-finite value at row " + std::to_string(cols ? i / cols : 0) + ", column " +
                std::to_string(cols ? i % cols : 0));
}

// Tensors stored at a precision (a weight or the index embeddings): after the zero padding to
// the next multiple of 64, f32/bf16/fp16 store rows * cols elements; int8 stores rows f32
// scales, zero padding to 64, then rows * cols int8 values.
void write_tensor_data(ByteWriter& w, const float* x, size_t rows, size_t cols, Precision p, const std::string& what) {
  pad_to_alignment(w);
  if (p == Precision::f32) {
    w.raw(x, rows * cols * sizeof(float));
    return;
  }
  const QuantizedRows q = quantize_rows(x, rows, cols, p, what);
  if (p == Precision::int8) {
    w.raw(q.scales.data(), q.scales.size() * sizeof(float));
    pad_to_alignment(w);
  }
  w.raw(q.data.data(), q.data.size());
}

struct StoredTensor {
  Precision dtype = Precision::f32;
  uint64_t rows = 0, cols = 0;
  std::span<const uint8_t> scales, data;
};

// Reads the dtype code; an unknown one is refused as newer, a quantized one needs the
// required feature bit.
Precision read_dtype(ByteReader& r, const ModelFileReader& f, const std::string& what) {
  const uint32_t code = r.u32();
  const auto p = precision_from_code(code);
  if (!p)
    fail(ErrorKind::unsupported, r.what() + ": " + what + ": " + dtype_name(code) +
                                     " is unknown to this reader (known: 0 f32, 1 bf16, 2 fp16, 3 int8): a newer "
                                     "twotower wrote this file");
  if (*p != Precision::f32 && !(f.header().required_features & kRequiredFeatureQuantized))
    r.corrupt(what + ": dtype " + precision_name(*p) +
              " in a file whose header lacks required feature bit 0 (quantized tensors)");
  return *p;
}

void read_tensor_data(ByteReader& r, StoredTensor& t, const std::string& what) {
  skip_padding(r);
  if (t.dtype == Precision::int8) {
    t.scales = r.view(data_bytes(t.rows, 1, sizeof(float), r.remaining(), r, what + " scales"), "scales");
    skip_padding(r);
  }
  t.data = r.view(data_bytes(t.rows, t.cols, precision_element_size(t.dtype), r.remaining(), r, what), "tensor data");
}

// Dequantizes into out (rows * cols floats) and checks every value (and int8 scale) is finite.
void decode_tensor(const StoredTensor& t, float* out, ByteReader& r, const std::string& what) {
  const size_t rows = static_cast<size_t>(t.rows), cols = static_cast<size_t>(t.cols);
  QuantizedRows q;
  q.precision = t.dtype;
  q.rows = rows;
  q.cols = cols;
  if (t.dtype == Precision::f32) {
    if (!t.data.empty()) std::memcpy(out, t.data.data(), t.data.size());
  } else {
    q.data.assign(t.data.begin(), t.data.end());
    if (t.dtype == Precision::int8) {
      q.scales.resize(rows);
      if (rows) std::memcpy(q.scales.data(), t.scales.data(), rows * sizeof(float));
      for (size_t i = 0; i < rows; ++i)
        if (!std::isfinite(q.scales[i]) || q.scales[i] < 0.0f)
          r.corrupt(what + " has an invalid int8 scale at row " + std::to_string(i) + " (must be finite and >= 0)");
    }
    q.dequantize(out);
  }
  check_finite(out, rows * cols, cols, r, what);
}

std::string shape_text(uint64_t rows, uint64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

// Rethrows an error raised while interpreting a section's contents as ErrorKind::corrupt
// (a malformed spec is a damaged file here, not a user's typo), keeping its message.
template <class F>
auto as_corrupt(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::parse || e.kind() == ErrorKind::invalid_argument)
      throw Error(ErrorKind::corrupt, e.what());
    throw;
  }
}

// ---------------------------------------------------------------------------------------------
// Sections out

std::vector<uint8_t> preprocessing_section(const TwoTowerModel& m) {
  ByteWriter w;
  const Tower* towers[] = {&m.query(), &m.candidate()};
  uint64_t n = 0;
  for (const Tower* t : towers) n += t->encoders().size();
  w.u64(n);
  for (const Tower* t : towers)
    for (const auto& e : t->encoders()) {
      ByteWriter state;
      e.save_state(state);
      w.str(t->prefix() + "/" + e.spec().name);
      w.array(state.bytes());
    }
  return w.take();
}

std::vector<uint8_t> weights_section(const RetrievalModel& model) {
  ByteWriter w;
  const auto params = model.model().parameters();
  w.u64(params.size());
  for (const Parameter* p : params) {
    const Precision prec = stored_weight_precision(p->name, model.weights_precision());
    w.str(p->name);
    w.u32(static_cast<uint32_t>(prec));
    w.u32(0);
    w.u64(p->value.rows());
    w.u64(p->value.cols());
    write_tensor_data(w, p->value.data(), p->value.rows(), p->value.cols(), prec, "tensor '" + p->name + "'");
  }
  return w.take();
}

// The shuffling generator's state as 64 hex digits (four words, most significant digit first),
// so that warm-started training continues the stream exactly.
std::string shuffle_state_text(const Rng::State& state) {
  std::string out;
  char buf[17];
  for (uint64_t word : state) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(word));
    out += buf;
  }
  return out;
}

std::optional<Rng::State> parse_shuffle_state(const std::string& text) {
  if (text.size() != 64) return std::nullopt;
  Rng::State state{};
  for (size_t i = 0; i < 64; ++i) {
    const char c = text[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    state[i / 16] = state[i / 16] << 4 | static_cast<uint64_t>(digit);
  }
  if (!Rng::valid_state(state)) return std::nullopt;
  return state;
}

bool is_stripped(const TrainingMetadata& m) {
  return m.library_version.empty() && m.data_source.empty() && m.data_fingerprint.empty() && m.seed == 0 &&
         m.epochs == 0 && m.metrics.empty() && m.train_seconds == 0.0 && m.created_unix == 0 && !m.shuffle_state &&
         m.candidate_counts.empty() && m.sampling_probability.empty() && m.best_epoch == 0;
}

std::vector<uint8_t> metadata_section(const RetrievalModel& model) {
  const TrainingMetadata& m = model.metadata();
  json j = json::object();
  // A stripped model (no training metadata at all: tt::strip_model) writes only the summary.
  if (!is_stripped(m)) {
    j["library_version"] = m.library_version;
    j["data_source"] = m.data_source;
    j["data_fingerprint"] = m.data_fingerprint;
    j["seed"] = m.seed;
    j["epochs"] = m.epochs;
    json metrics = json::object();
    for (const auto& [k, v] : m.metrics) metrics[k] = std::isfinite(v) ? json(v) : json(nullptr);
    j["metrics"] = metrics;
    j["train_seconds"] = std::isfinite(m.train_seconds) ? json(m.train_seconds) : json(nullptr);
    j["created_unix"] = m.created_unix;
    if (m.shuffle_state) j["shuffle_state"] = shuffle_state_text(*m.shuffle_state);
    // Written only when present, as older writers did not have them.
    if (!m.candidate_counts.empty()) j["candidate_counts"] = m.candidate_counts;
    if (!m.sampling_probability.empty()) j["sampling_probability"] = m.sampling_probability;
    if (m.best_epoch) j["best_epoch"] = m.best_epoch;
  }
  j["written_by"] = std::string("twotower ") + kVersionString;
  j["parameter_count"] = model.model().parameter_count();
  j["candidates"] = model.index().size();
  j["embedding_dim"] = model.model().embedding_dim();
  j["index_precision"] = precision_name(model.candidate_precision());
  j["weights_precision"] = precision_name(model.weights_precision());
  if (const auto& sh = model.shard())
    j["shard"] = {
        {"index", sh->index}, {"count", sh->count}, {"offset", sh->offset}, {"catalogue_size", sh->catalogue_size}};
  // Strings that are not valid UTF-8 (a Latin-1 file name as data_source) are stored with
  // U+FFFD replacements rather than failing the save.
  return text_bytes(j.dump(2, ' ', false, json::error_handler_t::replace));
}

std::vector<uint8_t> optimizer_section(const RetrievalModel& model) {
  ByteWriter w;
  w.str(model.model().spec().training.optimizer.kind);
  w.raw(model.optimizer_state().data(), model.optimizer_state().size());
  return w.take();
}

// ---------------------------------------------------------------------------------------------
// Sections in

std::string where(const ModelFileReader& f, SectionKind k) {
  return f.name() + ": " + section_label(static_cast<uint32_t>(k));
}

ModelSpec parse_spec(const ModelFileReader& f) {
  const std::vector<uint8_t> bytes = f.read(SectionKind::spec);
  const std::string text(bytes.begin(), bytes.end());
  return as_corrupt([&] {
    try {
      return ModelSpec::from_json(text, where(f, SectionKind::spec));
    } catch (const nlohmann::json::exception& e) {
      // from_json turns syntax errors into tt::Error, but not every nlohmann exception (a number
      // that overflows a double, "1e99999", is out_of_range.406). Found by fuzz_model_loader.
      fail(ErrorKind::corrupt, where(f, SectionKind::spec) + ": " + e.what());
    }
  });
}

struct MetadataSection {
  TrainingMetadata meta;
  std::string written_by;
  std::optional<uint64_t> parameter_count, candidates, embedding_dim;
  std::optional<Precision> index_precision, weights_precision;
  std::optional<ShardInfo> shard;
};

// The metadata's "shard" object: every field present, shard `index` of `count` starting at the
// row ShardInfo::begin gives and holding exactly its rows (`candidates`, when the metadata says).
ShardInfo parse_shard(const json& s, std::optional<uint64_t> candidates, const std::string& w) {
  if (!s.is_object()) fail(ErrorKind::corrupt, w + ": 'shard' must be an object");
  auto field = [&](const char* key) -> uint64_t {
    if (!s.contains(key) || !s[key].is_number_unsigned())
      fail(ErrorKind::corrupt, w + ": 'shard." + key + "' must be a non-negative integer");
    return s[key].get<uint64_t>();
  };
  ShardInfo sh;
  sh.index = field("index");
  sh.count = field("count");
  sh.offset = field("offset");
  sh.catalogue_size = field("catalogue_size");
  if (sh.count == 0 || sh.count > ShardInfo::kMaxCount || sh.index >= sh.count)
    fail(ErrorKind::corrupt, w + ": shard " + std::to_string(sh.index) + " of " + std::to_string(sh.count) +
                                 " (count must be 1.." + std::to_string(ShardInfo::kMaxCount) + ", index below it)");
  const size_t begin = ShardInfo::begin(sh.index, sh.count, sh.catalogue_size);
  const size_t end = ShardInfo::begin(sh.index + 1, sh.count, sh.catalogue_size);
  if (sh.offset != begin || (candidates && *candidates != end - begin))
    fail(ErrorKind::corrupt, w + ": shard " + std::to_string(sh.index) + " of " + std::to_string(sh.count) +
                                 " of a catalogue of " + std::to_string(sh.catalogue_size) + " holds rows [" +
                                 std::to_string(begin) + ", " + std::to_string(end) + "), not offset " +
                                 std::to_string(sh.offset) +
                                 (candidates ? " with " + std::to_string(*candidates) + " candidates" : ""));
  return sh;
}

MetadataSection parse_metadata(const ModelFileReader& f) {
  MetadataSection out;
  const auto bytes = f.read_if_present(SectionKind::metadata);
  if (!bytes) return out;
  const std::string w = where(f, SectionKind::metadata);
  json j;
  try {
    j = json::parse(bytes->begin(), bytes->end());
  } catch (const json::exception& e) {
    fail(ErrorKind::corrupt, w + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) fail(ErrorKind::corrupt, w + ": expected a JSON object");
  // Unknown keys are ignored (newer writers may add some); known keys must have their types.
  auto get_string = [&](const char* key, std::string& dst) {
    if (!j.contains(key)) return;
    if (!j[key].is_string()) fail(ErrorKind::corrupt, w + ": '" + key + "' must be a string");
    dst = j[key].get<std::string>();
  };
  auto get_uint = [&](const char* key) -> std::optional<uint64_t> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number_unsigned()) fail(ErrorKind::corrupt, w + ": '" + key + "' must be a non-negative integer");
    return j[key].get<uint64_t>();
  };
  auto get_number = [&](const char* key, double& dst) {
    if (!j.contains(key)) return;
    if (j[key].is_null())
      dst = std::numeric_limits<double>::quiet_NaN();  // written for a non-finite value
    else if (j[key].is_number())
      dst = j[key].get<double>();
    else
      fail(ErrorKind::corrupt, w + ": '" + key + "' must be a number");
  };
  get_string("library_version", out.meta.library_version);
  get_string("data_source", out.meta.data_source);
  get_string("data_fingerprint", out.meta.data_fingerprint);
  get_string("written_by", out.written_by);
  if (auto v = get_uint("seed")) out.meta.seed = *v;
  if (auto v = get_uint("epochs")) out.meta.epochs = static_cast<size_t>(*v);
  if (j.contains("shuffle_state")) {
    std::string text;
    get_string("shuffle_state", text);
    out.meta.shuffle_state = parse_shuffle_state(text);
    if (!out.meta.shuffle_state)
      fail(ErrorKind::corrupt, w + ": 'shuffle_state' must be 64 lower-case hex digits, not all zero");
  }
  get_number("train_seconds", out.meta.train_seconds);
  if (j.contains("created_unix")) {
    if (!j["created_unix"].is_number_integer()) fail(ErrorKind::corrupt, w + ": 'created_unix' must be an integer");
    out.meta.created_unix = j["created_unix"].get<int64_t>();
  }
  if (j.contains("metrics")) {
    const json& m = j["metrics"];
    if (!m.is_object()) fail(ErrorKind::corrupt, w + ": 'metrics' must be an object");
    for (const auto& [k, v] : m.items()) {
      if (v.is_null())
        out.meta.metrics[k] = std::numeric_limits<double>::quiet_NaN();
      else if (v.is_number())
        out.meta.metrics[k] = v.get<double>();
      else
        fail(ErrorKind::corrupt, w + ": metric '" + k + "' must be a number");
    }
  }
  if (j.contains("candidate_counts")) {
    const json& m = j["candidate_counts"];
    if (!m.is_object()) fail(ErrorKind::corrupt, w + ": 'candidate_counts' must be an object");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_number_unsigned()) fail(ErrorKind::corrupt, w + ": candidate count of '" + k + "' must be a count");
      out.meta.candidate_counts[k] = v.get<uint64_t>();
    }
  }
  if (j.contains("sampling_probability")) {
    const json& m = j["sampling_probability"];
    if (!m.is_object()) fail(ErrorKind::corrupt, w + ": 'sampling_probability' must be an object");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_number() || !(v.get<double>() > 0.0 && v.get<double>() <= 1.0))
        fail(ErrorKind::corrupt, w + ": sampling probability of '" + k + "' must be a number in (0, 1]");
      out.meta.sampling_probability[k] = v.get<double>();
    }
  }
  if (auto v = get_uint("best_epoch")) out.meta.best_epoch = static_cast<size_t>(*v);
  out.parameter_count = get_uint("parameter_count");
  out.candidates = get_uint("candidates");
  out.embedding_dim = get_uint("embedding_dim");
  auto get_precision = [&](const char* key) -> std::optional<Precision> {
    std::string text;
    get_string(key, text);
    if (!j.contains(key)) return std::nullopt;
    try {
      return parse_precision(text, key);
    } catch (const Error& e) {
      fail(ErrorKind::corrupt, w + ": " + e.what());
    }
  };
  out.index_precision = get_precision("index_precision");
  out.weights_precision = get_precision("weights_precision");
  if (j.contains("shard")) out.shard = parse_shard(j["shard"], out.candidates, w);
  return out;
}

void load_preprocessing(const ModelFileReader& f, TwoTowerModel& m) {
  const std::vector<uint8_t> bytes = f.read(SectionKind::preprocessing);
  ByteReader r(bytes, where(f, SectionKind::preprocessing));
  Tower* towers[] = {&m.query(), &m.candidate()};
  uint64_t expected = 0;
  for (Tower* t : towers) expected += t->encoders().size();
  const uint64_t n = r.u64();
  if (n != expected)
    r.corrupt("holds " + std::to_string(n) + " feature states, the spec has " + std::to_string(expected) + " features");
  for (Tower* t : towers)
    for (auto& e : t->encoders()) {
      const std::string name = t->prefix() + "/" + e.spec().name;
      const std::string stored = r.str();
      if (stored != name) r.corrupt("expected the state of feature '" + name + "', found '" + stored + "'");
      const uint64_t len = r.u64();
      if (len > r.remaining())
        r.corrupt("feature '" + name + "': state of " + std::to_string(len) + " bytes exceeds the " +
                  std::to_string(r.remaining()) + " bytes left");
      ByteReader sub(r.view(static_cast<size_t>(len), "feature state"), r.what() + ": feature '" + name + "'");
      as_corrupt([&] {
        e.load_state(sub);
        sub.expect_end();
      });
    }
  r.expect_end();
}

// Loads every tensor and returns the weights' stored precision (that of the embedding tables
// and kernels; biases are f32).
Precision load_weights(const ModelFileReader& f, TwoTowerModel& m) {
  const std::vector<uint8_t> bytes = f.read(SectionKind::weights);
  ByteReader r(bytes, where(f, SectionKind::weights));
  // Parse the tensor directory first; data stays in the section buffer.
  std::map<std::string, StoredTensor> stored;
  const uint64_t n = r.u64();
  for (uint64_t i = 0; i < n; ++i) {
    std::string name = r.str();
    const std::string what = "tensor '" + name + "'";
    StoredTensor t;
    t.dtype = read_dtype(r, f, what);
    r.u32();  // reserved
    t.rows = r.u64();
    t.cols = r.u64();
    read_tensor_data(r, t, what);
    if (!stored.emplace(std::move(name), t).second) r.corrupt(what + " appears twice");
  }
  r.expect_end();

  // Every tensor the spec and preprocessing imply, present once with that shape; one precision
  // for every embedding table and kernel, f32 biases (what the writer produces).
  const std::vector<ParameterShape> shapes = as_corrupt([&] { return m.parameter_shapes(); });
  std::map<std::string, const ParameterShape*> expected;
  for (const auto& s : shapes) expected[s.name] = &s;
  for (const auto& [name, t] : stored)
    if (!expected.count(name)) r.corrupt("unknown tensor '" + name + "' (" + shape_text(t.rows, t.cols) + ")");
  std::optional<Precision> precision;
  std::string precision_from;
  for (const auto& s : shapes) {
    auto it = stored.find(s.name);
    if (it == stored.end()) r.corrupt("tensor '" + s.name + "' (" + shape_text(s.rows, s.cols) + ") is missing");
    const StoredTensor& t = it->second;
    if (t.rows != s.rows || t.cols != s.cols)
      r.corrupt("tensor '" + s.name + "' has shape " + shape_text(t.rows, t.cols) + ", the spec implies " +
                shape_text(s.rows, s.cols));
    if (!quantizable_weight(s.name)) {
      if (t.dtype != Precision::f32)
        r.corrupt("tensor '" + s.name + "' has dtype " + precision_name(t.dtype) + "; biases are stored as f32");
    } else if (!precision) {
      precision = t.dtype;
      precision_from = s.name;
    } else if (*precision != t.dtype) {
      r.corrupt("tensor '" + s.name + "' has dtype " + precision_name(t.dtype) + ", tensor '" + precision_from + "' " +
                precision_name(*precision) + "; all weights but the biases share one precision");
    }
  }

  // Only now allocate (the data is known to exist), then decode.
  as_corrupt([&] { m.allocate(); });
  const auto params = m.parameters();
  if (params.size() != shapes.size())
    fail(ErrorKind::internal, r.what() + ": the model built " + std::to_string(params.size()) + " tensors, expected " +
                                  std::to_string(shapes.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& p = *params[i];
    if (p.name != shapes[i].name || p.value.rows() != shapes[i].rows || p.value.cols() != shapes[i].cols)
      fail(ErrorKind::internal, r.what() + ": the model built tensor '" + p.name + "' " +
                                    shape_text(p.value.rows(), p.value.cols()) + " where '" + shapes[i].name + "' " +
                                    shape_text(shapes[i].rows, shapes[i].cols) + " was expected");
    decode_tensor(stored.at(p.name), p.value.data(), r, "tensor '" + p.name + "'");
  }
  return precision.value_or(Precision::f32);
}

}  // namespace

std::vector<uint8_t> index_section(const CandidateIndex& index, size_t dim, Precision precision) {
  ByteWriter w;
  w.u64(index.size());
  w.u64(dim);
  w.u32(static_cast<uint32_t>(precision));
  w.u32(0);
  for (const auto& k : index.keys()) w.str(k);
  write_tensor_data(w, index.embeddings().data(), index.size(), index.size() ? index.dim() : dim, precision,
                    "candidate embeddings");
  return w.take();
}

CandidateIndex load_index(const ModelFileReader& f, std::optional<size_t> embedding_dim, Precision& precision) {
  const auto bytes = f.read(SectionKind::index);
  ByteReader r(bytes, where(f, SectionKind::index));
  StoredTensor t;
  const uint64_t count = r.u64();
  const uint64_t dim = r.u64();
  t.dtype = read_dtype(r, f, "embeddings");
  r.u32();  // reserved
  if (embedding_dim && dim != *embedding_dim)
    r.corrupt("embedding dimension " + std::to_string(dim) + ", the model's is " + std::to_string(*embedding_dim));
  // An index file has no spec to bound the dimension; a model's is bounded by its spec.
  if (dim > VectorIndex::kMaxDim)
    r.corrupt("embedding dimension " + std::to_string(dim) + " exceeds " + std::to_string(VectorIndex::kMaxDim));
  // Each key needs at least its 8-byte length: bounds the count before allocating.
  if (count > r.remaining() / 8)
    r.corrupt("candidate count " + std::to_string(count) + " exceeds what the " + std::to_string(r.remaining()) +
              " bytes left can hold");
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) keys.push_back(r.str());
  t.rows = count;
  t.cols = dim;
  read_tensor_data(r, t, "embeddings");
  r.expect_end();
  Matrix emb(static_cast<size_t>(count), static_cast<size_t>(dim));
  decode_tensor(t, emb.data(), r, "embeddings");
  precision = t.dtype;
  return CandidateIndex(std::move(keys), std::move(emb));
}

namespace {

std::vector<uint8_t> load_optimizer(const ModelFileReader& f, TwoTowerModel& m) {
  const auto bytes = f.read_if_present(SectionKind::optimizer);
  if (!bytes) return {};
  ByteReader r(*bytes, where(f, SectionKind::optimizer));
  const std::string kind = r.str();
  const OptimizerConfig& config = m.spec().training.optimizer;
  if (kind != config.kind) r.corrupt("state of optimizer '" + kind + "', the spec trains with '" + config.kind + "'");
  const auto state = r.view(r.remaining(), "optimizer state");
  // Check it loads against this model's parameters, so a damaged checkpoint fails here.
  as_corrupt([&] {
    auto opt = make_optimizer(config);
    ByteReader sr(state, r.what());
    auto params = m.parameters();
    opt->load_state(sr, params);
    sr.expect_end();
  });
  return {state.begin(), state.end()};
}

// A file with an index and no spec, preprocessing or weights is a vector index file
// (persist/vector_index_file.h), not a damaged model: say what it is and how to read it. A model
// missing only some of those sections stays a damaged model.
void refuse_index_file(const ModelFileReader& f) {
  if (f.has(SectionKind::index) && !f.has(SectionKind::spec) && !f.has(SectionKind::preprocessing) &&
      !f.has(SectionKind::weights))
    fail(ErrorKind::invalid_argument, f.name() +
                                          ": a vector index file (an index section and no model): load it as an "
                                          "index (tt_index_load, twotower search --index)");
}

RetrievalModel load(const ModelFileReader& f) {
  f.verify_padding();
  refuse_index_file(f);
  TwoTowerModel m = as_corrupt([&] { return TwoTowerModel(parse_spec(f)); });
  MetadataSection meta = parse_metadata(f);
  load_preprocessing(f, m);
  const Precision weights_precision = load_weights(f, m);
  Precision candidate_precision = Precision::f32;
  CandidateIndex index = load_index(f, m.embedding_dim(), candidate_precision);
  std::vector<uint8_t> optimizer = load_optimizer(f, m);

  const std::string w = where(f, SectionKind::metadata);
  if (meta.parameter_count && *meta.parameter_count != m.parameter_count())
    fail(ErrorKind::corrupt, w + ": parameter_count is " + std::to_string(*meta.parameter_count) +
                                 ", the weights hold " + std::to_string(m.parameter_count()));
  if (meta.candidates && *meta.candidates != index.size())
    fail(ErrorKind::corrupt, w + ": candidates is " + std::to_string(*meta.candidates) + ", the index holds " +
                                 std::to_string(index.size()));
  if (meta.embedding_dim && *meta.embedding_dim != m.embedding_dim())
    fail(ErrorKind::corrupt, w + ": embedding_dim is " + std::to_string(*meta.embedding_dim) + ", the model's is " +
                                 std::to_string(m.embedding_dim()));

  if (meta.shard &&
      index.size() !=
          ShardInfo::begin(meta.shard->index + 1, meta.shard->count, meta.shard->catalogue_size) - meta.shard->offset)
    fail(ErrorKind::corrupt, w + ": shard " + std::to_string(meta.shard->index) + " of " +
                                 std::to_string(meta.shard->count) + " holds " + std::to_string(index.size()) +
                                 " candidates, not the rows its offset and catalogue size imply");

  auto check_precision = [&](const char* key, const std::optional<Precision>& said, Precision stored) {
    if (said && *said != stored)
      fail(ErrorKind::corrupt,
           w + ": " + key + " is " + precision_name(*said) + ", the tensors are stored as " + precision_name(stored));
  };
  check_precision("index_precision", meta.index_precision, candidate_precision);
  check_precision("weights_precision", meta.weights_precision, weights_precision);

  if (const auto ann = f.read_if_present(SectionKind::ann))
    index.set_partitions(read_ann_section(*ann, where(f, SectionKind::ann), index));
  RetrievalModel model(std::move(m));
  model.set_index(std::move(index));
  model.metadata() = std::move(meta.meta);
  model.set_shard(meta.shard);
  model.optimizer_state() = std::move(optimizer);
  model.set_precisions(candidate_precision, weights_precision);
  return model;
}

ModelInfo info(const ModelFileReader& f) {
  refuse_index_file(f);
  ModelInfo out;
  const ModelFileHeader& h = f.header();
  out.format_version = h.format_version;
  out.file_size = h.file_size;
  for (const auto& e : h.sections) {
    SectionSummary s;
    s.kind = e.kind;
    const char* name = section_kind_name(e.kind);
    s.name = name ? name : "kind " + std::to_string(e.kind);
    const char* codec = section_codec_name(e.codec);
    s.codec = codec ? codec : "codec " + std::to_string(e.codec);
    s.required = e.required();
    s.offset = e.offset;
    s.stored_size = e.stored_size;
    s.raw_size = e.raw_size;
    s.checksum = e.checksum;
    out.sections.push_back(std::move(s));
  }
  out.spec = parse_spec(f);
  MetadataSection meta = parse_metadata(f);
  out.metadata = std::move(meta.meta);
  out.written_by = std::move(meta.written_by);
  out.parameter_count = static_cast<size_t>(meta.parameter_count.value_or(0));
  out.candidates = static_cast<size_t>(meta.candidates.value_or(0));
  out.embedding_dim = static_cast<size_t>(
      meta.embedding_dim.value_or(out.spec.query.layers.empty() ? 0 : out.spec.query.layers.back()));
  out.has_optimizer_state = f.has(SectionKind::optimizer);
  out.index_precision = meta.index_precision.value_or(Precision::f32);
  out.weights_precision = meta.weights_precision.value_or(Precision::f32);
  out.shard = meta.shard;
  out.required_features = h.required_features;
  return out;
}

}  // namespace

std::vector<SectionData> model_sections(const RetrievalModel& model, const SaveOptions& options) {
  const TwoTowerModel& m = model.model();
  if (!m.ready()) fail(ErrorKind::invalid_argument, "save: the model is not fitted and built");
  std::vector<SectionData> s;
  auto add = [&](SectionKind kind, bool required, std::vector<uint8_t> bytes, bool compress = true) {
    SectionData d;
    d.kind = static_cast<uint32_t>(kind);
    d.required = required;
    d.bytes = std::move(bytes);
    d.compress = compress;
    s.push_back(std::move(d));
  };
  add(SectionKind::spec, true, text_bytes(m.spec().to_json()));
  add(SectionKind::metadata, false, metadata_section(model));
  add(SectionKind::preprocessing, true, preprocessing_section(m));
  add(SectionKind::weights, true, weights_section(model));
  if (model.index().size() > 0 && model.index().dim() != m.embedding_dim())
    fail(ErrorKind::invalid_argument, "save: the index has dimension " + std::to_string(model.index().dim()) +
                                          ", the model's embeddings " + std::to_string(m.embedding_dim()));
  add(SectionKind::index, true, index_section(model.index(), m.embedding_dim(), model.candidate_precision()),
      options.compress_index);
  if (options.include_optimizer && !model.optimizer_state().empty())
    add(SectionKind::optimizer, false, optimizer_section(model));
  // Optional: readers that predate it skip it and search exactly.
  if (model.index().partitions()) add(SectionKind::ann, false, ann_section(model.index()));
  return s;
}

uint32_t model_required_features(const RetrievalModel& model) {
  const bool quantized = model.candidate_precision() != Precision::f32 || model.weights_precision() != Precision::f32;
  bool multi_value = false;
  for (const TowerSpec* t : {&model.model().spec().query, &model.model().spec().candidate})
    for (const FeatureSpec& f : t->features) multi_value |= f.kind == FeatureKind::multi_value_lookup;
  return (quantized ? kRequiredFeatureQuantized : 0) | (multi_value ? kRequiredFeatureMultiValue : 0);
}

Precision stored_weight_precision(const std::string& tensor_name, Precision weights) {
  return quantizable_weight(tensor_name) ? weights : Precision::f32;
}

std::vector<uint8_t> save_model_to_buffer(const RetrievalModel& model, const SaveOptions& options) {
  return encode_model_file(model_sections(model, options), options.compression_level, model_required_features(model));
}

void save_model(const std::string& path, const RetrievalModel& model, const SaveOptions& options) {
  write_model_file(path, model_sections(model, options), options.compression_level, model_required_features(model));
}

namespace {

// Messages about a model file quote what the file holds (JSON keys, names, parser excerpts), and
// a damaged file holds any bytes: escaped as the CSV reader does, a message stays one line.
template <class F>
auto with_one_line_errors(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    fail(e.kind(), escape_for_message(e.what()));
  }
}

}  // namespace

RetrievalModel load_model(const std::string& path) {
  return with_one_line_errors([&] { return load(ModelFileReader::open(path)); });
}

RetrievalModel load_model_from_buffer(std::span<const uint8_t> data, const std::string& name) {
  return with_one_line_errors([&] { return load(ModelFileReader::from_buffer(data, name)); });
}

ModelInfo read_model_info(const std::string& path) {
  return with_one_line_errors([&] { return info(ModelFileReader::open(path)); });
}

ModelInfo read_model_info_from_buffer(std::span<const uint8_t> data, const std::string& name) {
  return with_one_line_errors([&] { return info(ModelFileReader::from_buffer(data, name)); });
}

}  // namespace tt
