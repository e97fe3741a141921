/* Replacing a served model under load: 8 threads query whatever model a tt_model_slot holds
 * while another thread clones it, rebuilds the clone's index and swaps the clone in, over and
 * over. Every answer must be exactly the answer of the model generation it was taken from (no
 * torn or freed model), the swapper must never wait long for the slot (no starvation), and every
 * reader must keep answering. Built under ThreadSanitizer by the tsan preset; ASan/LSan catch a
 * model freed too early or never. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "synthetic.h"

#define READERS 8
#define SWAPS 40
#define MIN_QUERIES 20
#define K 5
#define SLOTS (SYN_USERS * K)

static tt_model_slot* g_slot;
static tt_table* g_queries;
static tt_table* g_catalogue[2]; /* [0]: every item, [1]: items i0..i14 */
/* Answers of the model with catalogue [c]; generation g has catalogue (g - 1) % 2. */
static int64_t g_ids[2][SLOTS];
static float g_scores[2][SLOTS];
static pthread_mutex_t g_done_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_final_generation; /* 0 while the swapper runs */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t final_generation(void) {
  uint64_t g;
  pthread_mutex_lock(&g_done_mutex);
  g = g_final_generation;
  pthread_mutex_unlock(&g_done_mutex);
  return g;
}

typedef struct reader_result {
  int queries, mismatches, errors;
  uint64_t max_generation;
} reader_result;

static void* reader(void* arg) {
  reader_result* r = (reader_result*)arg;
  int64_t ids[SLOTS];
  float scores[SLOTS];
  tt_query_options qo;
  tt_query_options_init(&qo);
  qo.k = K;
  qo.capacity = SLOTS;
  /* Until the swapper is done and this reader has answered from its last model: a reader that
   * the machine descheduled through every swap still meets a replaced model. */
  for (;;) {
    const uint64_t last = final_generation();
    tt_model* m = NULL;
    uint64_t gen = 0;
    size_t i, n = 0;
    int c;
    if (last && r->queries >= MIN_QUERIES && r->max_generation >= last) break;
    if (tt_model_slot_acquire(g_slot, &m, &gen) != TT_OK || m == NULL || gen == 0) {
      ++r->errors;
      break;
    }
    c = (int)((gen - 1) % 2);
    if (tt_model_query(m, g_queries, &qo, ids, scores) != TT_OK || tt_model_num_candidates(m, &n) != TT_OK)
      ++r->errors;
    else if (n != (c ? 15u : SYN_ITEMS))
      ++r->mismatches;
    for (i = 0; i < SLOTS; ++i)
      if (ids[i] != g_ids[c][i] || scores[i] != g_scores[c][i]) {
        ++r->mismatches;
        break;
      }
    if (gen > r->max_generation) r->max_generation = gen;
    tt_model_release(m);
    ++r->queries;
  }
  return NULL;
}

typedef struct swapper_result {
  int errors;
  double max_replace_seconds;
  uint64_t last_generation;
} swapper_result;

/* The documented pattern: take the current model, clone it, change the clone, swap it in. */
static void* swapper(void* arg) {
  swapper_result* r = (swapper_result*)arg;
  int s;
  for (s = 0; s < SWAPS; ++s) {
    tt_model *current = NULL, *next = NULL;
    uint64_t gen = 0, installed = 0;
    double t0;
    if (tt_model_slot_acquire(g_slot, &current, &gen) != TT_OK) {
      ++r->errors;
      break;
    }
    if (tt_model_clone(current, &next) != TT_OK || tt_model_rebuild_index(next, g_catalogue[gen % 2]) != TT_OK)
      ++r->errors;
    tt_model_release(current);
    t0 = now_seconds();
    if (tt_model_slot_replace(g_slot, next, &installed) != TT_OK || installed != gen + 1) ++r->errors;
    t0 = now_seconds() - t0;
    if (t0 > r->max_replace_seconds) r->max_replace_seconds = t0;
    r->last_generation = installed;
    tt_model_release(next); /* the slot holds it now */
  }
  pthread_mutex_lock(&g_done_mutex);
  g_final_generation = r->last_generation ? r->last_generation : 1;
  pthread_mutex_unlock(&g_done_mutex);
  return NULL;
}

static void check_reference_counts(const tt_model* trained) {
  tt_model *a = NULL, *b = NULL, *got = NULL;
  tt_model_slot* slot = NULL;
  uint64_t gen = 99;
  size_t n = 0;
  const char* key = NULL;

  CHECK_FAILS(tt_model_retain(NULL), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(tt_model_clone(NULL, &a), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(tt_model_slot_create(NULL, NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  tt_model_release(NULL);
  tt_model_slot_free(NULL);

  /* An empty slot says so; a replace fills it. */
  CHECK_OK(tt_model_slot_create(NULL, &slot));
  CHECK_FAILS(tt_model_slot_acquire(slot, &got, &gen), TT_ERR_INVALID_ARGUMENT, "holds no model");
  CHECK(got == NULL && gen == 99);
  CHECK_FAILS(tt_model_slot_acquire(slot, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(tt_model_slot_replace(NULL, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "slot is NULL");

  /* A clone is independent: rebuilding its index leaves the original as it was. */
  CHECK_OK(tt_model_clone(trained, &a));
  CHECK_OK(tt_model_rebuild_index(a, g_catalogue[1]));
  CHECK_OK(tt_model_num_candidates(a, &n));
  CHECK(n == 15);
  CHECK_OK(tt_model_num_candidates(trained, &n));
  CHECK(n == SYN_ITEMS);

  /* The slot keeps a model alive after its creator lets go; acquired references outlive a
   * replace; the last release frees (LSan reports a leak, ASan a use after free otherwise). */
  CHECK_OK(tt_model_slot_replace(slot, a, &gen));
  CHECK(gen == 1);
  tt_model_free(a); /* == release: the slot still holds it */
  CHECK_OK(tt_model_slot_acquire(slot, &got, &gen));
  CHECK(got == a && gen == 1);
  CHECK_OK(tt_model_clone(trained, &b));
  CHECK_OK(tt_model_slot_replace(slot, b, &gen));
  CHECK(gen == 2);
  CHECK_OK(tt_model_num_candidates(got, &n)); /* still alive: we hold a reference */
  CHECK(n == 15);
  CHECK_OK(tt_model_retain(got));
  tt_model_release(got);
  tt_model_release(got); /* the last reference: frees the clone */
  CHECK_OK(tt_model_slot_acquire(slot, &got, &gen));
  CHECK(got == b && gen == 2);
  tt_model_release(got);
  CHECK_OK(tt_model_slot_replace(slot, NULL, &gen));
  CHECK(gen == 3);
  CHECK_FAILS(tt_model_slot_acquire(slot, &got, NULL), TT_ERR_INVALID_ARGUMENT, "holds no model");
  tt_model_slot_free(slot); /* b: one reference left, ours */
  CHECK_OK(tt_model_num_candidates(b, &n));
  CHECK(n == SYN_ITEMS);
  tt_model_release(b);

  /* An untrained model can be cloned, and its clone trained alone. */
  CHECK_OK(tt_model_create(syn_spec_json, &a));
  CHECK_OK(tt_model_clone(a, &b));
  CHECK_OK(tt_model_num_candidates(b, &n));
  CHECK(n == 0);
  CHECK_FAILS(tt_model_candidate_key(b, 0, &key), TT_ERR_INVALID_ARGUMENT, "trained or loaded");
  tt_model_free(a);
  tt_model_free(b);
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_model* model = NULL;
  tt_train_options to;
  tt_query_options qo;
  pthread_t readers[READERS], swap_thread;
  reader_result results[READERS];
  swapper_result sr;
  int i, c, queries = 0;
  char user[16], item[16], title[32];

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &model));
  tt_train_options_init(&to);
  to.threads = 1;
  to.epochs = 2;
  CHECK_OK(tt_model_train(model, inter, cand, &to, NULL));

  CHECK_OK(tt_table_create(&g_queries));
  for (i = 0; i < SYN_USERS; ++i) {
    const char* u = user;
    int64_t ts = 1000000 + 100 * (int64_t)i;
    snprintf(user, sizeof user, "u%d", i);
    CHECK_OK(tt_table_append_strings(g_queries, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(g_queries, "timestamp", &ts, 1));
  }
  g_catalogue[0] = cand;
  CHECK_OK(tt_table_create(&g_catalogue[1]));
  for (i = 0; i < 15; ++i) {
    const char* it = item;
    const char* ti = title;
    snprintf(item, sizeof item, "i%d", i);
    snprintf(title, sizeof title, "item %d", i);
    CHECK_OK(tt_table_append_strings(g_catalogue[1], "item_id", &it, 1));
    CHECK_OK(tt_table_append_strings(g_catalogue[1], "title", &ti, 1));
  }

  check_reference_counts(model);

  /* The expected answers of both catalogues, from clones made the way the swapper makes them. */
  tt_query_options_init(&qo);
  qo.k = K;
  for (c = 0; c < 2; ++c) {
    tt_model* m = NULL;
    CHECK_OK(tt_model_clone(model, &m));
    CHECK_OK(tt_model_rebuild_index(m, g_catalogue[c]));
    CHECK_OK(tt_model_query(m, g_queries, &qo, g_ids[c], g_scores[c]));
    tt_model_free(m);
  }
  CHECK(memcmp(g_ids[0], g_ids[1], sizeof g_ids[0]) != 0); /* the two generations are told apart */

  CHECK_OK(tt_model_slot_create(model, &g_slot));
  tt_model_free(model); /* the slot holds the only reference now */

  memset(results, 0, sizeof results);
  memset(&sr, 0, sizeof sr);
  for (i = 0; i < READERS; ++i) CHECK(pthread_create(&readers[i], NULL, reader, &results[i]) == 0);
  CHECK(pthread_create(&swap_thread, NULL, swapper, &sr) == 0);
  CHECK(pthread_join(swap_thread, NULL) == 0);
  for (i = 0; i < READERS; ++i) CHECK(pthread_join(readers[i], NULL) == 0);

  CHECK(sr.errors == 0);
  CHECK(sr.last_generation == SWAPS + 1);
  /* A replace waits only for other threads' pointer copies: far below this bound even on a
   * loaded machine under ThreadSanitizer; a lock held across queries would blow it. */
  CHECK(sr.max_replace_seconds < 0.5);
  for (i = 0; i < READERS; ++i) {
    CHECK(results[i].errors == 0);
    CHECK(results[i].mismatches == 0);
    CHECK(results[i].queries >= MIN_QUERIES);
    CHECK(results[i].max_generation == SWAPS + 1); /* every reader met replaced models */
    queries += results[i].queries;
  }
  printf("test_capi_swap: %d swaps (longest replace %.6f s) under %d queries from %d threads\n", SWAPS,
         sr.max_replace_seconds, queries, READERS);

  tt_model_slot_free(g_slot);
  tt_table_free(g_queries);
  tt_table_free(g_catalogue[1]);
  tt_table_free(inter);
  tt_table_free(cand);
  return finish("test_capi_swap");
}
