/* One model queried from 8 threads at once: every thread must get exactly the answers a single
 * thread gets. Built under ThreadSanitizer by the tsan preset. */
#include <pthread.h>

#include "check.h"
#include "synthetic.h"

#define THREADS 8
#define ROUNDS 25
#define K 5

static tt_model* g_model;
static tt_table* g_queries;
static int64_t g_expected_ids[SYN_USERS * K];
static float g_expected_scores[SYN_USERS * K];

static void* worker(void* arg) {
  int64_t ids[SYN_USERS * K];
  float scores[SYN_USERS * K];
  tt_query_options qo;
  int round, mismatches = 0;
  (void)arg;
  tt_query_options_init(&qo);
  qo.k = K;
  for (round = 0; round < ROUNDS; ++round) {
    const char* key = NULL;
    size_t i;
    if (tt_model_query(g_model, g_queries, &qo, ids, scores) != TT_OK) return (void*)1;
    for (i = 0; i < SYN_USERS * K; ++i)
      if (ids[i] != g_expected_ids[i] || scores[i] != g_expected_scores[i]) ++mismatches;
    if (tt_model_candidate_key(g_model, ids[0], &key) != TT_OK || key == NULL) return (void*)1;
    /* Errors on other threads must not leak into this thread's message. */
    if (tt_model_candidate_key(g_model, -1, &key) != TT_ERR_INVALID_ARGUMENT) return (void*)1;
    if (strstr(tt_last_error(), "-1") == NULL) return (void*)1;
  }
  return mismatches ? (void*)1 : NULL;
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_train_options to;
  tt_query_options qo;
  pthread_t threads[THREADS];
  int i, failures = 0;
  char user[16];

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &g_model));
  tt_train_options_init(&to);
  to.threads = 1;
  to.epochs = 2;
  CHECK_OK(tt_model_train(g_model, inter, cand, &to, NULL));

  CHECK_OK(tt_table_create(&g_queries));
  for (i = 0; i < SYN_USERS; ++i) {
    const char* u = user;
    int64_t ts = 1000000 + 100 * (int64_t)i;
    snprintf(user, sizeof user, "u%d", i);
    CHECK_OK(tt_table_append_strings(g_queries, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(g_queries, "timestamp", &ts, 1));
  }
  tt_query_options_init(&qo);
  qo.k = K;
  CHECK_OK(tt_model_query(g_model, g_queries, &qo, g_expected_ids, g_expected_scores));

  for (i = 0; i < THREADS; ++i) CHECK(pthread_create(&threads[i], NULL, worker, NULL) == 0);
  for (i = 0; i < THREADS; ++i) {
    void* result = NULL;
    CHECK(pthread_join(threads[i], &result) == 0);
    if (result) ++failures;
  }
  CHECK(failures == 0);

  tt_table_free(g_queries);
  tt_table_free(inter);
  tt_table_free(cand);
  tt_model_free(g_model);
  return finish("test_capi_threads");
}
