// `twotower query`: top-k candidates for one query from a model file.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "base/error.h"
#include "base/parallel.h"
#include "cli.h"
#include "data/delimited.h"
#include "data/locate.h"
#include "data/parse_number.h"
#include "persist/model_serialization.h"

namespace tt::cli {

namespace {

struct QueryFlags {
  std::string model;
  std::string user;
  int64_t timestamp = 0;
  std::vector<std::string> set;
  size_t k = 10;
  bool exclude_rated = false;
  std::string data;
  std::string interactions;
  std::string search_precision;
  double recall = 0.0;
  size_t probe = 0, rescore = 0;
};

// The type a query column is read as: the spec's declared type, else what its feature needs.
DType column_type(const ModelSpec& spec, const std::string& column) {
  if (auto it = spec.columns.find(column); it != spec.columns.end()) return it->second;
  for (const auto& f : spec.query.features)
    if (f.column == column)
      return (f.kind == FeatureKind::discretization || f.kind == FeatureKind::normalization) ? DType::int64
                                                                                             : DType::string;
  fail(ErrorKind::invalid_argument, "the query tower reads no column '" + column + "'");
}

Column one_value(const std::string& name, DType type, const std::string& text) {
  switch (type) {
    case DType::string:
      return Column(name, Column::Strings{text});
    case DType::int64: {
      int64_t v = 0;
      if (const NumberStatus s = parse_int64(text, v); s != NumberStatus::ok)
        fail(ErrorKind::invalid_argument, "column '" + name + "': " + describe_number_error(s, text, "int64"));
      return Column(name, Column::Ints{v});
    }
    case DType::float32: {
      float v = 0;
      if (const NumberStatus s = parse_float32(text, v); s != NumberStatus::ok)
        fail(ErrorKind::invalid_argument, "column '" + name + "': " + describe_number_error(s, text, "float32"));
      return Column(name, Column::Floats{v});
    }
  }
  fail(ErrorKind::internal, "unknown type");
}

std::string key_text(const Column& c, size_t row) {
  return c.dtype() == DType::string  ? c.strings()[row]
         : c.dtype() == DType::int64 ? std::to_string(c.ints()[row])
                                     : std::to_string(c.floats()[row]);
}

// What `user` interacted with, as index positions: from --interactions, else MovieLens when the
// model was trained on it. A model trained on other data must not be paired with MovieLens's
// ratings (the same user id there is somebody else).
std::vector<int64_t> rated_positions(const QueryFlags& f, const RetrievalModel& rm, const std::string& user) {
  const ModelSpec& spec = rm.model().spec();
  const std::string& source = rm.metadata().data_source;
  Table inter;
  if (!f.interactions.empty()) {
    auto type_of = [&](const std::string& column) {
      auto it = spec.columns.find(column);
      return it == spec.columns.end() ? DType::string : it->second;
    };
    std::vector<ColumnSpec> columns{{"user_id", type_of("user_id")}};
    if (spec.candidate_id_column != "user_id")
      columns.push_back({spec.candidate_id_column, type_of(spec.candidate_id_column)});
    inter = read_delimited(f.interactions, columns);
  } else if (source.starts_with("movielens-100k:")) {
    inter = load_movielens_dataset(locate_movielens(f.data, TT_SOURCE_DIR)).interactions;
  } else {
    fail(ErrorKind::invalid_argument,
         "--exclude-rated: the model was trained on " + (source.empty() ? std::string("unrecorded data") : source) +
             ", not MovieLens: pass the interactions file that holds what users rated with --interactions FILE");
  }
  const Column& users = inter.column("user_id");
  const Column& ids = inter.column(spec.candidate_id_column);
  std::vector<int64_t> out;
  for (size_t i = 0; i < users.size(); ++i)
    if (key_text(users, i) == user)
      for (int64_t p : rm.index().key_positions(key_text(ids, i))) out.push_back(p);
  std::sort(out.begin(), out.end());  // a candidate rated twice is excluded (and counted) once
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void run(const QueryFlags& f, CLI::App* cmd) {
  RetrievalModel rm = load_model(f.model);
  if (!f.search_precision.empty()) rm.set_search_precision(parse_precision(f.search_precision, "--search-precision"));
  const ModelSpec& spec = rm.model().spec();
  std::map<std::string, std::string> values;
  if (cmd->count("--user")) values["user_id"] = f.user;
  if (cmd->count("--timestamp")) values["timestamp"] = std::to_string(f.timestamp);
  for (const auto& kv : f.set) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      fail(ErrorKind::invalid_argument, "--set expects column=value, got '" + kv + "'");
    values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Table q;
  for (const auto& feat : spec.query.features) {
    if (q.has(feat.column)) continue;
    auto it = values.find(feat.column);
    if (it == values.end())
      fail(ErrorKind::invalid_argument, "the query needs column '" + feat.column + "' (feature '" + feat.name +
                                            "'): pass --set " + feat.column + "=VALUE" +
                                            (feat.column == "user_id" ? " or --user" : "") +
                                            (feat.column == "timestamp" ? " or --timestamp" : ""));
    q.add(one_value(feat.column, column_type(spec, feat.column), it->second));
  }
  // A value for a column no feature reads would be ignored: a misspelt column name must not
  // quietly give the answer for a different query.
  for (const auto& [column, value] : values)
    if (!q.has(column)) {
      std::string read;
      for (const auto& feat : spec.query.features)
        if (read.find("'" + feat.column + "'") == std::string::npos)
          read += (read.empty() ? "'" : ", '") + feat.column + "'";
      fail(ErrorKind::invalid_argument, "the query tower reads no column '" + column + "' (given by " +
                                            (column == "user_id" && cmd->count("--user")          ? "--user"
                                             : column == "timestamp" && cmd->count("--timestamp") ? "--timestamp"
                                                                                                  : "--set") +
                                            "); it reads " + read);
    }

  SearchOptions so;
  so.k = f.k;
  so.recall = f.recall;
  so.probe = f.probe;
  so.rescore = f.rescore;
  if ((f.recall > 0 || f.probe) && !rm.index().partitions())
    std::printf("the model has no approximate index (twotower convert --ann adds one): exact search\n");
  std::vector<int64_t> excluded;
  if (f.exclude_rated) {
    if (!values.count("user_id")) fail(ErrorKind::invalid_argument, "--exclude-rated needs --user");
    excluded = rated_positions(f, rm, values["user_id"]);
    so.exclude.push_back(excluded);
    std::printf("excluding %zu candidates user %s has rated\n", excluded.size(), values["user_id"].c_str());
  }
  Matrix emb;
  rm.embed_queries(q, emb);
  std::vector<int64_t> ids(f.k);
  std::vector<float> scores(f.k);
  ThreadPool pool(0);
  rm.index().search(emb.data(), 1, so, ids.data(), scores.data(), pool);
  std::printf("%4s  %9s  %s\n", "rank", "score", spec.candidate_id_column.c_str());
  for (size_t i = 0; i < f.k && ids[i] >= 0; ++i)
    std::printf("%4zu  %9.4f  %s\n", i + 1, scores[i], rm.index().keys()[static_cast<size_t>(ids[i])].c_str());
}

}  // namespace

void register_query(CLI::App& app) {
  auto f = std::make_shared<QueryFlags>();
  auto* cmd = app.add_subcommand("query", "top-k candidates for a query from a model file");
  cmd->add_option("model", f->model, "model file")->required();
  cmd->add_option("--user", f->user, "user id (column user_id)");
  add_number_option<int64_t>(*cmd, "--timestamp", f->timestamp, INT64_MIN, INT64_MAX, "timestamp (column timestamp)");
  cmd->add_option("--set", f->set, "any query column: --set column=value (repeatable)");
  add_number_option<size_t>(*cmd, "-k", f->k, 1, 100000, "number of results");
  cmd->add_flag("--exclude-rated", f->exclude_rated, "leave out what the user rated in MovieLens");
  cmd->add_option("--data", f->data, "MovieLens directory, for --exclude-rated with a model trained on MovieLens");
  cmd->add_option("--interactions", f->interactions,
                  "for --exclude-rated: the interactions file (CSV or TSV; columns user_id and the candidate id)");
  cmd->add_option("--search-precision", f->search_precision,
                  "scan the index at f32, bf16 or int8 (re-scored in float32: the same top-k); "
                  "default: the stored index precision");
  add_real_option(*cmd, "--recall", f->recall, 0.0, 1.0,
                  "approximate search: the breadth whose recall@k was calibrated to reach this target (0 < R < 1; "
                  "default exact)");
  add_number_option<size_t>(*cmd, "--probe", f->probe, 1, UINT32_MAX,
                            "approximate search: partitions to scan (overrides --recall)");
  add_number_option<size_t>(*cmd, "--rescore", f->rescore, 1, UINT32_MAX,
                            "approximate search: shortlist re-scored in float32 (default max(2k, 32))");
  cmd->callback([f, cmd] { run(*f, cmd); });
}

}  // namespace tt::cli
