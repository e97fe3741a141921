/* Hostile input through the C API (issue 13): every case must be refused with a status and a
 * message naming the field, file or argument at fault, never crash, hang or write out of
 * bounds, and a NULL options pointer always means the defaults. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "check.h"
#include "synthetic.h"

static tt_model* trained(tt_table* inter, tt_table* cand) {
  tt_model* m = NULL;
  tt_train_options to;
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  tt_train_options_init(&to);
  to.epochs = 1;
  to.threads = 1;
  CHECK_OK(tt_model_train(m, inter, cand, &to, NULL));
  return m;
}

static tt_table* one_query(void) {
  tt_table* q = NULL;
  const char* user = "u3";
  const int64_t ts = 1000500;
  CHECK_OK(tt_table_create(&q));
  CHECK_OK(tt_table_append_strings(q, "user_id", &user, 1));
  CHECK_OK(tt_table_append_int64(q, "timestamp", &ts, 1));
  return q;
}

/* Crashes: a huge k neither overflows nor writes past the caller's arrays; the capacity field
 * bounds what the library may write. */
static void test_query_bounds(const tt_model* m) {
  tt_table* q = one_query();
  tt_query_options qo;
  int64_t ids[12];
  float scores[12];
  size_t i;

  tt_query_options_init(&qo);
  CHECK(qo.capacity == 0);
  qo.k = (size_t)1 << 62;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.k is 4611686018427387904");
  qo.k = SIZE_MAX;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "tt_query_options.k");
  qo.k = ((size_t)1 << 31) - 1; /* the largest k: refused by a small capacity before any write */
  qo.capacity = 10;
  for (i = 0; i < 12; ++i) ids[i] = 77;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "tt_query_options.capacity is 10");
  CHECK(ids[0] == 77 && ids[11] == 77);
  qo.k = 11;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "need 11");
  qo.k = 10;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  CHECK(ids[0] >= 0 && ids[11] == 77);
  /* A caller compiled before the capacity field: its struct_size ends at allow_count. */
  qo.struct_size = offsetof(tt_query_options, capacity);
  qo.capacity = 1; /* not part of that caller's struct: ignored */
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  qo.struct_size = offsetof(tt_query_options, allow_count);
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "struct_size");
  tt_table_free(q);
}

/* NULL options mean the defaults for every function that takes options. */
static void test_null_options(tt_table* inter, tt_table* cand) {
  tt_model *m = NULL, *imported = NULL;
  tt_table* q = one_query();
  int64_t ids[10];
  float scores[10];
  void* buf = NULL;
  size_t size = 0;

  CHECK_OK(tt_model_create(syn_spec_json, &m));
  CHECK_OK(tt_model_train(m, inter, cand, NULL, NULL)); /* the spec's 4 epochs */
  CHECK_OK(tt_model_query(m, q, NULL, ids, scores));    /* k = 10 */
  CHECK(ids[9] >= 0);
  CHECK_OK(tt_model_save(m, "bad_input_null.tt", NULL));
  CHECK_OK(tt_model_save_to_buffer(m, NULL, &buf, &size));
  tt_buffer_free(buf);
  CHECK_OK(tt_model_convert("bad_input_null.tt", "bad_input_null2.tt", NULL));
  CHECK_OK(tt_model_export(m, "bad_input_null_export", NULL));
  CHECK_OK(tt_model_import("bad_input_null_export", NULL, &imported));
  CHECK_OK(tt_model_query(imported, q, NULL, ids, scores));
  tt_model_free(imported);
  tt_model_free(m);
  tt_table_free(q);
  remove("bad_input_null.tt");
  remove("bad_input_null2.tt");
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_model* m = NULL;
  CHECK(syn_tables(&inter, &cand));
  m = trained(inter, cand);
  test_query_bounds(m);
  test_null_options(inter, cand);
  tt_model_free(m);
  tt_table_free(inter);
  tt_table_free(cand);
  return finish("test_capi_bad_input");
}
