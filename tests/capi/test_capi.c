/* The C API, exercised from C99: every function with valid input, NULL and invalid arguments,
 * and (in test_capi_files.c) model files. */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "synthetic.h"

static int progress_calls, epochs_done, evaluated;

static int count_progress(const tt_progress* p, void* user_data) {
  (void)user_data;
  ++progress_calls;
  if (p->epoch_done) {
    ++epochs_done;
    if (p->has_metrics) ++evaluated;
  }
  return 0;
}

static int cancel_at_second_epoch(const tt_progress* p, void* user_data) {
  (void)user_data;
  return p->epoch >= 2;
}

static void test_versions(void) {
  CHECK(tt_version() == TT_VERSION_NUMBER);
  CHECK(strcmp(tt_version_string(), TT_VERSION_STRING) == 0);
  CHECK(tt_abi_version() == TT_ABI_VERSION);
  CHECK(strcmp(tt_status_name(TT_OK), "TT_OK") == 0);
  CHECK(strcmp(tt_status_name(TT_ERR_CORRUPT), "TT_ERR_CORRUPT") == 0);
  CHECK(strcmp(tt_status_name((tt_status)99), "TT_ERR_UNKNOWN") == 0);
  CHECK(tt_last_error() != NULL);
}

static void test_tables(void) {
  tt_table* t = NULL;
  const char* names[] = {"a", "b", "c"};
  const int64_t ints[] = {1, 2, 3};
  const float floats[] = {0.5f, 1.5f};
  const char* null_in_middle[] = {"x", NULL};
  size_t rows = 99;

  CHECK_FAILS(tt_table_create(NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_OK(tt_table_create(&t));
  CHECK_OK(tt_table_num_rows(t, &rows));
  CHECK(rows == 0);
  CHECK_OK(tt_table_append_strings(t, "name", names, 3));
  CHECK_OK(tt_table_append_int64(t, "n", ints, 2));
  CHECK_FAILS(tt_table_validate(t), TT_ERR_INVALID_ARGUMENT, "'n' has 2 rows");
  CHECK_FAILS(tt_table_num_rows(t, &rows), TT_ERR_INVALID_ARGUMENT, "rows");
  CHECK_OK(tt_table_append_int64(t, "n", ints + 2, 1)); /* columns fill in batches */
  CHECK_OK(tt_table_validate(t));
  CHECK_OK(tt_table_num_rows(t, &rows));
  CHECK(rows == 3);
  CHECK(strcmp(tt_last_error(), "") == 0); /* cleared by a successful call */
  CHECK_FAILS(tt_table_append_float32(t, "n", floats, 2), TT_ERR_INVALID_ARGUMENT, "holds int64");
  CHECK_FAILS(tt_table_append_strings(t, "s", null_in_middle, 2), TT_ERR_INVALID_ARGUMENT, "values[1] is NULL");
  CHECK_FAILS(tt_table_append_strings(NULL, "s", names, 1), TT_ERR_INVALID_ARGUMENT, "table is NULL");
  CHECK_FAILS(tt_table_append_int64(t, NULL, ints, 1), TT_ERR_INVALID_ARGUMENT, "column is NULL");
  CHECK_FAILS(tt_table_append_int64(t, "", ints, 1), TT_ERR_INVALID_ARGUMENT, "empty");
  CHECK_FAILS(tt_table_append_float32(t, "f", NULL, 2), TT_ERR_INVALID_ARGUMENT, "values is NULL");
  CHECK_OK(tt_table_append_float32(t, "f", NULL, 0));
  tt_table_free(t);
  tt_table_free(NULL);
}

static void test_read_file(void) {
  const char* path = "tt_capi_test_table.csv";
  const char* cols[] = {"user", "ts"};
  const tt_dtype types[] = {TT_DTYPE_STRING, TT_DTYPE_INT64};
  tt_table* t = NULL;
  size_t rows = 0;
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("user,ts,extra\n\"a, b\",10,x\nc,20,y\n", f);
  fclose(f);
  CHECK_OK(tt_table_read_file(path, cols, types, 2, &t));
  CHECK_OK(tt_table_num_rows(t, &rows));
  CHECK(rows == 2);

  /* The columnar data file: written from a table or converted from the CSV, read back alike. */
  CHECK_OK(tt_table_write_columnar(t, "tt_capi_test_table.ttc"));
  tt_table_free(t);
  t = NULL;
  CHECK_OK(tt_table_read_file("tt_capi_test_table.ttc", cols, types, 2, &t));
  CHECK_OK(tt_table_num_rows(t, &rows));
  CHECK(rows == 2);
  tt_table_free(t);
  t = NULL;
  CHECK_OK(tt_data_convert(path, "tt_capi_test_conv.ttc", cols + 1, types + 1, 1));
  CHECK_OK(tt_table_read_file("tt_capi_test_conv.ttc", cols + 1, types + 1, 1, &t));
  CHECK_OK(tt_table_num_rows(t, &rows));
  CHECK(rows == 2);
  tt_table_free(t);
  t = NULL;
  CHECK_FAILS(tt_table_read_file("tt_capi_test_conv.ttc", cols, types, 2, &t), TT_ERR_INVALID_ARGUMENT,
              "no column 'user'");
  CHECK_FAILS(tt_table_write_columnar(NULL, "x.ttc"), TT_ERR_INVALID_ARGUMENT, "table is NULL");
  CHECK_FAILS(tt_data_convert(path, NULL, cols, types, 2), TT_ERR_INVALID_ARGUMENT, "output is NULL");
  {
    /* A flipped byte in the header: refused as damage, naming the file. */
    FILE* g = fopen("tt_capi_test_conv.ttc", "r+b");
    CHECK(g != NULL);
    if (g) {
      fseek(g, 20, SEEK_SET);
      fputc(0x7f, g);
      fclose(g);
    }
    CHECK_FAILS(tt_table_read_file("tt_capi_test_conv.ttc", cols + 1, types + 1, 1, &t), TT_ERR_CORRUPT,
                "tt_capi_test_conv.ttc: the header checksum does not match");
  }
  remove("tt_capi_test_table.ttc");
  remove("tt_capi_test_conv.ttc");

  f = fopen(path, "w");
  if (f) {
    fputs("user,ts\na,12x\n", f);
    fclose(f);
  }
  t = NULL;
  CHECK_FAILS(tt_table_read_file(path, cols, types, 2, &t), TT_ERR_PARSE, "tt_capi_test_table.csv:2");
  CHECK(t == NULL);
  remove(path);
  CHECK_FAILS(tt_table_read_file("/nonexistent/x.csv", cols, types, 2, &t), TT_ERR_IO, "/nonexistent/x.csv");
  CHECK_FAILS(tt_table_read_file(NULL, cols, types, 2, &t), TT_ERR_INVALID_ARGUMENT, "path is NULL");
}

static void test_model_errors(void) {
  tt_model* m = NULL;
  size_t dim = 0;
  CHECK_FAILS(tt_model_create("{not json", &m), TT_ERR_PARSE, "invalid JSON");
  CHECK(m == NULL);
  CHECK_FAILS(tt_model_create("{\"query_tower\": 1}", &m), TT_ERR_PARSE, "query_tower");
  CHECK_FAILS(tt_model_create(NULL, &m), TT_ERR_INVALID_ARGUMENT, "spec_json is NULL");
  CHECK_FAILS(tt_model_create(syn_spec_json, NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_FAILS(tt_model_create_from_file("/nonexistent/spec.json", &m), TT_ERR_IO, "/nonexistent/spec.json");
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  CHECK_OK(tt_model_embedding_dim(m, &dim));
  CHECK(dim == 16);
  {
    tt_table* q = NULL;
    int64_t ids[10];
    float scores[10];
    tt_query_options qo;
    const char* who = "u1";
    tt_query_options_init(&qo);
    CHECK_OK(tt_table_create(&q));
    CHECK_OK(tt_table_append_strings(q, "user_id", &who, 1));
    CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "needs a trained or loaded model");
    tt_table_free(q);
  }
  tt_model_free(m);
  tt_model_free(NULL);
}

static void test_train_query(void) {
  tt_table *inter = NULL, *cand = NULL, *q = NULL, *newcat = NULL;
  tt_model* m = NULL;
  tt_train_options to;
  tt_metrics metrics;
  tt_query_options qo;
  int64_t ids[2 * 40];
  float scores[2 * 40];
  const char* users[] = {"u3", "someone-new"};
  const int64_t ts[] = {1000500, 1000600};
  size_t n = 0, i;
  const char* key = NULL;
  const char* json = NULL;
  int64_t id = -5;

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &m));

  /* Cancelling leaves the model untrained. */
  tt_train_options_init(&to);
  to.progress = cancel_at_second_epoch;
  CHECK_FAILS(tt_model_train(m, inter, cand, &to, NULL), TT_ERR_CANCELLED, "cancelled");
  CHECK_OK(tt_model_num_candidates(m, &n));
  CHECK(n == 0);

  /* A wrong struct_size is refused, not misread. */
  tt_train_options_init(&to);
  to.struct_size = 3;
  CHECK_FAILS(tt_model_train(m, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT, "struct_size");

  tt_train_options_init(&to);
  to.progress = count_progress;
  to.threads = 2;
  tt_metrics_init(&metrics);
  CHECK_OK(tt_model_train(m, inter, cand, &to, &metrics));
  CHECK(epochs_done == 4);
  CHECK(evaluated == 2);
  CHECK(progress_calls > 4);
  CHECK(metrics.count == 3);
  CHECK(metrics.k[0] == 1 && metrics.k[2] == 10);
  CHECK(metrics.examples == 200);
  /* Each user only ever sees 6 of 30 items: a trained model ranks them in its top 10. */
  CHECK(metrics.accuracy[2] > 0.5);
  CHECK(metrics.accuracy[0] <= metrics.accuracy[1] && metrics.accuracy[1] <= metrics.accuracy[2]);
  /* The most-popular list on the same rows: 6 items of one group at best in a top 10 of 30. */
  CHECK(metrics.has_baseline == 1);
  CHECK(metrics.baseline_accuracy[2] > 0.0 && metrics.baseline_accuracy[2] < 0.6);
  CHECK(metrics.accuracy[2] > metrics.baseline_accuracy[2]);

  CHECK_OK(tt_model_num_candidates(m, &n));
  CHECK(n == SYN_ITEMS);
  CHECK_OK(tt_model_candidate_key(m, 7, &key));
  CHECK(key && strcmp(key, "i7") == 0);
  CHECK_OK(tt_model_candidate_id(m, "i7", &id));
  CHECK(id == 7);
  CHECK_OK(tt_model_candidate_id(m, "nope", &id));
  CHECK(id == -1);
  CHECK_FAILS(tt_model_candidate_key(m, 30, &key), TT_ERR_INVALID_ARGUMENT, "outside 0..29");
  CHECK_FAILS(tt_model_candidate_key(m, -1, &key), TT_ERR_INVALID_ARGUMENT, "outside");

  /* Queries: a known user and an unknown one (out-of-vocabulary embedding). */
  CHECK_OK(tt_table_create(&q));
  CHECK_OK(tt_table_append_strings(q, "user_id", users, 2));
  CHECK_OK(tt_table_append_int64(q, "timestamp", ts, 2));
  tt_query_options_init(&qo);
  CHECK(qo.k == 10);
  qo.k = 5;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  for (i = 0; i < 2 * 5; ++i) CHECK(ids[i] >= 0 && ids[i] < SYN_ITEMS);
  for (i = 1; i < 5; ++i) CHECK(scores[i - 1] >= scores[i]);
  /* u3 is in group 3, whose items are 18..23. */
  CHECK(ids[0] >= 18 && ids[0] < 24);

  /* Exclusions: u3 must not get its best item back; allow-list restricts. */
  {
    const int64_t ex0[] = {ids[0]};
    const int64_t* ex[2];
    size_t exn[2] = {1, 0};
    const int64_t allow[] = {1, 2, 3};
    int64_t best = ids[0];
    ex[0] = ex0;
    ex[1] = NULL;
    qo.exclude = ex;
    qo.exclude_counts = exn;
    CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
    for (i = 0; i < 5; ++i) CHECK(ids[i] != best);
    qo.exclude = NULL;
    qo.exclude_counts = NULL;
    qo.allow = allow;
    qo.allow_count = 3;
    CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
    for (i = 0; i < 3; ++i) CHECK(ids[i] >= 1 && ids[i] <= 3);
    CHECK(ids[3] == -1 && ids[4] == -1);
    CHECK(isinf(scores[4]) && scores[4] < 0);
    qo.allow = NULL;
    qo.allow_count = 0;
  }
  /* More results asked for than candidates exist: padded with -1. */
  qo.k = 40;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  CHECK(ids[29] >= 0 && ids[30] == -1 && ids[39] == -1);
  qo.k = 0;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "tt_query_options.k is 0");
  qo.k = 5;
  qo.struct_size = 1;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "struct_size");
  tt_query_options_init(&qo);
  CHECK_FAILS(tt_model_query(m, q, &qo, NULL, scores), TT_ERR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_OK(tt_model_query(m, q, NULL, ids, scores)); /* NULL options: the defaults, k = 10 */
  CHECK(ids[0] >= 0 && ids[19] >= 0);
  {
    tt_table* bad = NULL;
    const char* who = "u1";
    CHECK_OK(tt_table_create(&bad));
    CHECK_OK(tt_table_append_strings(bad, "user_id", &who, 1));
    CHECK_FAILS(tt_model_query(m, bad, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "timestamp");
    tt_table_free(bad);
  }

  /* Embeddings into caller buffers. */
  {
    float emb[2 * 16];
    float cemb[SYN_ITEMS * 16];
    CHECK_OK(tt_model_embed_queries(m, q, emb, 32));
    CHECK(isfinite(emb[0]) && isfinite(emb[31]));
    CHECK_FAILS(tt_model_embed_queries(m, q, emb, 31), TT_ERR_INVALID_ARGUMENT, "holds 31 floats");
    CHECK_OK(tt_model_embed_candidates(m, cand, cemb, SYN_ITEMS * 16));
    /* The query score is the dot product of the embeddings. */
    tt_query_options_init(&qo);
    qo.k = 1;
    CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
    {
      float dot = 0.0f;
      int k;
      for (k = 0; k < 16; ++k) dot += emb[k] * cemb[ids[0] * 16 + k];
      CHECK(fabsf(dot - scores[0]) < 1e-4f * (1.0f + fabsf(dot)));
    }
  }

  /* Evaluate on the training interactions; metrics are plausible. */
  tt_metrics_init(&metrics);
  CHECK_OK(tt_model_evaluate(m, inter, cand, 0, &metrics));
  CHECK(metrics.examples == SYN_ROWS);
  CHECK(metrics.accuracy[2] > 0.5);
  CHECK(metrics.has_baseline == 1); /* from the training counts the model keeps */
  CHECK(metrics.baseline_accuracy[0] <= metrics.baseline_accuracy[1]);
  metrics.struct_size = 0;
  CHECK_FAILS(tt_model_evaluate(m, inter, cand, 0, &metrics), TT_ERR_INVALID_ARGUMENT, "struct_size");

  /* A new catalogue, with an item never seen in training: served without retraining. */
  {
    const char* item = "i-new";
    const char* title = "item 3";
    CHECK_OK(tt_table_create(&newcat));
    CHECK_OK(tt_table_append_strings(newcat, "item_id", &item, 1));
    CHECK_OK(tt_table_append_strings(newcat, "title", &title, 1));
    CHECK_OK(tt_model_rebuild_index(m, newcat));
    CHECK_OK(tt_model_num_candidates(m, &n));
    CHECK(n == 1);
    CHECK_OK(tt_model_candidate_key(m, 0, &key));
    CHECK(strcmp(key, "i-new") == 0);
    CHECK_FAILS(tt_model_rebuild_index(m, q), TT_ERR_INVALID_ARGUMENT, "item_id");
  }

  CHECK_OK(tt_model_spec_json(m, &json));
  CHECK(json && strstr(json, "\"synthetic\"") != NULL);
  CHECK_OK(tt_model_metadata_json(m, &json));
  CHECK(json && strstr(json, "factorized_top_k/top_10_categorical_accuracy") != NULL);
  CHECK_FAILS(tt_model_metadata_json(m, NULL), TT_ERR_INVALID_ARGUMENT, "json is NULL");

  tt_table_free(q);
  tt_table_free(newcat);
  tt_table_free(inter);
  tt_table_free(cand);
  tt_model_free(m);
}

/* Interactions carrying only the ids and the query's columns: the candidate tower reads the
 * catalogue row with the interaction's item_id (the catalogue join). An unknown id is refused
 * naming the row and the id. */
static void test_catalogue_join(void) {
  tt_table *inter = NULL, *cand = NULL, *ids_only = NULL;
  tt_model* m = NULL;
  tt_train_options to;
  tt_metrics metrics;
  char user[32], item[32], title[64];
  const char* u = user;
  const char* it = item;
  const char* unknown = "i999";
  int i;

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_table_create(&ids_only));
  for (i = 0; i < SYN_ROWS; ++i) {
    int64_t ts = 1000000 + 37 * (int64_t)i;
    syn_names(i, user, item, title, sizeof user, i / SYN_USERS);
    CHECK_OK(tt_table_append_strings(ids_only, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(ids_only, "timestamp", &ts, 1));
    CHECK_OK(tt_table_append_strings(ids_only, "item_id", &it, 1));
  }
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  tt_train_options_init(&to);
  to.threads = 1;
  tt_metrics_init(&metrics);
  CHECK_OK(tt_model_train(m, ids_only, cand, &to, &metrics));
  CHECK(metrics.accuracy[2] > 0.5);
  tt_model_free(m);

  CHECK_OK(tt_table_append_strings(ids_only, "user_id", &u, 1));
  {
    int64_t ts = 5;
    CHECK_OK(tt_table_append_int64(ids_only, "timestamp", &ts, 1));
  }
  CHECK_OK(tt_table_append_strings(ids_only, "item_id", &unknown, 1));
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  CHECK_FAILS(tt_model_train(m, ids_only, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT,
              "interactions row 1200: candidate id 'i999' (column 'item_id') is not in the catalogue");
  tt_model_free(m);
  tt_table_free(ids_only);
  tt_table_free(inter);
  tt_table_free(cand);
}

int main(void) {
  test_versions();
  test_tables();
  test_read_file();
  test_model_errors();
  test_train_query();
  test_catalogue_join();
  return finish("test_capi");
}
