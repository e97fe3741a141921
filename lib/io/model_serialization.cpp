#include "io/model_serialization.h"
#include "twotower/twotower.h"  // TT_VERSION_STRING

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/bytes.h"
#include "nn/optimizer.h"


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

std::string dtype_name(uint32_t dtype) {
  if (dtype == static_cast<uint32_t>(TensorDType::f32)) return "f32";
  return "dtype " + std::to_string(dtype);
}

// The element count rows * cols as bytes of f32, or throws if it overflows or exceeds `limit`.
size_t f32_bytes(uint64_t rows, uint64_t cols, size_t limit, ByteReader& r, const std::string& what) {
  if (cols != 0 && rows > std::numeric_limits<uint64_t>::max() / cols / 4)
    r.corrupt(what + ": shape " + std::to_string(rows) + "x" + std::to_string(cols) + " overflows");
  const uint64_t bytes = rows * cols * 4;
  if (bytes > limit)
    r.corrupt(what + ": shape " + std::to_string(rows) + "x" + std::to_string(cols) + " needs " + std::to_string(bytes) +
              " bytes of data, only " + std::to_string(limit) + " are left");
  return static_cast<size_t>(bytes);
}

void check_finite(std::span<const uint8_t> data, size_t cols, ByteReader& r, const std::string& what) {
  const size_t n = data.size() / 4;
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, data.data() + 4 * i, 4);
    if (!std::isfinite(v))
      r.corrupt(what + " has a non-finite value at row " + std::to_string(cols ? i / cols : 0) + ", column " +
                std::to_string(cols ? i % cols : 0));
  }
}

std::string shape_text(uint64_t rows, uint64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

// Rethrows an error raised while interpreting a section's contents as ErrorKind::corrupt
// (a malformed spec is a damaged file here, not a user's typo), keeping its message.
template <class F>
auto as_corrupt(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::parse || e.kind() == ErrorKind::invalid_argument) throw Error(ErrorKind::corrupt, e.what());
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

std::vector<uint8_t> weights_section(const TwoTowerModel& m) {
  ByteWriter w;
  const auto params = m.parameters();
  w.u64(params.size());
  for (const Parameter* p : params) {
    w.str(p->name);
    w.u32(static_cast<uint32_t>(TensorDType::f32));
    w.u32(0);
    w.u64(p->value.rows());
    w.u64(p->value.cols());
    pad_to_alignment(w);
    w.raw(p->value.data(), p->value.size() * sizeof(float));
  }
  return w.take();
}

std::vector<uint8_t> index_section(const CandidateIndex& index, size_t dim) {
  ByteWriter w;
  w.u64(index.size());
  w.u64(dim);
  w.u32(static_cast<uint32_t>(TensorDType::f32));
  w.u32(0);
  for (const auto& k : index.keys()) w.str(k);
  pad_to_alignment(w);
  w.raw(index.embeddings().data(), index.embeddings().size() * sizeof(float));
  return w.take();
}

std::vector<uint8_t> metadata_section(const RetrievalModel& model) {
  const TrainingMetadata& m = model.metadata();
  json j;
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
  j["written_by"] = std::string("twotower ") + TT_VERSION_STRING;
  j["parameter_count"] = model.model().parameter_count();
  j["candidates"] = model.index().size();
  j["embedding_dim"] = model.model().embedding_dim();
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
};

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
    if (j[key].is_null()) dst = std::numeric_limits<double>::quiet_NaN();  // written for a non-finite value
    else if (j[key].is_number()) dst = j[key].get<double>();
    else fail(ErrorKind::corrupt, w + ": '" + key + "' must be a number");
  };
  get_string("library_version", out.meta.library_version);
  get_string("data_source", out.meta.data_source);
  get_string("data_fingerprint", out.meta.data_fingerprint);
  get_string("written_by", out.written_by);
  if (auto v = get_uint("seed")) out.meta.seed = *v;
  if (auto v = get_uint("epochs")) out.meta.epochs = static_cast<size_t>(*v);
  get_number("train_seconds", out.meta.train_seconds);
  if (j.contains("created_unix")) {
    if (!j["created_unix"].is_number_integer()) fail(ErrorKind::corrupt, w + ": 'created_unix' must be an integer");
    out.meta.created_unix = j["created_unix"].get<int64_t>();
  }
  if (j.contains("metrics")) {
    const json& m = j["metrics"];
    if (!m.is_object()) fail(ErrorKind::corrupt, w + ": 'metrics' must be an object");
    for (const auto& [k, v] : m.items()) {
      if (v.is_null()) out.meta.metrics[k] = std::numeric_limits<double>::quiet_NaN();
      else if (v.is_number()) out.meta.metrics[k] = v.get<double>();
      else fail(ErrorKind::corrupt, w + ": metric '" + k + "' must be a number");
    }
  }
  out.parameter_count = get_uint("parameter_count");
  out.candidates = get_uint("candidates");
  out.embedding_dim = get_uint("embedding_dim");
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

struct StoredTensor {
  uint64_t rows = 0, cols = 0;
  std::span<const uint8_t> data;
};

void load_weights(const ModelFileReader& f, TwoTowerModel& m) {
  const std::vector<uint8_t> bytes = f.read(SectionKind::weights);
  ByteReader r(bytes, where(f, SectionKind::weights));
  // Parse the tensor directory first; data stays in the section buffer.
  std::map<std::string, StoredTensor> stored;
  const uint64_t n = r.u64();
  for (uint64_t i = 0; i < n; ++i) {
    std::string name = r.str();
    const std::string what = "tensor '" + name + "'";
    const uint32_t dtype = r.u32();
    r.u32();  // reserved
    StoredTensor t;
    t.rows = r.u64();
    t.cols = r.u64();
    if (dtype != static_cast<uint32_t>(TensorDType::f32))
      fail(ErrorKind::unsupported, r.what() + ": " + what + " has " + dtype_name(dtype) +
                                       ", unknown to this reader (expected 0, f32): a newer twotower wrote this file");
    skip_padding(r);
    const size_t nbytes = f32_bytes(t.rows, t.cols, r.remaining(), r, what);
    t.data = r.view(nbytes, "tensor data");
    if (!stored.emplace(std::move(name), t).second) r.corrupt(what + " appears twice");
  }
  r.expect_end();

  // Every tensor the spec and preprocessing imply, present once with that shape.
  const std::vector<ParameterShape> shapes = as_corrupt([&] { return m.parameter_shapes(); });
  std::map<std::string, const ParameterShape*> expected;
  for (const auto& s : shapes) expected[s.name] = &s;
  for (const auto& [name, t] : stored)
    if (!expected.count(name)) r.corrupt("unknown tensor '" + name + "' (" + shape_text(t.rows, t.cols) + ")");
  for (const auto& s : shapes) {
    auto it = stored.find(s.name);
    if (it == stored.end())
      r.corrupt("tensor '" + s.name + "' (" + shape_text(s.rows, s.cols) + ") is missing");
    if (it->second.rows != s.rows || it->second.cols != s.cols)
      r.corrupt("tensor '" + s.name + "' has shape " + shape_text(it->second.rows, it->second.cols) +
                ", the spec implies " + shape_text(s.rows, s.cols));
    check_finite(it->second.data, s.cols, r, "tensor '" + s.name + "'");
  }

  // Only now allocate (the data is known to exist), then copy.
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
    const StoredTensor& t = stored.at(p.name);
    if (!t.data.empty()) std::memcpy(p.value.data(), t.data.data(), t.data.size());
  }
}

CandidateIndex load_index(const ModelFileReader& f, size_t embedding_dim) {
  const auto bytes = f.read(SectionKind::index);
  ByteReader r(bytes, where(f, SectionKind::index));
  const uint64_t count = r.u64();
  const uint64_t dim = r.u64();
  const uint32_t dtype = r.u32();
  r.u32();  // reserved
  if (dtype != static_cast<uint32_t>(TensorDType::f32))
    fail(ErrorKind::unsupported, r.what() + ": embeddings have " + dtype_name(dtype) +
                                     ", unknown to this reader (expected 0, f32): a newer twotower wrote this file");
  if (dim != embedding_dim)
    r.corrupt("embedding dimension " + std::to_string(dim) + ", the model's is " + std::to_string(embedding_dim));
  // Each key needs at least its 8-byte length: bounds the count before allocating.
  if (count > r.remaining() / 8)
    r.corrupt("candidate count " + std::to_string(count) + " exceeds what the " + std::to_string(r.remaining()) +
              " bytes left can hold");
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) keys.push_back(r.str());
  skip_padding(r);
  const size_t nbytes = f32_bytes(count, dim, r.remaining(), r, "embeddings");
  const auto data = r.view(nbytes, "embeddings");
  r.expect_end();
  check_finite(data, static_cast<size_t>(dim), r, "embeddings");
  Matrix emb(static_cast<size_t>(count), static_cast<size_t>(dim));
  if (nbytes) std::memcpy(emb.data(), data.data(), nbytes);
  return CandidateIndex(std::move(keys), std::move(emb));
}

std::vector<uint8_t> load_optimizer(const ModelFileReader& f, TwoTowerModel& m) {
  const auto bytes = f.read_if_present(SectionKind::optimizer);
  if (!bytes) return {};
  ByteReader r(*bytes, where(f, SectionKind::optimizer));
  const std::string kind = r.str();
  const OptimizerConfig& config = m.spec().training.optimizer;
  if (kind != config.kind)
    r.corrupt("state of optimizer '" + kind + "', the spec trains with '" + config.kind + "'");
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

RetrievalModel load(const ModelFileReader& f) {
  f.verify_padding();
  TwoTowerModel m = as_corrupt([&] { return TwoTowerModel(parse_spec(f)); });
  MetadataSection meta = parse_metadata(f);
  load_preprocessing(f, m);
  load_weights(f, m);
  CandidateIndex index = load_index(f, m.embedding_dim());
  std::vector<uint8_t> optimizer = load_optimizer(f, m);

  const std::string w = where(f, SectionKind::metadata);
  if (meta.parameter_count && *meta.parameter_count != m.parameter_count())
    fail(ErrorKind::corrupt, w + ": parameter_count is " + std::to_string(*meta.parameter_count) + ", the weights hold " +
                                 std::to_string(m.parameter_count()));
  if (meta.candidates && *meta.candidates != index.size())
    fail(ErrorKind::corrupt, w + ": candidates is " + std::to_string(*meta.candidates) + ", the index holds " +
                                 std::to_string(index.size()));
  if (meta.embedding_dim && *meta.embedding_dim != m.embedding_dim())
    fail(ErrorKind::corrupt, w + ": embedding_dim is " + std::to_string(*meta.embedding_dim) + ", the model's is " +
                                 std::to_string(m.embedding_dim()));

  RetrievalModel model(std::move(m));
  model.set_index(std::move(index));
  model.metadata() = std::move(meta.meta);
  model.optimizer_state() = std::move(optimizer);
  return model;
}

ModelInfo info(const ModelFileReader& f) {
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
  out.embedding_dim = static_cast<size_t>(meta.embedding_dim.value_or(out.spec.query.layers.empty() ? 0 : out.spec.query.layers.back()));
  out.has_optimizer_state = f.has(SectionKind::optimizer);
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
  add(SectionKind::weights, true, weights_section(m));
  if (model.index().size() > 0 && model.index().dim() != m.embedding_dim())
    fail(ErrorKind::invalid_argument, "save: the index has dimension " + std::to_string(model.index().dim()) +
                                          ", the model's embeddings " + std::to_string(m.embedding_dim()));
  add(SectionKind::index, true, index_section(model.index(), m.embedding_dim()), options.compress_index);
  if (options.include_optimizer && !model.optimizer_state().empty())
    add(SectionKind::optimizer, false, optimizer_section(model));
  return s;
}

std::vector<uint8_t> save_model_to_buffer(const RetrievalModel& model, const SaveOptions& options) {
  return encode_model_file(model_sections(model, options), options.compression_level);
}

void save_model(const std::string& path, const RetrievalModel& model, const SaveOptions& options) {
  write_model_file(path, model_sections(model, options), options.compression_level);
}

RetrievalModel load_model(const std::string& path) { return load(ModelFileReader::open(path)); }

RetrievalModel load_model_from_buffer(std::span<const uint8_t> data, const std::string& name) {
  return load(ModelFileReader::from_buffer(data, name));
}

ModelInfo read_model_info(const std::string& path) { return info(ModelFileReader::open(path)); }

ModelInfo read_model_info_from_buffer(std::span<const uint8_t> data, const std::string& name) {
  return info(ModelFileReader::from_buffer(data, name));
}

}  // namespace tt
