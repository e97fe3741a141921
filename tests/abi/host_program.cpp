// A C++ host that links libtwotower.a (the installed archive, not the engine's) and has C++ of
// its own that meets the engine's (issue 15): a function with the very name and parameters of
// one of the engine's (tt::read_file), its own exceptions, and the same std::string and
// std::vector instantiations. It must link (no duplicate symbol), each side must call its own
// tt::read_file, and the library's error paths (C++ exceptions caught at the C boundary) and
// a real load and query must work. The COMDAT groups the engine shares with the host once
// made such a host crash on the library's first exception.
#include <twotower/twotower.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace tt {
// Same mangled name as the engine's tt::read_file (lib/data/read_file.h); different behaviour.
std::string read_file(const std::string& path, const char* what) { return "host:" + path + ":" + what; }
}  // namespace tt

static int failures = 0;
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

int main() {
  CHECK(tt::read_file("x", "y") == "host:x:y");
  try {
    throw std::runtime_error(std::string("host's own exception"));
  } catch (const std::runtime_error& e) {
    CHECK(std::strcmp(e.what(), "host's own exception") == 0);
  }

  // The library throws inside and reports a status: its own read_file, its own unwinding.
  tt_model* model = nullptr;
  CHECK(tt_model_load_v2("/nonexistent/model.tt", nullptr, &model) == TT_ERR_IO);
  CHECK(std::strstr(tt_last_error(), "/nonexistent/model.tt") != nullptr);
  CHECK(model == nullptr);

  CHECK(tt_model_load_v2(TT_SOURCE_DIR "/tests/data/model-v1.tt", nullptr, &model) == TT_OK);
  if (model) {
    tt_table* queries = nullptr;
    CHECK(tt_table_create(&queries) == TT_OK);
    const char* users[2] = {"u1", "u7"};
    const int64_t timestamps[2] = {1000100, 1020000};
    CHECK(tt_table_append_strings(queries, "user_id", users, 2) == TT_OK);
    CHECK(tt_table_append_int64(queries, "timestamp", timestamps, 2) == TT_OK);
    tt_query_options options;
    tt_query_options_init(&options);
    options.k = 3;
    std::vector<int64_t> ids(6, -1);
    std::vector<float> scores(6);
    CHECK(tt_model_query(model, queries, &options, ids.data(), scores.data()) == TT_OK);
    CHECK(ids[0] >= 0 && ids[3] >= 0 && scores[0] >= scores[1]);
    tt_table_free(queries);
    // Queries without the user_id column: another exception inside the library.
    CHECK(tt_table_create(&queries) == TT_OK);
    CHECK(tt_table_append_int64(queries, "timestamp", timestamps, 2) == TT_OK);
    CHECK(tt_model_query(model, queries, &options, ids.data(), scores.data()) != TT_OK);
    CHECK(std::strstr(tt_last_error(), "user_id") != nullptr);
    tt_table_free(queries);
    tt_model_free(model);
  }
  if (failures) return 1;
  std::puts("host program: linked libtwotower.a beside its own tt::read_file, exceptions and query fine");
  return 0;
}
