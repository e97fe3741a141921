/* Warm start, per-model threads and the growable entry points (issue 15), through the public
 * header only:
 *   - tt_model_train on a trained model continues it: 10 epochs, a save with its optimizer
 *     state, a load and 10 more give bit for bit the model of 20 epochs in one run; reset = 1
 *     starts over;
 *   - tt_model_set_threads / tt_model_threads / tt_load_options.threads;
 *   - tt_model_evaluate_v2 (k values, batch size), tt_metrics_at_k, tt_model_quantize_v2,
 *     tt_model_load_v2 / _from_buffer_v2, and the deprecated wrappers still answering the same. */
#define TT_NO_DEPRECATION_WARNINGS /* this test also calls the deprecated wrappers */

#include "check.h"
#include "synthetic.h"

static int train(tt_model* m, tt_table* inter, tt_table* cand, uint32_t epochs, int32_t reset) {
  tt_train_options to;
  tt_train_options_init(&to);
  to.epochs = epochs;
  to.threads = 2;
  to.reset = reset;
  return tt_model_train(m, inter, cand, &to, NULL) == TT_OK;
}

/* The candidate embeddings (every weight of the candidate tower leaves its trace in them) and
 * the query embeddings of the users: equal bit for bit, or not. */
static int same_embeddings(const tt_model* a, const tt_model* b, const tt_table* users, const tt_table* cand) {
  float ea[SYN_USERS * 16], eb[SYN_USERS * 16];
  if (tt_model_embed_candidates(a, cand, ea, sizeof ea / sizeof *ea) != TT_OK) return 0;
  if (tt_model_embed_candidates(b, cand, eb, sizeof eb / sizeof *eb) != TT_OK) return 0;
  if (memcmp(ea, eb, SYN_ITEMS * 16 * sizeof(float)) != 0) return 0;
  if (tt_model_embed_queries(a, users, ea, sizeof ea / sizeof *ea) != TT_OK) return 0;
  if (tt_model_embed_queries(b, users, eb, sizeof eb / sizeof *eb) != TT_OK) return 0;
  return memcmp(ea, eb, SYN_USERS * 16 * sizeof(float)) == 0;
}

static tt_model* fresh(void) {
  tt_model* m = NULL;
  if (tt_model_create(syn_spec_json, &m) != TT_OK) return NULL;
  return m;
}

static uint64_t metadata_epochs(const tt_model* m) {
  const char* json = NULL;
  const char* at;
  if (tt_model_metadata_json(m, &json) != TT_OK) return 0;
  at = strstr(json, "\"epochs\": ");
  return at ? strtoull(at + 10, NULL, 10) : 0;
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL, *users = NULL;
  tt_model *twenty = fresh(), *ten = fresh(), *resumed = NULL, *reset = NULL, *loaded = NULL;
  tt_save_options so;
  tt_load_options lo;
  tt_eval_options eo;
  tt_quantize_options qo;
  tt_metrics metrics, old_metrics;
  void* buffer = NULL;
  size_t size = 0, i;
  int32_t threads = -1, precision = -1;
  double accuracy = -1.0;
  const uint32_t ks[2] = {3, 30};
  char name[16];
  const char* u = name;

  CHECK(twenty && ten);
  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_table_create(&users));
  for (i = 0; i < SYN_USERS; ++i) {
    int64_t ts = 1000000;
    snprintf(name, sizeof name, "u%d", (int)i);
    CHECK_OK(tt_table_append_strings(users, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(users, "timestamp", &ts, 1));
  }

  /* --- Warm start ------------------------------------------------------------------------- */
  CHECK(train(twenty, inter, cand, 20, 0));
  CHECK(train(ten, inter, cand, 10, 0));
  CHECK(!same_embeddings(ten, twenty, users, cand));
  tt_save_options_init(&so);
  so.include_optimizer = 1;
  CHECK_OK(tt_model_save_to_buffer(ten, &so, &buffer, &size));
  tt_load_options_init(&lo);
  CHECK(lo.struct_size == sizeof lo && lo.threads == 0);
  lo.threads = 2;
  CHECK_OK(tt_model_load_from_buffer_v2(buffer, size, &lo, &resumed));
  CHECK(resumed != NULL);
  CHECK(train(resumed, inter, cand, 10, 0));
  CHECK(same_embeddings(resumed, twenty, users, cand));
  CHECK(metadata_epochs(resumed) == 20);
  /* In memory, without the file. */
  CHECK(train(ten, inter, cand, 10, 0));
  CHECK(same_embeddings(ten, twenty, users, cand));

  /* reset = 1: the spec's initial weights and a new shuffling stream, as an untrained model. */
  CHECK_OK(tt_model_load_from_buffer_v2(buffer, size, NULL, &reset));
  CHECK(train(reset, inter, cand, 10, 1));
  tt_model_free(ten);
  ten = fresh();
  CHECK(train(ten, inter, cand, 10, 0));
  CHECK(same_embeddings(reset, ten, users, cand));
  CHECK(metadata_epochs(reset) == 10);
  {
    tt_train_options to;
    tt_train_options_init(&to);
    CHECK(to.reset == 0);
    to.reset = 2;
    CHECK_FAILS(tt_model_train(reset, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT, "tt_train_options.reset");
  }

  /* --- Threads ---------------------------------------------------------------------------- */
  CHECK_OK(tt_model_threads(resumed, &threads));
  CHECK(threads == 2);
  CHECK_OK(tt_model_set_threads(resumed, 1));
  CHECK_OK(tt_model_threads(resumed, &threads));
  CHECK(threads == 1);
  /* Answers do not depend on the serving thread count. */
  CHECK(same_embeddings(resumed, twenty, users, cand));
  CHECK_OK(tt_model_set_threads(resumed, 0));
  CHECK_OK(tt_model_threads(resumed, &threads));
  CHECK(threads >= 1);
  CHECK_FAILS(tt_model_set_threads(resumed, TT_MAX_THREADS + 1), TT_ERR_INVALID_ARGUMENT, "threads");
  CHECK_FAILS(tt_model_set_threads(resumed, -1), TT_ERR_INVALID_ARGUMENT, "threads");
  CHECK_FAILS(tt_model_threads(NULL, &threads), TT_ERR_INVALID_ARGUMENT, "model");
  lo.threads = -3;
  CHECK_FAILS(tt_model_load_from_buffer_v2(buffer, size, &lo, &loaded), TT_ERR_INVALID_ARGUMENT,
              "tt_load_options.threads");
  lo.threads = 0;
  lo.struct_size = 1;
  CHECK_FAILS(tt_model_load_from_buffer_v2(buffer, size, &lo, &loaded), TT_ERR_INVALID_ARGUMENT,
              "tt_load_options.struct_size");
  CHECK(loaded == NULL);

  /* --- Evaluation options and lookup by k ------------------------------------------------- */
  tt_metrics_init(&metrics);
  tt_eval_options_init(&eo);
  CHECK(eo.struct_size == sizeof eo && eo.k == NULL && eo.distinct_candidates == 0 && eo.batch_size == 0);
  CHECK_OK(tt_model_evaluate_v2(twenty, inter, cand, NULL, &metrics));
  CHECK(metrics.count == 3); /* the spec's k: 1, 5, 10 */
  tt_metrics_init(&old_metrics);
  CHECK_OK(tt_model_evaluate(twenty, inter, cand, 0, &old_metrics));
  CHECK(memcmp(&metrics, &old_metrics, sizeof metrics) == 0);
  CHECK_OK(tt_metrics_at_k(&metrics, 5, &accuracy));
  CHECK(accuracy == metrics.accuracy[1] && accuracy > 0.0);
  accuracy = -1.0;
  CHECK_FAILS(tt_metrics_at_k(&metrics, 7, &accuracy), TT_ERR_INVALID_ARGUMENT, "1, 5, 10");
  CHECK(accuracy == -1.0);
  CHECK_FAILS(tt_metrics_at_k(NULL, 7, &accuracy), TT_ERR_INVALID_ARGUMENT, "metrics");

  eo.k = ks;
  eo.k_count = 2;
  eo.batch_size = 7;
  CHECK_OK(tt_model_evaluate_v2(twenty, inter, cand, &eo, &metrics));
  CHECK(metrics.count == 2 && metrics.k[0] == 3 && metrics.k[1] == 30);
  CHECK_OK(tt_metrics_at_k(&metrics, 30, &accuracy));
  CHECK(accuracy == 1.0); /* every candidate is in the top 30 of 30 */
  eo.k_count = TT_MAX_K + 1;
  CHECK_FAILS(tt_model_evaluate_v2(twenty, inter, cand, &eo, &metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_eval_options.k_count");
  eo.k_count = 0;
  CHECK_FAILS(tt_model_evaluate_v2(twenty, inter, cand, &eo, &metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_eval_options.k_count");
  eo.k = NULL;
  eo.batch_size = 0;
  eo.distinct_candidates = 2;
  CHECK_FAILS(tt_model_evaluate_v2(twenty, inter, cand, &eo, &metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_eval_options.distinct_candidates");
  CHECK_FAILS(tt_model_evaluate(twenty, inter, cand, 2, &metrics), TT_ERR_INVALID_ARGUMENT, "distinct_candidates");
  tt_eval_options_init(&eo);
  eo.struct_size = 3; /* below the first version (test_capi_struct_size.c has the rest) */
  CHECK_FAILS(tt_model_evaluate_v2(twenty, inter, cand, &eo, &metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_eval_options.struct_size");
  /* Evaluation runs on the model's threads: the count does not change the numbers. */
  CHECK_OK(tt_model_set_threads(twenty, 1));
  CHECK_OK(tt_model_evaluate_v2(twenty, inter, cand, NULL, &old_metrics));
  CHECK_OK(tt_model_evaluate_v2(twenty, inter, cand, NULL, &metrics));
  CHECK(memcmp(&metrics, &old_metrics, sizeof metrics) == 0);

  /* --- Quantize options ------------------------------------------------------------------- */
  tt_quantize_options_init(&qo);
  CHECK(qo.index_precision == TT_PRECISION_KEEP && qo.weights_precision == TT_PRECISION_KEEP);
  CHECK_OK(tt_model_quantize_v2(resumed, NULL));
  CHECK_OK(tt_model_precision(resumed, &precision, NULL));
  CHECK(precision == TT_PRECISION_FLOAT32);
  qo.index_precision = TT_PRECISION_INT8;
  CHECK_OK(tt_model_quantize_v2(resumed, &qo));
  CHECK_OK(tt_model_precision(resumed, &precision, NULL));
  CHECK(precision == TT_PRECISION_INT8);
  CHECK_OK(tt_model_quantize(resumed, TT_PRECISION_KEEP, TT_PRECISION_BF16));
  CHECK_OK(tt_model_precision(resumed, NULL, &precision));
  CHECK(precision == TT_PRECISION_BF16);
  qo.index_precision = 9;
  CHECK_FAILS(tt_model_quantize_v2(resumed, &qo), TT_ERR_INVALID_ARGUMENT, "tt_quantize_options.index_precision");
  CHECK_FAILS(tt_model_quantize(resumed, 9, TT_PRECISION_KEEP), TT_ERR_INVALID_ARGUMENT, "index_precision");
  /* Warm start from quantized weights is refused, naming why. */
  CHECK_FAILS(tt_model_train(resumed, inter, cand, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "bf16");

  /* --- Loading from a file ---------------------------------------------------------------- */
  CHECK_OK(tt_model_save(twenty, "warm_twenty.tt", &so));
  lo.struct_size = sizeof lo;
  lo.threads = 1;
  CHECK_OK(tt_model_load_v2("warm_twenty.tt", &lo, &loaded));
  CHECK_OK(tt_model_threads(loaded, &threads));
  CHECK(threads == 1);
  CHECK(same_embeddings(loaded, twenty, users, cand));
  tt_model_free(loaded);
  loaded = NULL;
  CHECK_OK(tt_model_load("warm_twenty.tt", &loaded));
  CHECK(same_embeddings(loaded, twenty, users, cand));
  CHECK_FAILS(tt_model_load_v2(NULL, NULL, &loaded), TT_ERR_INVALID_ARGUMENT, "path");
  remove("warm_twenty.tt");

  tt_buffer_free(buffer);
  tt_model_free(twenty);
  tt_model_free(ten);
  tt_model_free(resumed);
  tt_model_free(reset);
  tt_model_free(loaded);
  tt_table_free(inter);
  tt_table_free(cand);
  tt_table_free(users);
  return finish("test_capi_warm");
}
