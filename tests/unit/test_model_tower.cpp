// Feature encoders and towers on small synthetic tables: what every kind of feature encodes to
// (string and int64 ids, hashing, discretization, normalization, text), clear errors for
// missing or mistyped columns, the training path (oneDNN) against the inference path (sgemm),
// a whole-tower finite-difference gradient check, and encoder state save/load.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/random.h"
#include "engine_test_helpers.h"
#include "model/feature_encoder.h"
#include "model/spec.h"
#include "model/tower.h"

using namespace tt;

namespace {

// The ErrorKind and message `f` throws (kind 0 when it returns normally).
struct Thrown {
  int kind = 0;
  std::string message;
};
template <class F>
Thrown thrown(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {static_cast<int>(e.kind()), e.what()};
  }
  return {};
}
constexpr int kInvalidArg = static_cast<int>(ErrorKind::invalid_argument);
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Interactions: string user ids, int64 user ids, int64 timestamps, float ratings, titles.
Table interactions() {
  Table t;
  t.add(Column("user_id", Column::Strings{"u3", "u1", "u10", "u1", "u2", "u3"}));
  t.add(Column("user_num", Column::Ints{42, 7, 100, 7, 9, 42}));
  t.add(Column("timestamp", Column::Ints{1000, 1100, 1200, 1300, 1400, 2000}));
  t.add(Column("rating", Column::Floats{1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 3.0f}));
  t.add(Column("title", Column::Strings{"Red Fish (1995)", "Blue fish", "red, RED fish!", "The Cat", "the cat (1995)",
                                        "Blue fish"}));
  t.add(Column("tags", Column::Strings{"a|b", "b", "", "a|a|c", "b|zz", "c"}));
  return t;
}

// The catalogue: a different set of titles than the interactions have.
Table candidates() {
  Table t;
  t.add(Column("title", Column::Strings{"Red Fish", "Blue fish", "The Cat", "Green Dog", "the dog"}));
  t.add(Column("item_num", Column::Ints{5, 6, 7, 8, 9}));
  return t;
}

FeatureSpec feature(const std::string& name, const std::string& column, FeatureKind kind, size_t dim) {
  FeatureSpec f;
  f.name = name;
  f.column = column;
  f.kind = kind;
  f.embedding_dim = kind == FeatureKind::normalization ? 0 : dim;
  return f;
}

FeatureEncoder fitted(const FeatureSpec& f) {
  FeatureEncoder e(f);
  e.fit(interactions(), candidates());
  REQUIRE(e.fitted());
  return e;
}

std::vector<int32_t> encode_ids(const FeatureEncoder& e, const Table& t) {
  EncodedFeature out;
  e.encode(t, out);
  CHECK(out.values.empty());
  return out.ids;
}

Table one_string_column(const std::string& name, std::vector<std::string> v) {
  Table t;
  t.add(Column(name, std::move(v)));
  return t;
}
Table one_int_column(const std::string& name, std::vector<int64_t> v) {
  Table t;
  t.add(Column(name, std::move(v)));
  return t;
}

// A query tower over every kind of feature, with layers [8, 4] and ReLU between them.
TowerSpec mixed_tower_spec() {
  TowerSpec s;
  s.features.push_back(feature("user", "user_id", FeatureKind::string_lookup, 3));
  s.features.push_back(feature("ts_norm", "timestamp", FeatureKind::normalization, 0));
  s.features.push_back(feature("user_num", "user_num", FeatureKind::string_lookup, 2));
  FeatureSpec bucket = feature("ts_bucket", "timestamp", FeatureKind::discretization, 3);
  bucket.num_boundaries = 4;
  s.features.push_back(bucket);
  FeatureSpec hash = feature("user_hash", "user_num", FeatureKind::hashing, 2);
  hash.num_buckets = 5;
  s.features.push_back(hash);
  FeatureSpec text = feature("title_text", "title", FeatureKind::text, 4);
  text.max_tokens = 20;
  text.fit_on = FitOn::candidates;
  s.features.push_back(text);
  FeatureSpec tags = feature("tags", "tags", FeatureKind::multi_value_lookup, 2);
  tags.pooling = Pooling::sum;
  s.features.push_back(tags);
  s.layers = {8, 4};
  return s;
}

Tower built_tower(uint64_t seed) {
  Tower t("query", mixed_tower_spec());
  t.fit(interactions(), candidates());
  Rng rng(seed);
  t.build(rng);
  // Non-zero biases, so a wrong bias gradient cannot hide behind zeros.
  for (auto& l : t.layers())
    for (float& b : l.bias.value.span()) b = rng.uniform(-0.3f, 0.3f);
  return t;
}

double weighted_sum(const Matrix& r, const Matrix& y) {
  REQUIRE(r.rows() == y.rows());
  REQUIRE(r.cols() == y.cols());
  double s = 0.0;
  for (size_t k = 0; k < y.size(); ++k) s += static_cast<double>(r.data()[k]) * y.data()[k];
  return s;
}

}  // namespace

TEST_CASE("feature encoder: string lookup of string and int64 ids") {
  // Fitted vocabulary: the distinct values sorted by bytes; row 0 is OOV.
  const FeatureEncoder e = fitted(feature("user", "user_id", FeatureKind::string_lookup, 4));
  CHECK(e.string_lookup()->vocabulary() == std::vector<std::string>{"u1", "u10", "u2", "u3"});
  CHECK(e.table_rows() == 5);
  CHECK(e.output_dim() == 4);
  CHECK(encode_ids(e, interactions()) == std::vector<int32_t>{4, 1, 2, 1, 3, 4});
  CHECK(encode_ids(e, one_string_column("user_id", {"u2", "nobody", ""})) == std::vector<int32_t>{3, 0, 0});

  // int64 ids are looked up by their decimal text: the vocabulary sorts "100" < "42" < "7" < "9".
  const FeatureEncoder n = fitted(feature("num", "user_num", FeatureKind::string_lookup, 4));
  CHECK(n.string_lookup()->vocabulary() == std::vector<std::string>{"100", "42", "7", "9"});
  CHECK(encode_ids(n, interactions()) == std::vector<int32_t>{2, 3, 1, 3, 4, 2});
  CHECK(encode_ids(n, one_int_column("user_num", {9, -9, 1000})) == std::vector<int32_t>{4, 0, 0});
  // ... so a string column holding the same digits encodes the same way.
  CHECK(encode_ids(n, one_string_column("user_num", {"9", "42", "042"})) == std::vector<int32_t>{4, 2, 0});

  // A given vocabulary keeps its order, is used as it is (not refitted) and works for int64.
  FeatureSpec given = feature("num", "user_num", FeatureKind::string_lookup, 4);
  given.vocabulary = {"7", "42"};
  const FeatureEncoder g = fitted(given);
  CHECK(g.table_rows() == 3);
  CHECK(encode_ids(g, interactions()) == std::vector<int32_t>{2, 1, 0, 1, 0, 2});

  // fit_on candidates reads the catalogue instead of the interactions.
  FeatureSpec cat = feature("item", "item_num", FeatureKind::string_lookup, 4);
  cat.fit_on = FitOn::candidates;
  const FeatureEncoder c = fitted(cat);
  CHECK(c.string_lookup()->vocabulary() == std::vector<std::string>{"5", "6", "7", "8", "9"});
}

TEST_CASE("feature encoder: hashing of string and int64 ids") {
  FeatureSpec s = feature("h", "user_id", FeatureKind::hashing, 4);
  s.num_buckets = 7;
  const FeatureEncoder e = fitted(s);
  CHECK(e.table_rows() == 7);
  const Hashing h(7);
  const Table t = interactions();
  const std::vector<int32_t> ids = encode_ids(e, t);
  REQUIRE(ids.size() == t.num_rows());
  for (size_t i = 0; i < ids.size(); ++i) {
    CHECK(ids[i] == h.bucket(t.column("user_id").strings()[i]));
    CHECK(ids[i] >= 0);
    CHECK(ids[i] < 7);
  }
  // An int64 column hashes as its decimal text, like the equivalent string column.
  FeatureSpec n = s;
  n.column = "user_num";
  const FeatureEncoder ne = fitted(n);
  const std::vector<int32_t> from_ints = encode_ids(ne, t);
  CHECK(from_ints == encode_ids(ne, one_string_column("user_num", {"42", "7", "100", "7", "9", "42"})));
  CHECK(from_ints[0] == h.bucket("42"));
  CHECK(from_ints[2] == h.bucket(int64_t{100}));
}

TEST_CASE("feature encoder: discretization and normalization of int64 and float32 columns") {
  FeatureSpec s = feature("ts", "timestamp", FeatureKind::discretization, 4);
  s.num_boundaries = 5;  // linspace(1000, 2000, 5) = 1000, 1250, 1500, 1750, 2000
  const FeatureEncoder e = fitted(s);
  CHECK(e.discretization()->boundaries() == std::vector<double>{1000, 1250, 1500, 1750, 2000});
  CHECK(e.table_rows() == 6);
  // bucket = number of boundaries <= x: equal to a boundary goes right.
  CHECK(encode_ids(e, interactions()) == std::vector<int32_t>{1, 1, 1, 2, 2, 5});
  CHECK(encode_ids(e, one_int_column("timestamp", {999, 1249, 1250, 1751, 99999})) ==
        std::vector<int32_t>{0, 1, 2, 4, 5});
  // A float32 column goes through the same float64 comparison.
  Table f;
  f.add(Column("timestamp", Column::Floats{1249.5f, 1250.0f, -1.0f}));
  CHECK(encode_ids(e, f) == std::vector<int32_t>{1, 2, 0});

  FeatureSpec given = feature("r", "rating", FeatureKind::discretization, 4);
  given.boundaries = {2.0, 4.5};
  const FeatureEncoder g = fitted(given);
  CHECK(g.table_rows() == 3);
  CHECK(encode_ids(g, interactions()) == std::vector<int32_t>{0, 1, 1, 1, 2, 1});

  // Normalization: population mean and standard deviation, one float per row.
  const FeatureEncoder n = fitted(feature("r", "rating", FeatureKind::normalization, 0));
  CHECK(n.output_dim() == 1);
  CHECK_FALSE(n.has_embedding());
  CHECK(n.table_rows() == 0);
  const double mean = 3.0, sd = std::sqrt(10.0 / 6.0);  // ratings 1 2 3 4 5 3
  CHECK(n.normalization()->mean() == doctest::Approx(mean));
  CHECK(n.normalization()->scale() == doctest::Approx(sd));
  EncodedFeature out;
  n.encode(interactions(), out);
  CHECK(out.ids.empty());
  REQUIRE(out.values.size() == 6);
  CHECK(out.values[0] == static_cast<float>((1.0 - mean) / n.normalization()->scale()));
  CHECK(out.values[4] == static_cast<float>((5.0 - mean) / n.normalization()->scale()));
  const FeatureEncoder nt = fitted(feature("t", "timestamp", FeatureKind::normalization, 0));
  nt.encode(one_int_column("timestamp", {1500}), out);
  CHECK(nt.normalization()->mean() == doctest::Approx(8000.0 / 6.0));
  CHECK(out.values[0] == doctest::Approx((1500.0 - 8000.0 / 6.0) / nt.normalization()->scale()));
}

TEST_CASE("feature encoder: text tokens, padding and mean pooling inputs") {
  FeatureSpec s = feature("text", "title", FeatureKind::text, 4);
  s.max_tokens = 20;
  s.fit_on = FitOn::candidates;
  const FeatureEncoder e = fitted(s);
  // Fitted on the catalogue's titles (repeats counted): "the" 2, "fish" 2, "dog" 2, then the
  // count-1 tokens; ties by bytes descending. "1995" only occurs in the interactions: OOV.
  const TextVectorization direct = TextVectorization::fit(candidates().column("title").strings(), 20);
  CHECK(e.text()->vocabulary() == direct.vocabulary());
  CHECK(e.text()->vocabulary()[2] == "the");
  CHECK(e.table_rows() == 20);  // max_tokens rows, though fewer are used

  EncodedFeature out;
  e.encode(interactions(), out);
  CHECK(out.width == 3);  // the longest title ("red, RED fish!" -> red red fish) has 3 tokens
  REQUIRE(out.ids.size() == 6 * 3);
  const int32_t red = direct.token_id("red"), fish = direct.token_id("fish"), blue = direct.token_id("blue");
  CHECK(red > 1);
  CHECK(std::vector<int32_t>(out.ids.begin(), out.ids.begin() + 3) ==
        std::vector<int32_t>{red, fish, 1});  // "1995" is OOV
  CHECK(std::vector<int32_t>(out.ids.begin() + 3, out.ids.begin() + 6) == std::vector<int32_t>{blue, fish, 0});
  CHECK(std::vector<int32_t>(out.ids.begin() + 6, out.ids.begin() + 9) == std::vector<int32_t>{red, red, fish});
  const TokenBatch tb = direct.apply(interactions().column("title").strings());
  CHECK(tb.ids == out.ids);

  // A batch of empty texts is one column of padding.
  e.encode(one_string_column("title", {"", "!!"}), out);
  CHECK(out.width == 1);
  CHECK(out.ids == std::vector<int32_t>{0, 0});
}

TEST_CASE("feature encoder: multi-valued lookup splits on the separator, pads with 0") {
  FeatureSpec s = feature("tags", "tags", FeatureKind::multi_value_lookup, 3);
  const FeatureEncoder e = fitted(s);
  const MultiValueLookup* m = e.multi_value_lookup();
  REQUIRE(m);
  CHECK(m->vocabulary() == std::vector<std::string>{"a", "b", "c", "zz"});
  CHECK(e.table_rows() == 6);
  CHECK(e.pooled());
  EncodedFeature out;
  e.encode(interactions(), out);
  CHECK(out.width == 3);
  CHECK(out.ids == std::vector<int32_t>{2, 3, 0, 3, 0, 0, 0, 0, 0, 2, 2, 4, 3, 5, 0, 4, 0, 0});
  // Another separator, a given vocabulary (its order kept), unknown values to OOV (1).
  s.separator = ',';
  s.vocabulary = {"zz", "a"};
  const FeatureEncoder g = fitted(s);
  g.encode(one_string_column("tags", {"a,new", "zz"}), out);
  CHECK(out.width == 2);
  CHECK(out.ids == std::vector<int32_t>{3, 1, 2, 0});
  CHECK(contains(g.describe(), "2 values + OOV + padding = 4 rows, mean-pooled"));
}

TEST_CASE("feature encoder: missing or mistyped columns name the feature and the column") {
  // Missing in the table a feature is fitted on.
  FeatureEncoder q(feature("user", "user_id", FeatureKind::string_lookup, 4));
  FeatureSpec cs = feature("user", "user_id", FeatureKind::string_lookup, 4);
  cs.fit_on = FitOn::candidates;
  FeatureEncoder c(cs);
  Thrown t = thrown([&] { c.fit(interactions(), candidates()); });
  CHECK(t.kind == kInvalidArg);
  CHECK(contains(t.message, "feature 'user'"));
  CHECK(contains(t.message, "candidates table has no column 'user_id'"));

  // Encoding before fitting.
  t = thrown([&] {
    EncodedFeature o;
    q.encode(interactions(), o);
  });
  CHECK(t.kind == kInvalidArg);
  CHECK(contains(t.message, "feature 'user' is not fitted"));

  // Missing in the table being encoded.
  q.fit(interactions(), candidates());
  t = thrown([&] {
    EncodedFeature o;
    q.encode(candidates(), o);
  });
  CHECK(t.kind == kInvalidArg);
  CHECK(contains(t.message, "feature 'user'"));
  CHECK(contains(t.message, "column 'user_id'"));

  // Wrong types, at fit time and at encode time.
  struct Case {
    FeatureKind kind;
    const char* column;
  };
  for (Case k : {Case{FeatureKind::string_lookup, "rating"}, Case{FeatureKind::discretization, "user_id"},
                 Case{FeatureKind::normalization, "title"}, Case{FeatureKind::text, "timestamp"},
                 Case{FeatureKind::multi_value_lookup, "timestamp"}}) {
    CAPTURE(feature_kind_name(k.kind));
    FeatureEncoder e(feature("bad", k.column, k.kind, 4));
    t = thrown([&] { e.fit(interactions(), candidates()); });
    CHECK(t.kind == kInvalidArg);
    CHECK(contains(t.message, "feature 'bad'"));
    CHECK(contains(t.message, std::string("'") + k.column + "'"));
  }
  // Fitted on the right type, then handed the wrong type.
  const Table wrong = [] {
    Table w;
    w.add(Column("user_id", Column::Floats{1.0f}));
    w.add(Column("timestamp", Column::Strings{"yesterday"}));
    w.add(Column("title", Column::Ints{3}));
    w.add(Column("user_num", Column::Floats{2.0f}));
    w.add(Column("tags", Column::Ints{4}));
    return w;
  }();
  FeatureSpec hs = feature("hash", "user_num", FeatureKind::hashing, 4);
  hs.num_buckets = 3;
  FeatureSpec ts = feature("text", "title", FeatureKind::text, 4);
  for (const FeatureSpec& f : {feature("lookup", "user_id", FeatureKind::string_lookup, 4),
                               feature("bucket", "timestamp", FeatureKind::discretization, 4),
                               feature("norm", "timestamp", FeatureKind::normalization, 0), hs, ts,
                               feature("tags", "tags", FeatureKind::multi_value_lookup, 4)}) {
    CAPTURE(f.name);
    const FeatureEncoder e = fitted(f);
    t = thrown([&] {
      EncodedFeature o;
      e.encode(wrong, o);
    });
    CHECK(t.kind == kInvalidArg);
    CHECK(contains(t.message, "feature '" + f.name + "'"));
    CHECK(contains(t.message, "'" + f.column + "'"));
  }
}

TEST_CASE("feature encoder: save_state and load_state round trip") {
  const Table t = interactions();
  const TowerSpec spec = mixed_tower_spec();
  for (const FeatureSpec& f : spec.features) {
    CAPTURE(f.name);
    const FeatureEncoder e = fitted(f);
    ByteWriter w;
    e.save_state(w);
    const std::vector<uint8_t> blob = w.take();

    FeatureEncoder back(f);
    ByteReader r(blob, "encoder state");
    back.load_state(r);
    r.expect_end();
    REQUIRE(back.fitted());
    EncodedFeature a, b;
    e.encode(t, a);
    back.encode(t, b);
    CHECK(a.ids == b.ids);
    CHECK(a.width == b.width);
    REQUIRE(a.values.size() == b.values.size());
    if (!a.values.empty()) CHECK(std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0);
    CHECK(back.table_rows() == e.table_rows());
    CHECK(back.describe() == e.describe());

    // The state of one kind does not load into a feature of another.
    FeatureSpec other = f;
    other.kind = f.kind == FeatureKind::hashing ? FeatureKind::text : FeatureKind::hashing;
    FeatureEncoder wrong(other);
    ByteReader r2(blob, "encoder state");
    CHECK(thrown([&] { wrong.load_state(r2); }).kind == static_cast<int>(ErrorKind::corrupt));
  }
  // An unfitted encoder has no state to save.
  FeatureEncoder unfitted(spec.features[0]);
  ByteWriter w;
  CHECK(thrown([&] { unfitted.save_state(w); }).kind == kInvalidArg);
}

TEST_CASE("tower: training path and inference path agree") {
  Tower tower = built_tower(11);
  CHECK(tower.built());
  CHECK(tower.input_dim() == 3 + 1 + 2 + 3 + 2 + 4 + 2);
  CHECK(tower.output_dim() == 4);
  // Parameter names and shapes: embeddings in feature order, then kernel and bias per layer.
  const std::vector<Parameter*> params = tower.parameters();
  REQUIRE(params.size() == 6 + 4);
  CHECK(params[0]->name == "query/user/embedding");
  CHECK(params[0]->value.rows() == 5);  // u1 u10 u2 u3 + OOV
  CHECK(params[0]->value.cols() == 3);
  CHECK(params[1]->name == "query/user_num/embedding");
  CHECK(params[2]->name == "query/ts_bucket/embedding");
  CHECK(params[2]->value.rows() == 5);
  CHECK(params[3]->name == "query/user_hash/embedding");
  CHECK(params[4]->name == "query/title_text/embedding");
  CHECK(params[4]->value.rows() == 20);
  CHECK(params[5]->name == "query/tags/embedding");
  CHECK(params[5]->value.rows() == 6);  // padding, OOV, a b c zz
  CHECK(params[6]->name == "query/dense_0/kernel");
  CHECK(params[6]->value.rows() == tower.input_dim());
  CHECK(params[6]->value.cols() == 8);
  CHECK(params[9]->name == "query/dense_1/bias");
  for (const Parameter* p : params) {
    CAPTURE(p->name);
    bool nonzero = false;
    for (float v : p->value.span()) nonzero |= v != 0.0f;
    CHECK(nonzero);
  }

  const EncodedBatch batch = tower.encode(interactions());
  CHECK(batch.rows == 6);
  TowerActivations act;
  const Matrix train_out = forward_whole(tower, batch, act);
  Matrix infer_out;
  TowerScratch scratch;
  tower.embed(batch, infer_out, scratch);
  REQUIRE(train_out.rows() == 6);
  REQUIRE(train_out.cols() == 4);
  REQUIRE(infer_out.rows() == 6);
  REQUIRE(infer_out.cols() == 4);
  double diff = 0.0, ref = 0.0;
  for (size_t k = 0; k < train_out.size(); ++k) {
    diff = std::max(diff, std::abs(static_cast<double>(train_out.data()[k]) - infer_out.data()[k]));
    ref = std::max(ref, std::abs(static_cast<double>(infer_out.data()[k])));
  }
  CHECK(ref > 1e-2);
  CHECK(diff <= 1e-5 * ref);

  // A gathered sub-batch gives the same rows.
  EncodedBatch sub;
  const std::vector<size_t> rows = {5, 2};
  sub.gather(batch, rows);
  Matrix sub_out;
  tower.embed(sub, sub_out, scratch);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t c = 0; c < 4; ++c) CHECK(sub_out.at(i, c) == doctest::Approx(infer_out.at(rows[i], c)).epsilon(1e-5));

  // An empty batch is fine on the inference path.
  EncodedBatch none;
  none.gather(batch, std::vector<size_t>{});
  tower.embed(none, sub_out, scratch);
  CHECK(sub_out.rows() == 0);

  // Not built: both paths refuse.
  Tower unbuilt("query", mixed_tower_spec());
  CHECK(thrown([&] { unbuilt.embed(batch, sub_out, scratch); }).kind == kInvalidArg);
  CHECK(thrown([&] { forward_whole(unbuilt, batch, act); }).kind == kInvalidArg);
  Rng rng(1);
  CHECK(contains(thrown([&] { unbuilt.build(rng); }).message, "feature 'user' is not fitted"));
}

TEST_CASE("tower: whole-tower gradients match finite differences") {
  Tower tower = built_tower(5);
  const EncodedBatch batch = tower.encode(interactions());
  Rng rng(99);
  Matrix r(batch.rows, tower.output_dim());
  for (float& v : r.span()) v = rng.uniform(-1.0f, 1.0f);

  // Analytic: backward of L = sum(R ⊙ output) is d_out = R.
  for (Parameter* p : tower.parameters()) p->clear_grad();
  TowerActivations act;
  const Matrix& out = forward_whole(tower, batch, act);
  const double l0 = weighted_sum(r, out);
  CHECK(std::isfinite(l0));
  backward_whole(tower, batch, act, r);

  // Numeric: central differences of L evaluated in the inference path.
  TowerScratch scratch;
  Matrix y;
  auto loss = [&] {
    tower.embed(batch, y, scratch);
    return weighted_sum(r, y);
  };
  auto numeric = [&](float& v) {
    const float eps = 1e-2f;
    const float orig = v;
    v = orig + eps;
    const double up = loss();
    const float vu = v;
    v = orig - eps;
    const double down = loss();
    const float vd = v;
    v = orig;
    return (up - down) / (static_cast<double>(vu) - vd);
  };
  // Compares a set of gradient entries, max-norm relative; also requires the check to be able to
  // fail (a non-trivial gradient that a doubled or sign-flipped one would not match).
  auto check_entries = [&](Parameter& p, const std::vector<std::pair<size_t, size_t>>& entries, const char* what) {
    INFO(std::string(what) << " of " << p.name);
    double diff = 0.0, diff2 = 0.0, diffneg = 0.0, ref = 0.0;
    for (auto [row, col] : entries) {
      const double n = numeric(p.value.at(row, col));
      const double a = p.grad.at(row, col);
      CAPTURE(row);
      CAPTURE(col);
      diff = std::max(diff, std::abs(a - n));
      diff2 = std::max(diff2, std::abs(2 * a - n));
      diffneg = std::max(diffneg, std::abs(-a - n));
      ref = std::max(ref, std::abs(n));
    }
    CAPTURE(diff);
    CAPTURE(ref);
    REQUIRE(ref > 1e-3);
    CHECK(diff / ref < 2e-3);
    CHECK(diff2 / ref > 0.1);
    CHECK(diffneg / ref > 0.1);
  };
  auto row = [](const Parameter& p, size_t r0) {
    std::vector<std::pair<size_t, size_t>> e;
    for (size_t c = 0; c < p.value.cols(); ++c) e.push_back({r0, c});
    return e;
  };

  std::vector<Parameter>& emb = tower.embeddings();
  REQUIRE(emb.size() == 6);
  // The user-id row of "u1" (row 1), which two rows of the batch share (gradients summed).
  check_entries(emb[0], row(emb[0], 1), "embedding row");
  // The token "red": twice in one title and once in another (mean pooling over 3 and 3 tokens).
  const int32_t red = tower.encoders()[5].text()->token_id("red");
  REQUIRE(red > 1);
  check_entries(emb[4], row(emb[4], static_cast<size_t>(red)), "text token row");
  // The OOV token row (the "1995" of two titles).
  check_entries(emb[4], row(emb[4], 1), "text OOV row");
  // The discretization and hashing rows the first interaction uses.
  check_entries(emb[2], row(emb[2], static_cast<size_t>(batch.features[3].ids[0])), "bucket row");
  check_entries(emb[3], row(emb[3], static_cast<size_t>(batch.features[4].ids[0])), "hash row");
  // The multi-valued, sum-pooled tags: "a" twice in one row and once in another, "zz" once.
  const MultiValueLookup* tags = tower.encoders()[6].multi_value_lookup();
  REQUIRE(tags);
  check_entries(emb[5], row(emb[5], static_cast<size_t>(tags->lookup("a"))), "tag row");
  check_entries(emb[5], row(emb[5], static_cast<size_t>(tags->lookup("zz"))), "single tag row");
  // The padding row (the empty cell) has no gradient.
  for (size_t c = 0; c < emb[5].value.cols(); ++c) CHECK(emb[5].grad.at(0, c) == 0.0f);
  // An embedding row the batch does not use has no gradient at all.
  const int32_t unused = tower.encoders()[5].text()->token_id("green");
  REQUIRE(unused > 1);
  for (size_t c = 0; c < emb[4].value.cols(); ++c) CHECK(emb[4].grad.at(static_cast<size_t>(unused), c) == 0.0f);

  std::vector<Dense>& layers = tower.layers();
  REQUIRE(layers.size() == 2);
  // Kernel entries: the normalized-timestamp input column (3) and an embedding column, of both layers.
  check_entries(layers[0].kernel, {{3, 0}, {3, 5}, {0, 2}, {12, 7}}, "first kernel entries");
  check_entries(layers[1].kernel, {{0, 0}, {4, 3}, {7, 1}}, "last kernel entries");
  check_entries(layers[0].bias, {{0, 1}, {0, 6}}, "first bias entries");
  check_entries(layers[1].bias, {{0, 0}, {0, 2}}, "last bias entries");
}

TEST_CASE("tower: a step split into row shares gives the single-share outputs and gradients") {
  // The trainer splits a batch's rows across threads; the shares' outputs and weight gradients
  // (partial sums added in share order) must match the whole batch's within float rounding,
  // for every share count including more shares than rows.
  Tower tower = built_tower(7);
  const EncodedBatch batch = tower.encode(interactions());
  Rng rng(3);
  Matrix r(batch.rows, tower.output_dim());
  for (float& v : r.span()) v = rng.uniform(-1.0f, 1.0f);

  for (Parameter* p : tower.parameters()) p->clear_grad();
  TowerActivations whole;
  const Matrix out = forward_whole(tower, batch, whole);
  backward_whole(tower, batch, whole, r);
  std::vector<Matrix> expected;
  for (Parameter* p : tower.parameters()) expected.push_back(p->grad);

  for (size_t shares : {2u, 3u, 8u}) {
    CAPTURE(shares);
    for (Parameter* p : tower.parameters()) p->clear_grad();
    TowerActivations act;
    tower.start_step(batch.rows, shares, act);
    auto range = [&](size_t s) { return std::pair{batch.rows * s / shares, batch.rows * (s + 1) / shares}; };
    for (size_t s = shares; s-- > 0;) {  // any order: shares are independent
      const auto [r0, r1] = range(s);
      tower.forward_rows(batch, act, r0, r1);
    }
    // Equal up to rounding only: oneDNN's sgemm may pick other kernels (another summation
    // order) for another number of rows, which is why results depend on the thread count.
    const Matrix& got = tower.train_output(act);
    REQUIRE(got.size() == out.size());
    for (size_t k = 0; k < out.size(); ++k) CHECK(got.data()[k] == doctest::Approx(out.data()[k]).epsilon(1e-5));
    Matrix d = r;
    for (size_t s = 0; s < shares; ++s) {
      const auto [r0, r1] = range(s);
      tower.backward_rows(act, d, s, r0, r1);
    }
    tower.finish_backward(batch, act);
    const std::vector<Parameter*> params = tower.parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      CAPTURE(params[i]->name);
      double diff = 0.0, ref = 0.0;
      for (size_t k = 0; k < expected[i].size(); ++k) {
        diff = std::max(diff, std::abs(static_cast<double>(params[i]->grad.data()[k]) - expected[i].data()[k]));
        ref = std::max(ref, std::abs(static_cast<double>(expected[i].data()[k])));
      }
      CHECK(ref > 0.0);
      CHECK(diff <= 1e-5 * ref);
    }
  }
}
