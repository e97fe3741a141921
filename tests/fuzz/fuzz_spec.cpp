// libFuzzer target for the JSON model spec (model/spec.h): parsing, the validation in
// from_json, and what follows it when training starts (fitting every feature's preprocessing,
// the weight shapes). Beyond "no crash, a clear error": a spec that parses round-trips through
// to_json exactly, and fits on a small table whose columns have the types its features read
// (fitting must fail only when the declared column types and the feature kinds disagree).
// Run: tests/fuzz/run-fuzzer.sh SECONDS spec
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "model/spec.h"
#include "model/two_tower_model.h"

using namespace tt;
using namespace tt::fuzz;

namespace {

constexpr const char* kTarget = "fuzz_spec";
constexpr const char* kSource = "fuzz.json";

bool reads(FeatureKind kind, DType type) {
  switch (kind) {
    case FeatureKind::string_lookup:
    case FeatureKind::hashing:
      return type != DType::float32;
    case FeatureKind::discretization:
    case FeatureKind::normalization:
      return type != DType::string;
    case FeatureKind::text:
    case FeatureKind::multi_value_lookup:
      return type == DType::string;
  }
  return false;
}

std::vector<const FeatureSpec*> features(const ModelSpec& s) {
  std::vector<const FeatureSpec*> out;
  for (const TowerSpec* t : {&s.query, &s.candidate})
    for (const FeatureSpec& f : t->features) out.push_back(&f);
  return out;
}

// The declared type, else what the first feature reading the column needs.
DType column_type(const ModelSpec& s, const std::string& column) {
  if (auto it = s.columns.find(column); it != s.columns.end()) return it->second;
  for (const FeatureSpec* f : features(s))
    if (f->column == column)
      return f->kind == FeatureKind::discretization || f->kind == FeatureKind::normalization ? DType::float32
                                                                                             : DType::string;
  return DType::string;
}

// Three rows of every column the spec reads; `consistent` says whether every feature can read
// its column's type.
Table small_table(const ModelSpec& s, bool& consistent) {
  Table t;
  consistent = true;
  std::vector<std::string> names{s.candidate_id_column};
  for (const FeatureSpec* f : features(s)) names.push_back(f->column);
  for (const std::string& name : names) {
    const DType type = column_type(s, name);
    for (const FeatureSpec* f : features(s))
      if (f->column == name && !reads(f->kind, type)) consistent = false;
    if (t.has(name)) continue;
    if (type == DType::string)
      t.add(Column(name, Column::Strings{"a b", "c d e", "a"}));
    else if (type == DType::int64)
      t.add(Column(name, Column::Ints{1, 5, -3}));
    else
      t.add(Column(name, Column::Floats{0.5f, -1.5f, 2.0f}));
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ModelSpec spec;
  if (!parses(kTarget, kSource, [&] { spec = ModelSpec::from_json(text, kSource); })) return 0;

  const std::string json = spec.to_json();
  ModelSpec again;
  if (!parses(kTarget, "round trip", [&] { again = ModelSpec::from_json(json, "round trip"); }))
    finding(kTarget, "to_json wrote a spec from_json refuses: " + escape_for_message(json));
  if (again.to_json() != json)
    finding(kTarget, "the spec does not round-trip through to_json: " + escape_for_message(json));

  bool consistent = false;
  const Table table = small_table(spec, consistent);
  TwoTowerModel model(spec);
  try {
    model.fit_preprocessing(table, table);
    (void)model.parameter_shapes();
  } catch (const Error& e) {
    check_error(kTarget, e, "");  // fitting errors name the feature, not the file
    if (consistent)
      finding(kTarget, "a spec that parsed does not fit on data of the types it reads: " + std::string(e.what()));
  }
  return 0;
}
