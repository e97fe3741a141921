// Every model file under tests/data/ (one per released format version) still loads, answers
// its recorded queries, and upgrades to the current format with identical answers.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/parallel.h"
#include "io_test_support.h"
#include "persist/model_serialization.h"

using namespace tt;
using namespace tt::iotest;
namespace fs = std::filesystem;

namespace {

struct Expected {
  std::string user;
  int64_t timestamp = 0;
  std::vector<std::string> keys;
  std::vector<float> scores;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// <name>.expected.tsv: user_id, timestamp, comma-separated top keys, comma-separated scores.
std::vector<Expected> read_expected(const fs::path& p) {
  std::vector<Expected> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = split(line, '\t');
    REQUIRE(f.size() == 4);
    Expected e;
    e.user = f[0];
    e.timestamp = std::stoll(f[1]);
    e.keys = split(f[2], ',');
    for (const auto& s : split(f[3], ',')) e.scores.push_back(std::stof(s));
    out.push_back(std::move(e));
  }
  return out;
}

struct Answer {
  std::vector<int64_t> ids;
  std::vector<float> scores;
};

Answer query(const RetrievalModel& m, const Table& q, size_t k) {
  Matrix e;
  m.embed_queries(q, e);
  Answer a;
  a.ids.resize(q.num_rows() * k);
  a.scores.resize(q.num_rows() * k);
  SearchOptions so;
  so.k = k;
  ThreadPool pool(1);
  m.index().search(e.data(), q.num_rows(), so, a.ids.data(), a.scores.data(), pool);
  return a;
}

}  // namespace

TEST_CASE("compat: every model file in tests/data loads, answers as recorded and upgrades") {
  const fs::path dir = fs::path(TT_SOURCE_DIR) / "tests" / "data";
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".tt") continue;
    ++files;
    const std::string path = entry.path().string();
    CAPTURE(path);
    const ModelInfo info = read_model_info(path);
    CHECK(info.format_version >= 1);
    CHECK(info.format_version <= kModelFormatVersion);
    const RetrievalModel m = load_model(path);
    REQUIRE(m.index().size() > 0);

    // Recorded answers (to the 4 decimals the recording printed).
    fs::path exp_path = entry.path();
    exp_path.replace_extension(".expected.tsv");
    REQUIRE(fs::exists(exp_path));
    const std::vector<Expected> expected = read_expected(exp_path);
    REQUIRE(!expected.empty());
    Column::Strings users;
    Column::Ints times;
    for (const auto& e : expected) {
      users.push_back(e.user);
      times.push_back(e.timestamp);
    }
    Table q;
    q.add(Column("user_id", users));
    q.add(Column("timestamp", times));
    const size_t k = expected[0].keys.size();
    const Answer a = query(m, q, k);
    for (size_t i = 0; i < expected.size(); ++i)
      for (size_t j = 0; j < k; ++j) {
        CAPTURE(expected[i].user);
        CAPTURE(j);
        REQUIRE(a.ids[i * k + j] >= 0);
        CHECK(m.index().keys()[static_cast<size_t>(a.ids[i * k + j])] == expected[i].keys[j]);
        CHECK(std::fabs(a.scores[i * k + j] - expected[i].scores[j]) <= 5.01e-5f);
      }

    // Upgrade: the current writer's file answers bit for bit the same.
    const std::vector<uint8_t> upgraded = save_model_to_buffer(m);
    CHECK(read_model_info_from_buffer(upgraded).format_version == kModelFormatVersion);
    const RetrievalModel u = load_model_from_buffer(upgraded);
    const Answer b = query(u, q, k);
    CHECK(a.ids == b.ids);
    CHECK(std::memcmp(a.scores.data(), b.scores.data(), a.scores.size() * 4) == 0);
    CHECK(u.metadata().seed == m.metadata().seed);
    CHECK(u.metadata().metrics == m.metadata().metrics);
  }
  CHECK(files >= 1);
}
