#include "persist/convert.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/bytes.h"
#include "base/checked_math.h"
#include "base/error.h"
#include "base/parallel.h"
#include "base/version.h"
#include "data/read_file.h"
#include "io/array_files.h"
#include "io/model_file.h"

namespace tt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool quantizable(const std::string& tensor) { return !tensor.ends_with("/bias"); }

std::string shape_text(uint64_t rows, uint64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

std::string shape_text(const std::vector<uint64_t>& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// Sanitised file name for a feature's vocabulary: "vocab/query.user_id.txt".
std::string vocab_file(const std::string& tower, const std::string& feature) {
  std::string f = feature;
  for (char& c : f)
    if (c == '/' || c == '\\' || c == '\0') c = '_';
  return "vocab/" + tower + "." + f + ".txt";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Quantize, strip

void quantize_model(RetrievalModel& model, std::optional<Precision> index, std::optional<Precision> weights) {
  if (!model.model().ready()) fail(ErrorKind::invalid_argument, "quantize: the model is not trained or loaded");
  if (weights) {
    // Check every tensor first so that a failure leaves the model as it was.
    for (Parameter* p : model.model().parameters())
      if (quantizable(p->name))
        quantize_rows(p->value.data(), p->value.rows(), p->value.cols(), *weights, "tensor '" + p->name + "'");
    for (Parameter* p : model.model().parameters())
      if (quantizable(p->name))
        round_to_precision(p->value.data(), p->value.rows(), p->value.cols(), *weights, "tensor '" + p->name + "'");
  }
  if (index) {
    const CandidateIndex& old = model.index();
    Matrix emb = old.embeddings();
    round_to_precision(emb.data(), emb.rows(), emb.cols(), *index, "candidate embeddings");
    CandidateIndex rounded(old.keys(), std::move(emb));
    // The partitions still fit the rounded embeddings; only the int8 copy is made again.
    if (const auto ann = old.shared_partitions())
      rounded.set_partitions(std::make_shared<PartitionIndex>(PartitionIndex::from_parts(
          rounded.embeddings(), ann->centroids(), ann->assignment(), ann->calibration(), ann->calibration_k())));
    model.set_index(std::move(rounded));
  }
  model.set_precisions(index.value_or(model.candidate_precision()), weights.value_or(model.weights_precision()));
}

void strip_model(RetrievalModel& model) {
  model.optimizer_state().clear();
  model.metadata() = TrainingMetadata{};
}

// ---------------------------------------------------------------------------------------------
// Shard

void shard_model(RetrievalModel& model, size_t index, size_t count, ThreadPool& pool,
                 const PartitionBuildOptions* ann) {
  if (!model.model().ready()) fail(ErrorKind::invalid_argument, "shard: the model is not trained or loaded");
  if (const auto& sh = model.shard())
    fail(ErrorKind::invalid_argument, "shard: the model is already shard " + std::to_string(sh->index) + " of " +
                                          std::to_string(sh->count) + "; shard the whole model instead");
  const CandidateIndex& old = model.index();
  const size_t n = old.size();
  if (count == 0 || count > ShardInfo::kMaxCount || count > n)
    fail(ErrorKind::invalid_argument, "shard: the shard count is " + std::to_string(count) + "; it must be 1.." +
                                          std::to_string(std::min(ShardInfo::kMaxCount, n)) + " (the index holds " +
                                          std::to_string(n) + " candidates)");
  if (index >= count)
    fail(ErrorKind::invalid_argument, "shard: shard index " + std::to_string(index) + " of " + std::to_string(count) +
                                          " shards; it must be 0.." + std::to_string(count - 1));
  const size_t begin = ShardInfo::begin(index, count, n), end = ShardInfo::begin(index + 1, count, n);
  if (ann && ann->partitions > end - begin)
    fail(ErrorKind::invalid_argument, "shard: " + std::to_string(ann->partitions) + " partitions for the " +
                                          std::to_string(end - begin) + " candidates of shard " +
                                          std::to_string(index));
  std::vector<std::string> keys(old.keys().begin() + static_cast<ptrdiff_t>(begin),
                                old.keys().begin() + static_cast<ptrdiff_t>(end));
  Matrix emb(end - begin, old.dim());
  std::copy(old.embeddings().row(begin), old.embeddings().row(begin) + emb.size(), emb.data());
  const bool had_ann = old.partitions() != nullptr;
  model.set_index(CandidateIndex(std::move(keys), std::move(emb)));  // values already on the precision's grid
  if (had_ann || ann) model.build_ann(ann ? *ann : PartitionBuildOptions{}, pool);
  model.set_shard(ShardInfo{index, count, begin, n});
}

// ---------------------------------------------------------------------------------------------
// Comparing answers

std::vector<double> index_topk_accuracy(const RetrievalModel& model, const Table& test, const std::vector<size_t>& ks,
                                        ThreadPool& pool, size_t* examples) {
  const CandidateIndex& index = model.index();
  const std::vector<std::string> keys = candidate_keys(test, model.model().spec().candidate_id_column);
  std::vector<int64_t> pos(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) pos[i] = index.key_position(keys[i]);
  Matrix q;
  model.embed_queries(test, q);
  const Matrix& e = index.embeddings();
  const size_t n = q.rows(), d = q.cols(), nc = index.size();
  std::vector<size_t> better(n, 0);
  auto dot = [d](const float* a, const float* b) {
    float s = 0.0f;
    for (size_t j = 0; j < d; ++j) s += a[j] * b[j];
    return s;
  };
  const size_t chunks = std::max<size_t>(1, std::min<size_t>(n, 64));
  pool.for_each(chunks, [&](size_t c) {
    for (size_t i = n * c / chunks; i < n * (c + 1) / chunks; ++i) {
      if (pos[i] < 0) continue;
      const float* qi = q.data() + i * d;
      const float target = dot(qi, e.data() + static_cast<size_t>(pos[i]) * d);
      size_t count = 0;
      for (size_t j = 0; j < nc; ++j) count += dot(qi, e.data() + j * d) > target;
      better[i] = count;
    }
  });
  std::vector<double> acc(ks.size(), 0.0);
  size_t counted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (pos[i] < 0) continue;
    ++counted;
    for (size_t k = 0; k < ks.size(); ++k) acc[k] += better[i] < ks[k];
  }
  for (double& a : acc) a = counted ? a / static_cast<double>(counted) : 0.0;
  if (examples) *examples = counted;
  return acc;
}

double topk_overlap(const RetrievalModel& a, const RetrievalModel& b, const Table& queries, size_t k,
                    ThreadPool& pool) {
  if (a.index().keys() != b.index().keys())
    fail(ErrorKind::invalid_argument, "top-k overlap: the two models' indexes hold different candidates");
  if (k == 0) fail(ErrorKind::invalid_argument, "top-k overlap: k must be at least 1");
  const size_t n = queries.num_rows();
  if (n == 0) return 1.0;
  // Slots beyond the catalogue would hold only padding: a k larger than it compares them all.
  k = std::min(k, std::max<size_t>(a.index().size(), 1));
  SearchOptions so;
  so.k = k;
  const size_t slots = checked_mul(n, k, "top-k overlap: queries x k");
  std::vector<int64_t> ia(slots), ib(slots);
  std::vector<float> sa(slots), sb(slots);
  Matrix qa, qb;
  a.embed_queries(queries, qa);
  b.embed_queries(queries, qb);
  a.index().search(qa.data(), n, so, ia.data(), sa.data(), pool);
  b.index().search(qb.data(), n, so, ib.data(), sb.data(), pool);
  const size_t denom = std::min(k, a.index().size());
  if (denom == 0) return 1.0;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int64_t> x(ia.begin() + i * k, ia.begin() + (i + 1) * k),
        y(ib.begin() + i * k, ib.begin() + (i + 1) * k);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    std::vector<int64_t> common;
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(common));
    total += static_cast<double>(std::count_if(common.begin(), common.end(), [](int64_t v) { return v >= 0; })) /
             static_cast<double>(denom);
  }
  return total / static_cast<double>(n);
}

// ---------------------------------------------------------------------------------------------
// Export

std::vector<std::string> export_model(const RetrievalModel& model, const std::string& dir, const ExportOptions& o) {
  const TwoTowerModel& m = model.model();
  if (!m.ready()) fail(ErrorKind::invalid_argument, "export: the model is not trained or loaded");
  if (dir.empty()) fail(ErrorKind::invalid_argument, "export: empty output directory");
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;  // relative path, bytes

  auto add_matrix = [&](const std::string& stem, const Matrix& x) {
    if (o.npy) files.emplace_back(stem + ".npy", npy_bytes(x.data(), x.rows(), x.cols()));
    if (o.fvecs) files.emplace_back(stem + ".fvecs", fvecs_bytes(x.data(), x.rows(), x.cols()));
  };
  if (o.candidates) {
    add_matrix("candidate_embeddings", model.index().embeddings());
    files.emplace_back("candidate_keys.txt", lines_bytes(model.index().keys(), "candidate keys"));
  }
  if (o.queries) {
    Matrix q;
    model.embed_queries(*o.queries, q);
    add_matrix("query_embeddings", q);
  }
  if (o.weights) {
    std::vector<NamedTensor> tensors;
    for (const Parameter* p : m.parameters())
      tensors.push_back({p->name, p->value.rows(), p->value.cols(), p->value.data()});
    files.emplace_back("weights.safetensors",
                       safetensors_bytes(tensors, {{"format", "twotower"},
                                                   {"spec_name", m.spec().name},
                                                   {"layout", "kernel is in x out: y = x . kernel + bias"}}));
  }
  if (o.preprocessing) {
    const std::string spec = m.spec().to_json();
    files.emplace_back("spec.json", std::vector<uint8_t>(spec.begin(), spec.end()));
    json features = json::object();
    for (const Tower* t : {&m.query(), &m.candidate()}) {
      for (const FeatureEncoder& e : t->encoders()) {
        const FeatureSpec& fs = e.spec();
        json f;
        f["kind"] = feature_kind_name(fs.kind);
        const std::string what = "feature '" + t->prefix() + "/" + fs.name + "' vocabulary";
        if (const StringLookup* s = e.string_lookup()) {
          f["vocabulary"] = vocab_file(t->prefix(), fs.name);
          files.emplace_back(vocab_file(t->prefix(), fs.name), lines_bytes(s->vocabulary(), what));
        } else if (const MultiValueLookup* mv = e.multi_value_lookup()) {
          f["vocabulary"] = vocab_file(t->prefix(), fs.name);
          files.emplace_back(vocab_file(t->prefix(), fs.name), lines_bytes(mv->vocabulary(), what));
        } else if (const Discretization* d = e.discretization()) {
          f["boundaries"] = d->boundaries();
        } else if (const Normalization* nz = e.normalization()) {
          f["mean"] = nz->mean();
          f["variance"] = nz->variance();
        } else if (const TextVectorization* tv = e.text()) {
          const auto& v = tv->vocabulary();
          const auto& c = tv->token_counts();
          f["max_tokens"] = tv->max_tokens();
          f["vocabulary"] = vocab_file(t->prefix(), fs.name);
          f["counts"] = std::vector<uint64_t>(c.begin() + 2, c.end());
          files.emplace_back(vocab_file(t->prefix(), fs.name),
                             lines_bytes(std::vector<std::string>(v.begin() + 2, v.end()), what));
        } else {
          f["num_buckets"] = fs.num_buckets;  // hashing
        }
        features[t->prefix() + "/" + fs.name] = f;
      }
    }
    json pre = {{"format", "twotower-preprocessing"}, {"version", 1}, {"features", features}};
    const std::string text = pre.dump(2) + "\n";
    files.emplace_back("preprocessing.json", std::vector<uint8_t>(text.begin(), text.end()));
  }

  std::vector<std::string> written;
  for (const auto& [rel, bytes] : files) {
    const fs::path path = fs::path(dir) / rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) fail(ErrorKind::io, path.parent_path().string() + ": cannot create the directory: " + ec.message());
    write_file_atomically(path.string(), bytes);
    written.push_back(path.string());
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// Import

namespace {

json read_json_file(const std::string& path) {
  const std::string text = read_file(path, "JSON file");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(ErrorKind::parse, path + ": not valid JSON: " + e.what());
  }
}

// The fitted state of every feature, as FeatureEncoder::save_state bytes (the model file's
// preprocessing layout), from preprocessing.json, the spec, or a fit on the given tables.
void load_feature_state(FeatureEncoder& e, const std::string& full_name, const json* stored,
                        const std::string& pre_path, const ImportOptions& o) {
  const FeatureSpec& fs = e.spec();
  const std::string where = (stored ? pre_path : std::string("spec")) + ": feature '" + full_name + "'";
  auto bad = [&](const std::string& msg) -> void { fail(ErrorKind::invalid_argument, where + ": " + msg); };
  auto field = [&](const char* key) -> const json& {
    if (!stored->contains(key)) bad(std::string("missing '") + key + "'");
    return (*stored)[key];
  };
  auto lines_of = [&](const json& v) {
    if (!v.is_string()) bad("'vocabulary' must be a file name");
    const fs::path p = fs::path(pre_path).parent_path() / v.get<std::string>();
    return read_lines(p.string());
  };
  ByteWriter w;
  w.u8(static_cast<uint8_t>(fs.kind));
  try {
    if (stored) {
      if (!stored->is_object()) bad("must be a JSON object");
      const json& kind = field("kind");
      if (!kind.is_string() || kind.get<std::string>() != feature_kind_name(fs.kind))
        bad("kind is " + kind.dump() + ", the spec says '" + feature_kind_name(fs.kind) + "'");
      switch (fs.kind) {
        case FeatureKind::string_lookup:
          StringLookup::from_vocabulary(lines_of(field("vocabulary"))).save(w);
          break;
        case FeatureKind::multi_value_lookup:
          MultiValueLookup::from_vocabulary(lines_of(field("vocabulary"))).save(w);
          break;
        case FeatureKind::hashing: {
          const json& n = field("num_buckets");
          if (!n.is_number_unsigned() || n.get<uint64_t>() != fs.num_buckets)
            bad("num_buckets is " + n.dump() + ", the spec says " + std::to_string(fs.num_buckets));
          Hashing(fs.num_buckets).save(w);
          break;
        }
        case FeatureKind::discretization: {
          const json& b = field("boundaries");
          if (!b.is_array() || !std::all_of(b.begin(), b.end(), [](const json& x) { return x.is_number(); }))
            bad("'boundaries' must be an array of numbers");
          Discretization::from_boundaries(b.get<std::vector<double>>()).save(w);
          break;
        }
        case FeatureKind::normalization: {
          const json& mean = field("mean");
          const json& var = field("variance");
          if (!mean.is_number() || !var.is_number()) bad("'mean' and 'variance' must be numbers");
          Normalization::from_moments(mean.get<double>(), var.get<double>()).save(w);
          break;
        }
        case FeatureKind::text: {
          const std::vector<std::string> tokens = lines_of(field("vocabulary"));
          uint64_t max_tokens = fs.max_tokens;
          if (stored->contains("max_tokens")) {
            if (!(*stored)["max_tokens"].is_number_unsigned()) bad("'max_tokens' must be a non-negative integer");
            max_tokens = (*stored)["max_tokens"].get<uint64_t>();
          }
          std::vector<uint64_t> counts;
          if (stored->contains("counts")) {
            const json& c = (*stored)["counts"];
            if (!c.is_array() || !std::all_of(c.begin(), c.end(), [](const json& x) { return x.is_number_unsigned(); }))
              bad("'counts' must be an array of non-negative integers");
            counts = c.get<std::vector<uint64_t>>();
            if (counts.size() != tokens.size())
              bad(std::to_string(counts.size()) + " counts for " + std::to_string(tokens.size()) + " tokens");
          } else {
            // Without counts the file's order is the id order: record strictly decreasing counts.
            for (size_t i = 0; i < tokens.size(); ++i) counts.push_back(tokens.size() - i);
          }
          w.u8(1);  // TextVectorization state version (docs/model-format.md)
          w.u64(max_tokens);
          w.strings(tokens);
          w.array(counts);
          break;
        }
      }
    } else if (fs.kind == FeatureKind::hashing) {
      Hashing(fs.num_buckets).save(w);
    } else if (fs.kind == FeatureKind::string_lookup && !fs.vocabulary.empty()) {
      StringLookup::from_vocabulary(fs.vocabulary).save(w);
    } else if (fs.kind == FeatureKind::multi_value_lookup && !fs.vocabulary.empty()) {
      MultiValueLookup::from_vocabulary(fs.vocabulary).save(w);
    } else if (fs.kind == FeatureKind::discretization && !fs.boundaries.empty()) {
      Discretization::from_boundaries(fs.boundaries).save(w);
    } else if (o.interactions && o.candidates) {
      e.fit(*o.interactions, *o.candidates);
      return;
    } else {
      bad(std::string("no state for this ") + feature_kind_name(fs.kind) +
          " feature: give it in preprocessing.json or pass interactions and candidates to fit it on");
    }
    ByteReader r(w.bytes(), where);
    e.load_state(r);
    r.expect_end();
  } catch (const Error& err) {
    if (err.kind() == ErrorKind::corrupt) fail(ErrorKind::invalid_argument, err.what());
    throw;
  }
}

std::string existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::error_code ec;
    if (fs::exists(dir / n, ec)) return (dir / n).string();
  }
  return "";
}

}  // namespace

RetrievalModel import_model(const ImportOptions& o) {
  const fs::path dir = o.dir.empty() ? fs::path(".") : fs::path(o.dir);
  const std::string spec_path = o.spec_path.empty() ? (dir / "spec.json").string() : o.spec_path;
  TwoTowerModel m(ModelSpec::from_file(spec_path));

  // Preprocessing.
  std::string pre_path = o.preprocessing_path;
  if (pre_path.empty()) pre_path = existing(dir, {"preprocessing.json"});
  json pre;
  if (!pre_path.empty()) {
    pre = read_json_file(pre_path);
    if (!pre.is_object() || !pre.contains("features") || !pre["features"].is_object())
      fail(ErrorKind::invalid_argument, pre_path + ": expected an object with a 'features' object");
    if (pre.contains("version") && pre["version"] != 1)
      fail(ErrorKind::unsupported, pre_path + ": version " + pre["version"].dump() + " (this reader knows 1)");
  }
  std::set<std::string> known;
  for (Tower* t : {&m.query(), &m.candidate()})
    for (FeatureEncoder& e : t->encoders()) {
      const std::string name = t->prefix() + "/" + e.spec().name;
      known.insert(name);
      const json* stored = nullptr;
      if (!pre.is_null() && pre["features"].contains(name)) stored = &pre["features"][name];
      load_feature_state(e, name, stored, pre_path, o);
    }
  if (!pre.is_null())
    for (const auto& [name, v] : pre["features"].items())
      if (!known.count(name))
        fail(ErrorKind::invalid_argument, pre_path + ": feature '" + name + "' is not in the spec");

  // Weights.
  std::string weights_path = o.weights_path;
  if (weights_path.empty()) weights_path = existing(dir, {"weights.safetensors", "weights.npz"});
  if (weights_path.empty())
    fail(ErrorKind::invalid_argument, (dir / "weights.safetensors").string() + ": no weights file (nor weights.npz)");
  const bool npz = weights_path.ends_with(".npz");
  const auto tensors = npz ? read_npz(weights_path) : read_safetensors(weights_path);
  std::map<std::string, const FloatArray*> by_name;
  for (const auto& [name, a] : tensors)
    if (!by_name.emplace(name, &a).second)
      fail(ErrorKind::corrupt, weights_path + ": tensor '" + name + "' appears twice");
  const std::vector<ParameterShape> shapes = m.parameter_shapes();
  std::set<std::string> expected;
  for (const auto& s : shapes) {
    expected.insert(s.name);
    const std::string where = weights_path + ": tensor '" + s.name + "'";
    auto it = by_name.find(s.name);
    if (it == by_name.end())
      fail(ErrorKind::invalid_argument, where + " (" + shape_text(s.rows, s.cols) + ") is missing");
    const FloatArray& a = *it->second;
    const bool fits = (a.shape.size() == 2 && a.shape[0] == s.rows && a.shape[1] == s.cols) ||
                      (a.shape.size() == 1 && s.rows == 1 && a.shape[0] == s.cols);
    if (!fits)
      fail(ErrorKind::invalid_argument,
           where + " has shape " + shape_text(a.shape) + ", the spec implies (" + std::to_string(s.rows) + ", " +
               std::to_string(s.cols) + ")" +
               (s.name.ends_with("/kernel") ? " (in x out: transpose a PyTorch Linear weight)" : ""));
    for (size_t i = 0; i < a.values.size(); ++i)
      if (!std::isfinite(a.values[i]))
        fail(ErrorKind::invalid_argument, where + " has a non-finite value at element " + std::to_string(i));
  }
  for (const auto& [name, a] : tensors)
    if (!expected.count(name))
      fail(ErrorKind::invalid_argument, weights_path + ": unknown tensor '" + name + "' " + shape_text(a.shape) +
                                            " (the spec implies no tensor of that name)");
  m.allocate();
  for (Parameter* p : m.parameters()) {
    const FloatArray& a = *by_name.at(p->name);
    std::copy(a.values.begin(), a.values.end(), p->value.data());
  }

  // Index.
  RetrievalModel model(std::move(m));
  if (o.candidates) {
    ThreadPool pool(o.threads);
    model.build_index(*o.candidates, pool);
  } else {
    std::string emb_path = o.candidate_embeddings_path;
    if (emb_path.empty()) emb_path = existing(dir, {"candidate_embeddings.npy", "candidate_embeddings.fvecs"});
    const std::string keys_path =
        o.candidate_keys_path.empty() ? (dir / "candidate_keys.txt").string() : o.candidate_keys_path;
    if (emb_path.empty())
      fail(ErrorKind::invalid_argument, (dir / "candidate_embeddings.npy").string() +
                                            ": no candidate embeddings: give a candidates table to build the index, "
                                            "or candidate_embeddings.npy (or .fvecs) with candidate_keys.txt");
    const FloatArray e = emb_path.ends_with(".fvecs") ? read_fvecs(emb_path) : read_npy(emb_path);
    std::vector<std::string> keys = read_lines(keys_path);
    const size_t dim = model.model().embedding_dim();
    if (e.shape.size() != 2 || (e.shape[0] != 0 && e.shape[1] != dim))
      fail(ErrorKind::invalid_argument,
           emb_path + ": shape " + shape_text(e.shape) + ", expected (candidates, " + std::to_string(dim) + ")");
    if (e.shape[0] != keys.size())
      fail(ErrorKind::invalid_argument, emb_path + ": " + std::to_string(e.shape[0]) + " rows, " + keys_path + " has " +
                                            std::to_string(keys.size()) + " keys");
    for (size_t i = 0; i < e.values.size(); ++i)
      if (!std::isfinite(e.values[i]))
        fail(ErrorKind::invalid_argument, emb_path + ": non-finite value at row " + std::to_string(i / dim));
    Matrix emb(keys.size(), dim);
    std::copy(e.values.begin(), e.values.end(), emb.data());
    model.set_index(CandidateIndex(std::move(keys), std::move(emb)));
  }
  TrainingMetadata& meta = model.metadata();
  meta.library_version = kVersionString;
  meta.data_source = "imported from " + weights_path;
  meta.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return model;
}

}  // namespace tt
