/* The approximate index through the C API, in C99: build, info, per-query breadth and recall
 * target, filtered search returning k, save and load, conversion, the shorter tt_query_options
 * of an older header, and argument errors. Reads tests/data/model-v1.tt (15 candidates). */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <math.h>
#include <stddef.h>

#include "check.h"

#define K 5

static tt_table* one_query(const char* user) {
  tt_table* q = NULL;
  const int64_t ts = 880050000;
  if (tt_table_create(&q) != TT_OK) return NULL;
  tt_table_append_strings(q, "user_id", &user, 1);
  tt_table_append_int64(q, "timestamp", &ts, 1);
  return q;
}

static int contains(const int64_t* ids, size_t n, int64_t id) {
  size_t i;
  for (i = 0; i < n; ++i)
    if (ids[i] == id) return 1;
  return 0;
}

int main(void) {
  const char* src = TT_SOURCE_DIR "/tests/data/model-v1.tt";
  const char* out = "capi_ann.tt";
  tt_model *m = NULL, *back = NULL;
  tt_table* q = one_query("u7");
  tt_ann_options ao;
  tt_query_options qo;
  tt_convert_options co;
  size_t parts = 99, probe = 99;
  int64_t exact[K], ids[K], ids2[K];
  float exact_scores[K], scores[K], scores2[K];
  int i;

  CHECK_OK(tt_model_load(src, &m));
  CHECK_OK(tt_model_ann_info(m, 0.9, &parts, &probe));
  CHECK(parts == 0 && probe == 0);

  tt_ann_options_init(&ao);
  CHECK(ao.struct_size == sizeof ao && ao.iterations == 12 && ao.partitions == 0);
  ao.partitions = 16;
  CHECK_FAILS(tt_model_build_ann(m, &ao), TT_ERR_INVALID_ARGUMENT, "16 partitions for 15 candidates");
  ao.partitions = 5;
  ao.calibration_queries = q;
  CHECK_OK(tt_model_build_ann(m, &ao));
  CHECK_OK(tt_model_ann_info(m, 0.9, &parts, &probe));
  CHECK(parts == 5 && probe >= 1 && probe <= 5);

  tt_query_options_init(&qo);
  CHECK(qo.recall == 0.0 && qo.probe == 0 && qo.rescore == 0);
  qo.k = K;
  CHECK_OK(tt_model_query(m, q, &qo, exact, exact_scores));
  /* Every partition with a shortlist of the whole catalogue: the exact answer. */
  qo.probe = 5;
  qo.rescore = 15;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  CHECK(memcmp(ids, exact, sizeof ids) == 0);
  /* One partition: still k results (the search goes on until k candidates were seen). */
  qo.probe = 1;
  qo.rescore = 0;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  for (i = 0; i < K; ++i) CHECK(ids[i] >= 0 && isfinite(scores[i]));
  /* Filtered: the exact top 5 excluded, one partition probed: 5 other results. */
  {
    const int64_t* lists[1];
    size_t counts[1] = {K};
    lists[0] = exact;
    qo.exclude = lists;
    qo.exclude_counts = counts;
    CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
    for (i = 0; i < K; ++i) CHECK(ids[i] >= 0 && !contains(exact, K, ids[i]));
    qo.exclude = NULL;
    qo.exclude_counts = NULL;
  }
  /* A recall target. */
  qo.probe = 0;
  qo.recall = 0.9;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  qo.recall = 1.5;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "recall must be in [0, 1]");
  qo.recall = 0.9;

  /* Save and load: the same approximate answers. */
  CHECK_OK(tt_model_save(m, out, NULL));
  CHECK_OK(tt_model_load(out, &back));
  CHECK_OK(tt_model_ann_info(back, 0.9, &parts, NULL));
  CHECK(parts == 5);
  CHECK_OK(tt_model_query(back, q, &qo, ids2, scores2));
  CHECK(memcmp(ids, ids2, sizeof ids) == 0 && memcmp(scores, scores2, sizeof scores) == 0);

  /* A caller compiled before these fields existed passes a shorter struct: exact search. */
  qo.struct_size = offsetof(tt_query_options, recall);
  CHECK_OK(tt_model_query(back, q, &qo, ids2, scores2));
  CHECK(memcmp(ids2, exact, sizeof ids2) == 0);

  /* Dropping it: approximate options then answer exactly. */
  CHECK_OK(tt_model_drop_ann(back));
  CHECK_OK(tt_model_ann_info(back, 0.9, &parts, &probe));
  CHECK(parts == 0 && probe == 0);
  tt_query_options_init(&qo);
  qo.k = K;
  qo.probe = 1;
  CHECK_OK(tt_model_query(back, q, &qo, ids2, scores2));
  CHECK(memcmp(ids2, exact, sizeof ids2) == 0);
  tt_model_free(back);
  back = NULL;

  /* Conversion adds it, and drops it. */
  tt_convert_options_init(&co);
  CHECK(co.ann == 0 && co.ann_partitions == 0);
  co.ann = 1;
  co.ann_partitions = 3;
  CHECK_OK(tt_model_convert(src, out, &co));
  CHECK_OK(tt_model_load(out, &back));
  CHECK_OK(tt_model_ann_info(back, 0.9, &parts, NULL));
  CHECK(parts == 3);
  tt_model_free(back);
  back = NULL;
  co.ann = 2;
  CHECK_FAILS(tt_model_convert(src, out, &co), TT_ERR_INVALID_ARGUMENT, "tt_convert_options.ann");

  CHECK_FAILS(tt_model_build_ann(NULL, NULL), TT_ERR_INVALID_ARGUMENT, "model");
  CHECK_FAILS(tt_model_drop_ann(NULL), TT_ERR_INVALID_ARGUMENT, "model");
  CHECK_FAILS(tt_model_ann_info(NULL, 0.5, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "model");
  ao.struct_size = 3;
  CHECK_FAILS(tt_model_build_ann(m, &ao), TT_ERR_INVALID_ARGUMENT, "tt_ann_options.struct_size");

  remove(out);
  tt_table_free(q);
  tt_model_free(m);
  return finish("test_capi_ann");
}
