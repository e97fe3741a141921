#include "model/spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "base/error.h"
#include "data/read_file.h"
#include "data/text.h"

namespace tt {

using json = nlohmann::json;

const char* feature_kind_name(FeatureKind k) {
  switch (k) {
    case FeatureKind::string_lookup:
      return "string_lookup";
    case FeatureKind::hashing:
      return "hashing";
    case FeatureKind::discretization:
      return "discretization";
    case FeatureKind::normalization:
      return "normalization";
    case FeatureKind::text:
      return "text";
    case FeatureKind::multi_value_lookup:
      return "multi_value_lookup";
  }
  return "unknown";
}

const char* sampling_estimate_name(SamplingEstimate e) {
  switch (e) {
    case SamplingEstimate::none:
      return "none";
    case SamplingEstimate::counts:
      return "counts";
    case SamplingEstimate::streaming:
      return "streaming";
  }
  return "unknown";
}

namespace {

// A number as the spec would spell it back: the shortest text that reads as the same double.
std::string format_number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
struct is_vector : std::false_type {};
template <class E>
struct is_vector<std::vector<E>> : std::true_type {};

// Edit distance, for "did you mean" hints on misspelt field names.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The first of `candidates` within two edits of `name` (a likely misspelling), else "".
template <class Range>
std::string near_miss(const std::string& name, const Range& candidates) {
  for (const std::string& c : candidates)
    if (c != name && edit_distance(name, c) <= 2) return c;
  return "";
}

// Walks a JSON object, remembering the path for messages and rejecting keys nobody read
// (a misspelt option must not be silently ignored).
class Reader {
 public:
  Reader(const json& j, std::string path, const std::string& source) : j_(j), path_(std::move(path)), source_(source) {
    if (!j_.is_object()) error("expected an object");
  }
  ~Reader() noexcept(false) {}

  [[noreturn]] void error(const std::string& msg, const std::string& key = "") const {
    std::string where = path_.empty() ? key : (key.empty() ? path_ : path_ + "." + key);
    // Keys and values come from the file: escaped, a message stays one line of UTF-8.
    fail(ErrorKind::parse, source_ + ": " + escape_for_message((where.empty() ? "" : where + ": ") + msg));
  }
  bool has(const std::string& key) { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& at(const std::string& key) {
    seen_.insert(key);
    if (!j_.contains(key)) {
      std::vector<std::string> present;
      for (const auto& [k, _] : j_.items()) present.push_back(k);
      const std::string typo = near_miss(key, present);
      error("missing required field" + (typo.empty() ? "" : " (found '" + typo + "': misspelt?)"), key);
    }
    return j_.at(key);
  }
  template <class T>
  T get(const std::string& key, const T& fallback) {
    seen_.insert(key);
    if (!has(key)) return fallback;
    return as<T>(j_.at(key), key);
  }
  template <class T>
  T require(const std::string& key) {
    return as<T>(at(key), key);
  }
  Reader child(const std::string& key) { return Reader(at(key), join(key), source_); }
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& source() const { return source_; }
  void finish() const {
    for (const auto& [k, _] : j_.items())
      if (!seen_.count(k)) {
        const std::string fix = near_miss(k, seen_);
        error("unknown field '" + k + "'" + (fix.empty() ? "" : " (did you mean '" + fix + "'?)"));
      }
  }

  template <class T>
  T as(const json& v, const std::string& key) const {
    try {
      if constexpr (is_vector<T>::value) {
        // Element by element, so [-1] or [1.5] is an error rather than a silent conversion.
        if (!v.is_array()) error("expected an array, got " + v.dump(), key);
        T out;
        for (size_t i = 0; i < v.size(); ++i)
          out.push_back(as<typename T::value_type>(v[i], key + "[" + std::to_string(i) + "]"));
        return out;
      } else if constexpr (std::is_same_v<T, size_t> || std::is_same_v<T, uint64_t>) {
        if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
          error("expected a non-negative integer, got " + v.dump(), key);
      } else if constexpr (std::is_same_v<T, int>) {
        if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT32_MAX) ||
            (!v.is_number_unsigned() && (v.get<int64_t>() > INT32_MAX || v.get<int64_t>() < INT32_MIN)))
          error("expected a 32-bit integer, got " + v.dump(), key);
      } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) error("expected a number, got " + v.dump(), key);
      } else if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) error("expected true or false, got " + v.dump(), key);
      } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) error("expected a string, got " + v.dump(), key);
      }
      return v.get<T>();
    } catch (const json::exception& e) {
      error(std::string("wrong type: ") + e.what(), key);
    }
  }

 private:
  const json& j_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

FeatureKind parse_kind(const std::string& s, Reader& r) {
  if (s == "string_lookup") return FeatureKind::string_lookup;
  if (s == "hashing") return FeatureKind::hashing;
  if (s == "discretization") return FeatureKind::discretization;
  if (s == "normalization") return FeatureKind::normalization;
  if (s == "text") return FeatureKind::text;
  if (s == "multi_value_lookup") return FeatureKind::multi_value_lookup;
  r.error("unknown kind '" + s +
              "' (expected string_lookup, hashing, discretization, normalization, text or multi_value_lookup)",
          "kind");
}

// A given vocabulary (string_lookup, multi_value_lookup), or none: fitted on the data.
std::vector<std::string> optional_vocabulary(Reader& r) {
  if (r.has("vocabulary")) {
    std::vector<std::string> v = r.get<std::vector<std::string>>("vocabulary", {});
    // A repeated entry would give one value two rows: refused here, naming the field, rather
    // than when the feature is built from the spec.
    std::unordered_map<std::string_view, size_t> first;
    for (size_t i = 0; i < v.size(); ++i)
      if (auto [at, fresh] = first.emplace(v[i], i); !fresh)
        r.error(
            "duplicate entry '" + v[i] + "' at positions " + std::to_string(at->second) + " and " + std::to_string(i),
            "vocabulary");
    return v;
  }
  r.get<int>("vocabulary", 0);  // marks a null field as seen
  return {};
}

FeatureSpec parse_feature(Reader r, FitOn default_fit) {
  FeatureSpec f;
  f.column = r.require<std::string>("column");
  f.name = r.get<std::string>("name", f.column);
  f.kind = parse_kind(r.require<std::string>("kind"), r);
  const std::string fit =
      r.get<std::string>("fit_on", default_fit == FitOn::interactions ? "interactions" : "candidates");
  if (fit == "interactions")
    f.fit_on = FitOn::interactions;
  else if (fit == "candidates")
    f.fit_on = FitOn::candidates;
  else
    r.error("expected 'interactions' or 'candidates', got '" + fit + "'", "fit_on");

  if (f.kind == FeatureKind::normalization) {
    if (r.has("embedding_dim"))
      r.error("a normalization feature has no embedding (it contributes one value to the tower input)",
              "embedding_dim");
    f.embedding_dim = 0;
  } else {
    f.embedding_dim = r.require<size_t>("embedding_dim");
    if (f.embedding_dim == 0 || f.embedding_dim > 4096) r.error("must be in 1..4096", "embedding_dim");
  }
  switch (f.kind) {
    case FeatureKind::string_lookup:
      f.vocabulary = optional_vocabulary(r);
      break;
    case FeatureKind::hashing:
      f.num_buckets = r.require<uint64_t>("num_buckets");
      if (f.num_buckets == 0 || f.num_buckets > (1ull << 31)) r.error("must be in 1..2^31", "num_buckets");
      break;
    case FeatureKind::discretization:
      f.num_boundaries = r.get<size_t>("num_boundaries", 1000);
      if (r.has("boundaries"))
        f.boundaries = r.get<std::vector<double>>("boundaries", {});
      else
        r.get<int>("boundaries", 0);
      // Checked here, where the error can name the field (the transform checks them again).
      for (size_t i = 1; i < f.boundaries.size(); ++i)
        if (f.boundaries[i] < f.boundaries[i - 1])
          r.error("not sorted ascending: boundary " + std::to_string(i) + " (" + format_number(f.boundaries[i]) +
                      ") is below boundary " + std::to_string(i - 1) + " (" + format_number(f.boundaries[i - 1]) + ")",
                  "boundaries");
      if (f.boundaries.empty() && (f.num_boundaries < 1 || f.num_boundaries > 10'000'000))
        r.error("must be in 1..10000000", "num_boundaries");
      break;
    case FeatureKind::text:
      f.max_tokens = r.get<size_t>("max_tokens", 10000);
      if (f.max_tokens < 2 || f.max_tokens > 10'000'000) r.error("must be in 2..10000000", "max_tokens");
      break;
    case FeatureKind::multi_value_lookup: {
      f.vocabulary = optional_vocabulary(r);
      const std::string sep = r.get<std::string>("separator", "|");
      if (sep.size() != 1) r.error("must be one character (one byte), e.g. \"|\"", "separator");
      f.separator = sep[0];
      const std::string pooling = r.get<std::string>("pooling", "mean");
      if (pooling == "mean")
        f.pooling = Pooling::mean;
      else if (pooling == "sum")
        f.pooling = Pooling::sum;
      else
        r.error("expected 'mean' or 'sum', got '" + pooling + "'", "pooling");
      break;
    }
    case FeatureKind::normalization:
      break;
  }
  r.finish();
  return f;
}

TowerSpec parse_tower(Reader r, FitOn default_fit, std::string* id_column) {
  TowerSpec t;
  if (id_column) *id_column = r.require<std::string>("id_column");
  const json& feats = r.at("features");
  if (!feats.is_array() || feats.empty()) r.error("expected a non-empty array", "features");
  for (size_t i = 0; i < feats.size(); ++i)
    t.features.push_back(
        parse_feature(Reader(feats[i], r.join("features[" + std::to_string(i) + "]"), r.source()), default_fit));
  t.layers = r.require<std::vector<size_t>>("layers");
  if (t.layers.empty()) r.error("needs at least one layer (the output size)", "layers");
  for (size_t l : t.layers)
    if (l == 0 || l > 65536) r.error("layer sizes must be in 1..65536", "layers");
  r.finish();
  return t;
}

json feature_json(const FeatureSpec& f) {
  json j = {{"name", f.name},
            {"column", f.column},
            {"kind", feature_kind_name(f.kind)},
            {"fit_on", f.fit_on == FitOn::interactions ? "interactions" : "candidates"}};
  if (f.kind != FeatureKind::normalization) j["embedding_dim"] = f.embedding_dim;
  switch (f.kind) {
    case FeatureKind::string_lookup:
      if (!f.vocabulary.empty()) j["vocabulary"] = f.vocabulary;
      break;
    case FeatureKind::hashing:
      j["num_buckets"] = f.num_buckets;
      break;
    case FeatureKind::discretization:
      j["num_boundaries"] = f.num_boundaries;
      if (!f.boundaries.empty()) j["boundaries"] = f.boundaries;
      break;
    case FeatureKind::text:
      j["max_tokens"] = f.max_tokens;
      break;
    case FeatureKind::multi_value_lookup:
      if (!f.vocabulary.empty()) j["vocabulary"] = f.vocabulary;
      j["separator"] = std::string(1, f.separator);
      j["pooling"] = f.pooling == Pooling::sum ? "sum" : "mean";
      break;
    case FeatureKind::normalization:
      break;
  }
  return j;
}

json tower_json(const TowerSpec& t) {
  json feats = json::array();
  for (const auto& f : t.features) feats.push_back(feature_json(f));
  return {{"features", feats}, {"layers", t.layers}};
}

}  // namespace

// nlohmann::json keeps the last of two equal keys in an object: a spec where two values compete
// ("epochs": 1 ... "epochs": 300) would train with whichever came last, silently. The parser's
// callback sees every key as it is read; this refuses the second one, naming its path.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& source) : source_(source) {}
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        count_element();
        stack_.push_back(Level{event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Level& level = stack_.back();
        std::string key = parsed.get<std::string>();
        if (!level.keys.insert(key).second) {
          const std::string where = path();
          fail(ErrorKind::parse, source_ + ": " +
                                     escape_for_message((where.empty() ? "" : where + ": ") + "duplicated key '" + key +
                                                        "' (JSON keeps only one of them: remove the other)"));
        }
        level.key = std::move(key);
        break;
      }
      case json::parse_event_t::value:
        count_element();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack_.pop_back();
        break;
    }
    return true;
  }

 private:
  struct Level {
    bool object;
    std::set<std::string> keys;
    std::string key;      // an object's current key
    size_t elements = 0;  // an array's elements so far
  };
  void count_element() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().elements;
  }
  // The object holding the current key, as the spec reader's messages write it (a.b[2].c).
  std::string path() const {
    std::string out;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Level& l = stack_[i];
      if (l.object)
        out += (out.empty() ? "" : ".") + l.key;
      else
        out += "[" + std::to_string(l.elements - 1) + "]";
    }
    return out;
  }
  std::string source_;
  std::vector<Level> stack_;
};

namespace {

// data.history: the column must be read by a multi_value_lookup feature of the query tower
// (whose separator joins the history) and by nothing in the candidate tower.
void parse_history(Reader h, ModelSpec& s) {
  HistoryOptions& o = s.data.history;
  o.column = h.require<std::string>("column");
  o.user_column = h.require<std::string>("user_column");
  o.time_column = h.require<std::string>("time_column");
  o.max_items = h.get<size_t>("max_items", 0);
  o.item_column = s.candidate_id_column;
  h.finish();
  for (const std::string* c : {&o.column, &o.user_column, &o.time_column})
    if (c->empty()) h.error("column names must not be empty");
  const FeatureSpec* reader = nullptr;
  for (const auto& f : s.query.features)
    if (f.column == o.column) {
      if (f.kind != FeatureKind::multi_value_lookup)
        h.error("the query feature '" + f.name + "' reads the history column '" + o.column +
                    "': it must be a multi_value_lookup",
                "column");
      reader = &f;
    }
  if (!reader)
    h.error("no query_tower feature reads '" + o.column + "' (add a multi_value_lookup feature on it)", "column");
  for (const auto& f : s.candidate.features)
    if (f.column == o.column)
      h.error("the candidate tower cannot read the history column '" + o.column + "'", "column");
  if (o.column == o.user_column || o.column == o.time_column || o.column == o.item_column)
    h.error("must be a new column, not one the history is built from", "column");
  o.separator = reader->separator;
}

}  // namespace

ModelSpec ModelSpec::from_json(const std::string& text, const std::string& source) {
  json root;
  try {
    root = json::parse(text, DuplicateKeyCheck(source));
  } catch (const json::parse_error& e) {
    fail(ErrorKind::parse,
         source + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + escape_for_message(e.what()));
  } catch (const json::exception& e) {
    // e.g. out_of_range for a number too large for a double ("1e400").
    fail(ErrorKind::parse, source + ": invalid JSON: " + escape_for_message(e.what()));
  }
  ModelSpec s;
  Reader r(root, "", source);
  s.name = r.get<std::string>("name", "model");
  if (r.has("columns")) {
    Reader cols = r.child("columns");
    for (const auto& [name, type] : root.at("columns").items()) {
      if (!type.is_string()) cols.error("expected a type name", name);
      try {
        s.columns[name] = parse_dtype(type.get<std::string>());
      } catch (const Error& e) {
        cols.error(e.what(), name);
      }
      cols.get<std::string>(name, "");
    }
    cols.finish();
  } else {
    r.get<int>("columns", 0);
  }
  s.query = parse_tower(r.child("query_tower"), FitOn::interactions, nullptr);
  {
    Reader c = r.child("candidate_tower");
    s.candidate = parse_tower(std::move(c), FitOn::candidates, &s.candidate_id_column);
  }
  if (s.query.layers.back() != s.candidate.layers.back())
    r.error("the last layers of the two towers must have the same size (query " +
                std::to_string(s.query.layers.back()) + ", candidate " + std::to_string(s.candidate.layers.back()) +
                ")",
            "candidate_tower.layers");
  std::map<std::string, std::string> names;  // feature name -> path of its first use
  for (const auto* t : {&s.query, &s.candidate})
    for (size_t i = 0; i < t->features.size(); ++i) {
      const std::string path =
          std::string(t == &s.query ? "query_tower" : "candidate_tower") + ".features[" + std::to_string(i) + "]";
      const auto [it, fresh] = names.emplace(t->features[i].name, path);
      if (!fresh)
        r.error("feature name '" + t->features[i].name + "' is already used by " + it->second +
                    " (names must be unique: they name the weights)",
                path + ".name");
    }

  if (r.has("task")) {
    Reader t = r.child("task");
    s.task.loss.temperature = t.get<float>("temperature", 1.0f);
    if (!(s.task.loss.temperature > 0.0f) || !std::isfinite(s.task.loss.temperature))
      t.error("must be a positive finite number", "temperature");
    s.task.loss.remove_accidental_hits = t.get<bool>("remove_accidental_hits", false);
    s.task.loss.num_hard_negatives = t.get<int>("num_hard_negatives", 0);
    if (s.task.loss.num_hard_negatives < 0 || s.task.loss.num_hard_negatives > 65536)
      t.error("must be in 0..65536", "num_hard_negatives");
    s.task.sample_weight_column = t.get<std::string>("sample_weight_column", "");
    s.task.sampling_probability_column = t.get<std::string>("sampling_probability_column", "");
    const std::string estimate = t.get<std::string>("sampling_probability", "none");
    if (estimate == "none")
      s.task.sampling_estimate = SamplingEstimate::none;
    else if (estimate == "counts")
      s.task.sampling_estimate = SamplingEstimate::counts;
    else if (estimate == "streaming")
      s.task.sampling_estimate = SamplingEstimate::streaming;
    else
      t.error("unknown estimate '" + estimate + "' (expected none, counts or streaming)", "sampling_probability");
    if (s.task.sampling_estimate != SamplingEstimate::none && !s.task.sampling_probability_column.empty())
      t.error("give either sampling_probability (estimated) or sampling_probability_column, not both",
              "sampling_probability");
    s.task.streaming_buckets = t.get<size_t>("streaming_buckets", s.task.streaming_buckets);
    if (s.task.streaming_buckets == 0 || s.task.streaming_buckets > (1u << 30))
      t.error("must be in 1..2^30", "streaming_buckets");
    s.task.streaming_alpha = t.get<float>("streaming_alpha", s.task.streaming_alpha);
    if (!(s.task.streaming_alpha > 0.0f && s.task.streaming_alpha <= 1.0f))
      t.error("must be in (0, 1]", "streaming_alpha");
    s.task.uniform_negatives = t.get<size_t>("uniform_negatives", 0);
    if (s.task.uniform_negatives > kMaxBatchSize)
      t.error("must be in 0.." + std::to_string(kMaxBatchSize), "uniform_negatives");
    t.finish();
  } else {
    r.get<int>("task", 0);
  }
  if (r.has("training")) {
    Reader t = r.child("training");
    if (t.has("optimizer")) {
      Reader o = t.child("optimizer");
      auto& oc = s.training.optimizer;
      oc.kind = o.get<std::string>("kind", "adagrad");
      oc.learning_rate = o.get<float>("learning_rate", oc.kind == "adagrad" ? 0.1f : 0.001f);
      oc.initial_accumulator = o.get<float>("initial_accumulator", 0.1f);
      oc.epsilon = o.get<float>("epsilon", 1e-7f);
      oc.beta1 = o.get<float>("beta1", 0.9f);
      oc.beta2 = o.get<float>("beta2", 0.999f);
      oc.momentum = o.get<float>("momentum", 0.0f);
      oc.weight_decay = o.get<float>("weight_decay", 0.0f);
      if (oc.kind != "adagrad" && oc.kind != "adam" && oc.kind != "sgd")
        o.error("unknown optimizer '" + oc.kind + "' (expected adagrad, adam or sgd)", "kind");
      if (!(oc.learning_rate > 0.0f) || !std::isfinite(oc.learning_rate))
        o.error("must be a positive finite number", "learning_rate");
      if (!(oc.initial_accumulator >= 0.0f) || !std::isfinite(oc.initial_accumulator))
        o.error("must be a finite number >= 0", "initial_accumulator");
      if (!(oc.epsilon > 0.0f) || !std::isfinite(oc.epsilon)) o.error("must be a positive finite number", "epsilon");
      for (const auto& [name, value] : {std::pair{"beta1", oc.beta1}, {"beta2", oc.beta2}, {"momentum", oc.momentum}})
        if (!(value >= 0.0f && value < 1.0f)) o.error("must be in [0, 1)", name);
      if (!(oc.weight_decay >= 0.0f) || !std::isfinite(oc.weight_decay))
        o.error("must be a finite number >= 0", "weight_decay");
      o.finish();
    } else {
      t.get<int>("optimizer", 0);
    }
    s.training.batch_size = t.get<size_t>("batch_size", 2048);
    s.training.epochs = t.get<size_t>("epochs", 300);
    s.training.eval_every = t.get<size_t>("eval_every", 5);
    s.training.eval_batch_size = t.get<size_t>("eval_batch_size", 4096);
    s.training.seed = t.get<uint64_t>("seed", 42);
    s.training.patience = t.get<size_t>("patience", 0);
    if (s.training.patience > kMaxEpochs) t.error("must be in 0.." + std::to_string(kMaxEpochs), "patience");
    s.training.early_stopping_k = t.get<size_t>("early_stopping_k", 100);
    s.training.refit_after_validation = t.get<bool>("refit_after_validation", false);
    if (s.training.batch_size == 0 || s.training.batch_size > kMaxBatchSize)
      t.error("must be in 1.." + std::to_string(kMaxBatchSize), "batch_size");
    if (s.training.epochs == 0 || s.training.epochs > kMaxEpochs)
      t.error("must be in 1.." + std::to_string(kMaxEpochs), "epochs");
    if (s.training.eval_every > kMaxEpochs) t.error("must be in 0.." + std::to_string(kMaxEpochs), "eval_every");
    if (s.training.eval_batch_size == 0 || s.training.eval_batch_size > kMaxBatchSize)
      t.error("must be in 1.." + std::to_string(kMaxBatchSize), "eval_batch_size");
    t.finish();
  } else {
    r.get<int>("training", 0);
  }
  if (r.has("data")) {
    Reader d = r.child("data");
    s.data.train_rows = d.get<size_t>("train_rows", 80000);
    s.data.test_rows = d.get<size_t>("test_rows", 20000);
    s.data.validation_rows = d.get<size_t>("validation_rows", 0);
    s.data.split_seed = d.get<uint64_t>("split_seed", 42);
    s.data.max_unknown_candidates = d.get<double>("max_unknown_candidates", 0.01);
    if (!(s.data.max_unknown_candidates >= 0.0 && s.data.max_unknown_candidates <= 1.0))
      d.error("must be a number in 0..1 (a share of the interactions)", "max_unknown_candidates");
    if (d.has("history")) parse_history(d.child("history"), s);
    d.finish();
  } else {
    r.get<int>("data", 0);
  }
  if (r.has("evaluation")) {
    Reader e = r.child("evaluation");
    s.eval.k = e.get<std::vector<size_t>>("k", s.eval.k);
    if (s.eval.k.empty()) e.error("needs at least one k", "k");
    if (s.eval.k.size() > kMaxEvaluatedK)
      e.error(
          "at most " + std::to_string(kMaxEvaluatedK) + " k values (TT_MAX_K), got " + std::to_string(s.eval.k.size()),
          "k");
    for (size_t k : s.eval.k)
      if (k == 0 || k > kMaxTopK) e.error("k must be positive and at most " + std::to_string(kMaxTopK), "k");
    s.eval.distinct_candidates = e.get<bool>("distinct_candidates", false);
    s.eval.sample_rows = e.get<size_t>("sample_rows", 0);
    s.eval.sample_seed = e.get<uint64_t>("sample_seed", s.eval.sample_seed);
    e.finish();
  } else {
    r.get<int>("evaluation", 0);
  }
  r.finish();
  if (s.training.patience > 0) {
    if (s.data.validation_rows == 0) r.error("early stopping needs data.validation_rows", "training.patience");
    if (std::find(s.eval.k.begin(), s.eval.k.end(), s.training.early_stopping_k) == s.eval.k.end())
      r.error(std::to_string(s.training.early_stopping_k) + " is not one of evaluation.k", "training.early_stopping_k");
  }
  if (s.training.refit_after_validation && s.training.patience == 0)
    r.error("refitting needs the epoch chosen by early stopping (training.patience > 0 and data.validation_rows)",
            "training.refit_after_validation");
  return s;
}

ModelSpec ModelSpec::from_file(const std::string& path) { return from_json(read_file(path, "spec file"), path); }

std::string ModelSpec::to_json() const {
  json j;
  j["name"] = name;
  if (!columns.empty()) {
    json cols = json::object();
    for (const auto& [n, t] : columns) cols[n] = dtype_name(t);
    j["columns"] = cols;
  }
  j["query_tower"] = tower_json(query);
  j["candidate_tower"] = tower_json(candidate);
  j["candidate_tower"]["id_column"] = candidate_id_column;
  j["task"] = {{"temperature", task.loss.temperature},
               {"remove_accidental_hits", task.loss.remove_accidental_hits},
               {"num_hard_negatives", task.loss.num_hard_negatives},
               {"sample_weight_column", task.sample_weight_column},
               {"sampling_probability_column", task.sampling_probability_column}};
  // Options added later are written only when set, so a model that does not use them stays
  // readable by readers that predate them.
  if (task.sampling_estimate != SamplingEstimate::none)
    j["task"]["sampling_probability"] = sampling_estimate_name(task.sampling_estimate);
  if (task.sampling_estimate == SamplingEstimate::streaming) {
    j["task"]["streaming_buckets"] = task.streaming_buckets;
    j["task"]["streaming_alpha"] = task.streaming_alpha;
  }
  if (task.uniform_negatives) j["task"]["uniform_negatives"] = task.uniform_negatives;
  const auto& o = training.optimizer;
  j["training"] = {{"optimizer",
                    {{"kind", o.kind},
                     {"learning_rate", o.learning_rate},
                     {"initial_accumulator", o.initial_accumulator},
                     {"epsilon", o.epsilon},
                     {"beta1", o.beta1},
                     {"beta2", o.beta2},
                     {"momentum", o.momentum}}},
                   {"batch_size", training.batch_size},
                   {"epochs", training.epochs},
                   {"eval_every", training.eval_every},
                   {"eval_batch_size", training.eval_batch_size},
                   {"seed", training.seed}};
  // Written only when set, so specs without it stay readable by readers that predate it.
  if (o.weight_decay != 0.0f) j["training"]["optimizer"]["weight_decay"] = o.weight_decay;
  if (training.patience) {
    j["training"]["patience"] = training.patience;
    j["training"]["early_stopping_k"] = training.early_stopping_k;
  }
  if (training.refit_after_validation) j["training"]["refit_after_validation"] = true;
  j["data"] = {{"train_rows", data.train_rows},
               {"test_rows", data.test_rows},
               {"split_seed", data.split_seed},
               {"max_unknown_candidates", data.max_unknown_candidates}};
  if (data.validation_rows) j["data"]["validation_rows"] = data.validation_rows;
  if (!data.history.column.empty()) {
    j["data"]["history"] = {{"column", data.history.column},
                            {"user_column", data.history.user_column},
                            {"time_column", data.history.time_column}};
    if (data.history.max_items) j["data"]["history"]["max_items"] = data.history.max_items;
  }
  j["evaluation"] = {{"k", eval.k}, {"distinct_candidates", eval.distinct_candidates}};
  if (eval.sample_rows) {
    j["evaluation"]["sample_rows"] = eval.sample_rows;
    j["evaluation"]["sample_seed"] = eval.sample_seed;
  }
  return j.dump(2);
}

}  // namespace tt
