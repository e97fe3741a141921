/* Reading back what went in: a table's columns (names, types, lengths, values into caller
 * buffers) and the candidate embeddings of a model's index. */
#include <math.h>

#include "check.h"
#include "synthetic.h"

static void test_table_columns(void) {
  tt_table* t = NULL;
  const char* names[3] = {"a", "bb", "a"};
  const int64_t ints[3] = {-1, 0, INT64_MAX};
  const float floats[2] = {0.5f, -2.25f};
  const char* got_s[3] = {NULL, NULL, NULL};
  int64_t got_i[3] = {7, 7, 7};
  float got_f[2] = {7, 7};
  const char* name = NULL;
  tt_dtype type = TT_DTYPE_STRING;
  size_t n = 99, length = 99;

  CHECK_OK(tt_table_create(&t));
  CHECK_OK(tt_table_num_columns(t, &n));
  CHECK(n == 0);
  CHECK_FAILS(tt_table_column_info(t, 0, &name, &type, &length), TT_ERR_INVALID_ARGUMENT,
              "column index 0 is beyond the table's 0 columns");
  CHECK_OK(tt_table_append_strings(t, "name", names, 3));
  CHECK_OK(tt_table_append_int64(t, "n", ints, 3));
  CHECK_OK(tt_table_append_float32(t, "x", floats, 2)); /* shorter: readable before validation */
  CHECK_OK(tt_table_num_columns(t, &n));
  CHECK(n == 3);
  CHECK_OK(tt_table_column_info(t, 0, &name, &type, &length));
  CHECK(strcmp(name, "name") == 0 && type == TT_DTYPE_STRING && length == 3);
  CHECK_OK(tt_table_column_info(t, 1, &name, &type, &length));
  CHECK(strcmp(name, "n") == 0 && type == TT_DTYPE_INT64 && length == 3);
  CHECK_OK(tt_table_column_info(t, 2, &name, NULL, NULL)); /* outputs are optional */
  CHECK_OK(tt_table_column_info(t, 2, NULL, &type, &length));
  CHECK(strcmp(name, "x") == 0 && type == TT_DTYPE_FLOAT32 && length == 2);

  CHECK_OK(tt_table_get_strings(t, "name", 0, 3, got_s));
  CHECK(strcmp(got_s[0], "a") == 0 && strcmp(got_s[1], "bb") == 0 && strcmp(got_s[2], "a") == 0);
  CHECK(got_s[0] != names[0]); /* the table's own copies */
  CHECK_OK(tt_table_get_int64(t, "n", 1, 2, got_i));
  CHECK(got_i[0] == 0 && got_i[1] == INT64_MAX && got_i[2] == 7);
  CHECK_OK(tt_table_get_float32(t, "x", 0, 2, got_f));
  CHECK(got_f[0] == 0.5f && got_f[1] == -2.25f);
  CHECK_OK(tt_table_get_float32(t, "x", 2, 0, NULL)); /* nothing asked, nothing needed */

  /* Errors name the column and write nothing. */
  got_i[0] = 7;
  CHECK_FAILS(tt_table_get_int64(t, "n", 2, 2, got_i), TT_ERR_INVALID_ARGUMENT,
              "column 'n' has 3 rows; asked for 2 from row 2");
  CHECK_FAILS(tt_table_get_int64(t, "n", (size_t)-1, 2, got_i), TT_ERR_INVALID_ARGUMENT, "column 'n' has 3 rows");
  CHECK_FAILS(tt_table_get_int64(t, "n", 1, (size_t)-1, got_i), TT_ERR_INVALID_ARGUMENT, "column 'n' has 3 rows");
  CHECK(got_i[0] == 7);
  CHECK_FAILS(tt_table_get_int64(t, "name", 0, 1, got_i), TT_ERR_INVALID_ARGUMENT, "'name'");
  CHECK_FAILS(tt_table_get_float32(t, "n", 0, 1, got_f), TT_ERR_INVALID_ARGUMENT, "'n'");
  CHECK_FAILS(tt_table_get_strings(t, "nope", 0, 1, got_s), TT_ERR_INVALID_ARGUMENT,
              "unknown column 'nope' (columns: name, n, x)");
  CHECK_FAILS(tt_table_get_strings(t, NULL, 0, 1, got_s), TT_ERR_INVALID_ARGUMENT, "column is NULL");
  CHECK_FAILS(tt_table_get_strings(t, "name", 0, 1, NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_FAILS(tt_table_get_strings(NULL, "name", 0, 1, got_s), TT_ERR_INVALID_ARGUMENT, "table is NULL");
  CHECK_FAILS(tt_table_num_columns(t, NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_FAILS(tt_table_column_info(NULL, 0, &name, &type, &length), TT_ERR_INVALID_ARGUMENT, "table is NULL");
  tt_table_free(t);
}

/* A table read from a CSV file reads back as the file says. */
static void test_read_file_back(void) {
  const char* path = "test_capi_readback.csv";
  const char* columns[3] = {"title", "year", "score"};
  const tt_dtype types[3] = {TT_DTYPE_STRING, TT_DTYPE_INT64, TT_DTYPE_FLOAT32};
  tt_table* t = NULL;
  const char* titles[2];
  int64_t years[2];
  float scores[2];
  const char* name = NULL;
  size_t n = 0;
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs("year,title,ignored,score\n1977,\"Star Wars, (1977)\",x,4.5\n1995,Toy Story,y,-1\n", f);
  fclose(f);
  CHECK_OK(tt_table_read_file(path, columns, types, 3, &t));
  CHECK_OK(tt_table_num_columns(t, &n));
  CHECK(n == 3);
  CHECK_OK(tt_table_column_info(t, 0, &name, NULL, NULL));
  CHECK_OK(tt_table_get_strings(t, "title", 0, 2, titles));
  CHECK_OK(tt_table_get_int64(t, "year", 0, 2, years));
  CHECK_OK(tt_table_get_float32(t, "score", 0, 2, scores));
  CHECK(strcmp(titles[0], "Star Wars, (1977)") == 0 && strcmp(titles[1], "Toy Story") == 0);
  CHECK(years[0] == 1977 && years[1] == 1995 && scores[0] == 4.5f && scores[1] == -1.0f);
  tt_table_free(t);
  remove(path);
}

static void test_candidate_embeddings(void) {
  tt_table *inter = NULL, *cand = NULL, *user = NULL;
  tt_model *model = NULL, *untrained = NULL;
  tt_train_options to;
  tt_query_options qo;
  size_t dim = 0, n = 0, i, j;
  float *index = NULL, *embedded = NULL, part[3 * 16], query[16], scores[5], sentinel = 12345.0f;
  int64_t ids[5];
  double worst = 0.0, worst_score = 0.0;
  const char* u0 = "u0";
  const int64_t ts = 1000000;

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &model));
  tt_train_options_init(&to);
  to.threads = 1;
  to.epochs = 2;
  CHECK_OK(tt_model_train(model, inter, cand, &to, NULL));
  CHECK_OK(tt_model_embedding_dim(model, &dim));
  CHECK_OK(tt_model_num_candidates(model, &n));
  CHECK(dim == 16 && n == SYN_ITEMS);
  index = (float*)malloc(n * dim * sizeof(float));
  embedded = (float*)malloc(n * dim * sizeof(float));
  CHECK_OK(tt_model_candidate_embeddings(model, 0, n, index, n * dim));
  /* They are the candidate tower's embeddings of the catalogue the index was built from. */
  CHECK_OK(tt_model_embed_candidates(model, cand, embedded, n * dim));
  for (i = 0; i < n * dim; ++i) {
    double d = fabs((double)index[i] - (double)embedded[i]);
    if (d > worst) worst = d;
  }
  CHECK(worst < 1e-5);
  /* A slice of rows 5..7. */
  CHECK_OK(tt_model_candidate_embeddings(model, 5, 3, part, 3 * dim));
  CHECK(memcmp(part, index + 5 * dim, 3 * dim * sizeof(float)) == 0);
  /* Query scores are inner products with them. */
  CHECK_OK(tt_table_create(&user));
  CHECK_OK(tt_table_append_strings(user, "user_id", &u0, 1));
  CHECK_OK(tt_table_append_int64(user, "timestamp", &ts, 1));
  CHECK_OK(tt_model_embed_queries(model, user, query, dim));
  tt_query_options_init(&qo);
  qo.k = 5;
  CHECK_OK(tt_model_query(model, user, &qo, ids, scores));
  for (i = 0; i < 5; ++i) {
    double dot = 0.0;
    for (j = 0; j < dim; ++j) dot += (double)query[j] * (double)index[(size_t)ids[i] * dim + j];
    if (fabs(dot - (double)scores[i]) > worst_score) worst_score = fabs(dot - (double)scores[i]);
  }
  CHECK(worst_score < 1e-4);

  /* Errors, before anything is written. */
  part[0] = sentinel;
  CHECK_FAILS(tt_model_candidate_embeddings(model, 0, 3, part, 3 * dim - 1), TT_ERR_INVALID_ARGUMENT,
              "the buffer holds 47 floats, 3 rows x 16 need 48");
  CHECK_FAILS(tt_model_candidate_embeddings(model, n - 1, 2, part, 3 * dim), TT_ERR_INVALID_ARGUMENT,
              "candidates 29 + 2 are beyond the index's 30");
  CHECK_FAILS(tt_model_candidate_embeddings(model, (size_t)-1, 1, part, 3 * dim), TT_ERR_INVALID_ARGUMENT,
              "beyond the index's 30");
  CHECK_FAILS(tt_model_candidate_embeddings(model, 1, (size_t)-1, part, 3 * dim), TT_ERR_INVALID_ARGUMENT,
              "beyond the index's 30");
  CHECK(part[0] == sentinel);
  CHECK_FAILS(tt_model_candidate_embeddings(model, 0, 1, NULL, dim), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_OK(tt_model_candidate_embeddings(model, n, 0, NULL, 0));
  CHECK_OK(tt_model_create(syn_spec_json, &untrained));
  CHECK_FAILS(tt_model_candidate_embeddings(untrained, 0, 1, part, dim), TT_ERR_INVALID_ARGUMENT, "trained or loaded");

  free(index);
  free(embedded);
  tt_model_free(untrained);
  tt_model_free(model);
  tt_table_free(user);
  tt_table_free(inter);
  tt_table_free(cand);
}

int main(void) {
  test_table_columns();
  test_read_file_back();
  test_candidate_embeddings();
  return finish("test_capi_readback");
}
