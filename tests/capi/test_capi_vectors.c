/* Search by caller-supplied vectors, in C99: tt_model_query_vectors against a model's index
 * (tests/data/model-v1.tt: 15 candidates of dimension 4), and the standalone vector index
 * (create, add with and without keys, search against a brute-force reference, key filters,
 * precisions, the approximate index, save and load, a model file loaded as an index), and the
 * errors for bad input. */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <math.h>
#include <stddef.h>

#include "check.h"

#define D 8
#define N 200
#define K 5

/* A deterministic generator (no rand(): its sequence differs between C libraries). */
static unsigned long long g_state = 12345;
static float uniform(void) {
  g_state = g_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((g_state >> 40) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

/* Brute-force top-k by inner product (ties to the lower row): rows of `x` (n x d). */
static void reference(const float* x, size_t n, const float* q, size_t k, size_t* rows, float* best) {
  size_t i, j, m = 0;
  for (i = 0; i < k; ++i) best[i] = -INFINITY;
  for (i = 0; i < n; ++i) {
    float s = 0.0f;
    size_t c;
    for (c = 0; c < D; ++c) s += q[c] * x[i * D + c];
    if (m < k || s > best[m - 1]) {
      j = m < k ? m++ : m - 1;
      while (j > 0 && s > best[j - 1]) {
        best[j] = best[j - 1];
        rows[j] = rows[j - 1];
        --j;
      }
      best[j] = s;
      rows[j] = i;
    }
  }
}

static tt_table* one_query(const char* user) {
  tt_table* q = NULL;
  const int64_t ts = 880050000;
  if (tt_table_create(&q) != TT_OK) return NULL;
  tt_table_append_strings(q, "user_id", &user, 1);
  tt_table_append_int64(q, "timestamp", &ts, 1);
  return q;
}

static void model_vectors(void) {
  tt_model* m = NULL;
  tt_table* q = one_query("u7");
  tt_query_options qo;
  float emb[4], bad[4];
  int64_t ids[K], ids2[K];
  float scores[K], scores2[K];
  size_t dim = 0;
  const char* key = NULL;

  CHECK_OK(tt_model_load(TT_SOURCE_DIR "/tests/data/model-v1.tt", &m));
  CHECK_OK(tt_model_embedding_dim(m, &dim));
  CHECK(dim == 4);
  CHECK_OK(tt_model_embed_queries(m, q, emb, 4));
  tt_query_options_init(&qo);
  qo.k = K;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  CHECK_OK(tt_model_query_vectors(m, emb, 1, 4, &qo, ids2, scores2));
  CHECK(memcmp(ids, ids2, sizeof ids) == 0 && memcmp(scores, scores2, sizeof scores) == 0);
  /* model-v1.expected.tsv: u7's best item is 106. */
  CHECK_OK(tt_model_candidate_key(m, ids2[0], &key));
  CHECK(key && strcmp(key, "106") == 0);
  /* Exclusions are candidate ids, as for tt_model_query. */
  {
    const int64_t* lists[1];
    size_t counts[1] = {1};
    lists[0] = ids;
    qo.exclude = lists;
    qo.exclude_counts = counts;
    CHECK_OK(tt_model_query_vectors(m, emb, 1, 4, &qo, ids2, scores2));
    CHECK(ids2[0] == ids[1] && ids2[K - 2] == ids[K - 1]);
    qo.exclude = NULL;
    qo.exclude_counts = NULL;
  }
  /* n = 0 is a valid empty batch. */
  CHECK_OK(tt_model_query_vectors(m, NULL, 0, 4, &qo, ids2, scores2));
  /* Bad input: dimension, NaN, infinity, k, capacity, NULLs. */
  CHECK_FAILS(tt_model_query_vectors(m, emb, 1, 3, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT,
              "vectors: dim is 3; the model has 4");
  memcpy(bad, emb, sizeof bad);
  bad[2] = NAN;
  CHECK_FAILS(tt_model_query_vectors(m, bad, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT,
              "row 0, column 2 is NaN");
  bad[2] = INFINITY;
  CHECK_FAILS(tt_model_query_vectors(m, bad, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT, "infinite");
  qo.k = 0;
  CHECK_FAILS(tt_model_query_vectors(m, emb, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.k is 0");
  qo.k = K;
  qo.capacity = K - 1;
  CHECK_FAILS(tt_model_query_vectors(m, emb, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.capacity is 4 slots");
  qo.capacity = 0;
  CHECK_FAILS(tt_model_query_vectors(m, NULL, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT, "vectors is NULL");
  CHECK_FAILS(tt_model_query_vectors(NULL, emb, 1, 4, &qo, ids2, scores2), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  tt_table_free(q);
  tt_model_free(m);
}

static void standalone(void) {
  static float x[N * D], queries[3 * D];
  int64_t keys[N], got[3 * K];
  float scores[3 * K];
  size_t rows[K], size = 0, dim = 0, i, j, parts = 0, probe = 0;
  float best[K];
  int32_t precision = -2;
  tt_index *idx = NULL, *back = NULL, *idx8 = NULL;
  tt_index_options io;
  tt_query_options qo;
  tt_save_options so;
  tt_ann_options ao;
  tt_model* m = NULL;

  for (i = 0; i < N * D; ++i) x[i] = uniform();
  for (i = 0; i < 3 * D; ++i) queries[i] = uniform();
  for (i = 0; i < N; ++i) keys[i] = 1000 + 7 * (int64_t)i;

  tt_index_options_init(&io);
  CHECK(io.struct_size == sizeof io && io.precision == TT_PRECISION_KEEP && io.threads == 0);
  CHECK_OK(tt_index_create(D, &io, &idx));
  CHECK_OK(tt_index_size(idx, &size));
  CHECK_OK(tt_index_dim(idx, &dim));
  CHECK_OK(tt_index_precision(idx, &precision));
  CHECK(size == 0 && dim == D && precision == TT_PRECISION_FLOAT32);
  /* An empty index answers with empty slots. */
  tt_query_options_init(&qo);
  qo.k = K;
  CHECK_OK(tt_index_search(idx, queries, 1, D, &qo, got, scores));
  CHECK(got[0] == -1 && isinf(scores[0]) && scores[0] < 0);

  /* Two batches: keys given. */
  CHECK_OK(tt_index_add(idx, x, N / 2, D, keys));
  CHECK_OK(tt_index_add(idx, x + (N / 2) * D, N / 2, D, keys + N / 2));
  CHECK_OK(tt_index_size(idx, &size));
  CHECK(size == N);
  CHECK_OK(tt_index_search(idx, queries, 3, D, &qo, got, scores));
  for (i = 0; i < 3; ++i) {
    reference(x, N, queries + i * D, K, rows, best);
    for (j = 0; j < K; ++j) {
      CHECK(got[i * K + j] == keys[rows[j]]);
      CHECK(fabsf(scores[i * K + j] - best[j]) <= 1e-5f);
    }
  }
  /* Exclusion and allow lists hold keys. */
  {
    int64_t first[3 * K];
    const int64_t* lists[3];
    size_t counts[3] = {1, 0, 0};
    const int64_t allow[2] = {keys[17], 5 /* not a key: ignored */};
    const int64_t nowhere[1] = {4};
    memcpy(first, got, sizeof first);
    lists[0] = first;
    lists[1] = lists[2] = NULL;
    qo.exclude = lists;
    qo.exclude_counts = counts;
    CHECK_OK(tt_index_search(idx, queries, 3, D, &qo, got, scores));
    CHECK(got[0] == first[1] && got[K] == first[K]);
    qo.exclude = NULL;
    qo.exclude_counts = NULL;
    qo.allow = allow;
    qo.allow_count = 2;
    CHECK_OK(tt_index_search(idx, queries, 1, D, &qo, got, scores));
    CHECK(got[0] == keys[17] && got[1] == -1);
    qo.allow = nowhere;
    qo.allow_count = 1;
    CHECK_OK(tt_index_search(idx, queries, 1, D, &qo, got, scores));
    CHECK(got[0] == -1);
    qo.allow = NULL;
    qo.allow_count = 0;
  }

  /* Save, load: the same answers; a model loader refuses the file, naming the index loader. */
  tt_save_options_init(&so);
  CHECK_OK(tt_index_save(idx, "capi_vectors.tt", &so));
  CHECK_OK(tt_index_load("capi_vectors.tt", NULL, &back));
  {
    int64_t got2[3 * K];
    float scores2[3 * K];
    CHECK_OK(tt_index_search(idx, queries, 3, D, &qo, got, scores));
    CHECK_OK(tt_index_search(back, queries, 3, D, &qo, got2, scores2));
    CHECK(memcmp(got, got2, sizeof got) == 0 && memcmp(scores, scores2, sizeof scores) == 0);
  }
  CHECK_FAILS(tt_model_load("capi_vectors.tt", &m), TT_ERR_INVALID_ARGUMENT, "tt_index_load");

  /* int8 and bf16: vectors rounded as added, the compact scan re-scored in float32 gives the
   * top-k of the rounded values; on this well-spread set that is the float32 top-1. */
  io.precision = TT_PRECISION_INT8;
  CHECK_OK(tt_index_load("capi_vectors.tt", &io, &idx8));
  CHECK_OK(tt_index_precision(idx8, &precision));
  CHECK(precision == TT_PRECISION_INT8);
  CHECK_OK(tt_index_search(idx8, queries, 1, D, &qo, got, scores));
  reference(x, N, queries, K, rows, best);
  CHECK(got[0] == keys[rows[0]] && fabsf(scores[0] - best[0]) < 0.05f);
  CHECK_OK(tt_index_save(idx8, "capi_vectors8.tt", &so));
  tt_index_free(idx8);
  idx8 = NULL;
  CHECK_OK(tt_index_load("capi_vectors8.tt", NULL, &idx8));
  CHECK_OK(tt_index_precision(idx8, &precision));
  CHECK(precision == TT_PRECISION_INT8);
  {
    int64_t got2[K];
    float scores2[K];
    CHECK_OK(tt_index_search(idx8, queries, 1, D, &qo, got2, scores2));
    CHECK(memcmp(got, got2, sizeof got2) == 0 && memcmp(scores, scores2, sizeof scores2) == 0);
  }
  tt_index_free(idx8);

  /* The approximate index: every partition probed is exact; it survives save and load, and an
   * add rebuilds it over every vector. */
  tt_ann_options_init(&ao);
  ao.partitions = 8;
  CHECK_OK(tt_index_build_ann(idx, &ao, queries, 3, D));
  CHECK_OK(tt_index_ann_info(idx, 0.9, &parts, &probe));
  CHECK(parts == 8 && probe >= 1 && probe <= 8);
  {
    int64_t exact[K], got2[K];
    float scores2[K];
    CHECK_OK(tt_index_search(back, queries, 1, D, &qo, exact, scores2));
    qo.probe = 8;
    qo.rescore = N;
    CHECK_OK(tt_index_search(idx, queries, 1, D, &qo, got2, scores2));
    CHECK(memcmp(exact, got2, sizeof exact) == 0);
    qo.probe = 1;
    qo.rescore = 0;
    CHECK_OK(tt_index_search(idx, queries, 1, D, &qo, got2, scores2));
    for (i = 0; i < K; ++i) CHECK(got2[i] >= 1000);
    qo.probe = 0;
  }
  CHECK_OK(tt_index_save(idx, "capi_vectors_ann.tt", &so));
  tt_index_free(back);
  back = NULL;
  CHECK_OK(tt_index_load("capi_vectors_ann.tt", NULL, &back));
  CHECK_OK(tt_index_ann_info(back, 0.9, &parts, NULL));
  CHECK(parts == 8);
  /* Without keys: the row numbers. */
  {
    float far[D];
    for (i = 0; i < D; ++i) far[i] = 10.0f * queries[i];
    CHECK_OK(tt_index_add(back, far, 1, D, NULL));
  }
  CHECK_OK(tt_index_ann_info(back, 0.9, &parts, NULL));
  CHECK(parts > 0);
  CHECK_OK(tt_index_search(back, queries, 1, D, &qo, got, scores));
  CHECK(got[0] == N); /* 10 x the query, added as row N, scores highest */
  CHECK_OK(tt_index_drop_ann(back));
  CHECK_OK(tt_index_ann_info(back, 0.9, &parts, &probe));
  CHECK(parts == 0 && probe == 0);

  /* Bad input. */
  x[3 * D + 5] = NAN;
  CHECK_FAILS(tt_index_add(idx, x, N, D, keys), TT_ERR_INVALID_ARGUMENT, "vectors: row 3, column 5 is NaN");
  x[3 * D + 5] = 0.5f;
  CHECK_FAILS(tt_index_add(idx, x, N, D - 1, keys), TT_ERR_INVALID_ARGUMENT, "dim is 7; the index has 8");
  CHECK_FAILS(tt_index_search(idx, queries, 1, D + 1, &qo, got, scores), TT_ERR_INVALID_ARGUMENT,
              "queries: dim is 9; the index has 8");
  {
    const int64_t minus_one = -1;
    CHECK_FAILS(tt_index_add(idx, x, 1, D, &minus_one), TT_ERR_INVALID_ARGUMENT, "keys[0] is -1");
  }
  qo.k = 0;
  CHECK_FAILS(tt_index_search(idx, queries, 1, D, &qo, got, scores), TT_ERR_INVALID_ARGUMENT, "k is 0");
  qo.k = K;
  qo.capacity = 2 * K;
  CHECK_FAILS(tt_index_search(idx, queries, 3, D, &qo, got, scores), TT_ERR_INVALID_ARGUMENT,
              "capacity is 10 slots; 3 rows x k 5 need 15");
  qo.capacity = 0;
  CHECK_FAILS(tt_index_create(0, NULL, &back), TT_ERR_INVALID_ARGUMENT, "dim is 0");
  CHECK_FAILS(tt_index_create(TT_INDEX_MAX_DIM + 1, NULL, &back), TT_ERR_INVALID_ARGUMENT, "1..65536");
  io.precision = 7;
  CHECK_FAILS(tt_index_create(D, &io, &back), TT_ERR_INVALID_ARGUMENT, "tt_index_options.precision is 7");
  io.precision = TT_PRECISION_KEEP;
  io.threads = TT_MAX_THREADS + 1;
  CHECK_FAILS(tt_index_create(D, &io, &back), TT_ERR_INVALID_ARGUMENT, "tt_index_options.threads");
  ao.partitions = 0;
  {
    tt_table* t = one_query("u1");
    ao.calibration_queries = t;
    CHECK_FAILS(tt_index_build_ann(idx, &ao, NULL, 0, D), TT_ERR_INVALID_ARGUMENT, "calibration vectors");
    tt_table_free(t);
  }
  CHECK_FAILS(tt_index_load("no-such-index.tt", NULL, &back), TT_ERR_IO, "no-such-index.tt");
  CHECK_FAILS(tt_index_search(NULL, queries, 1, D, &qo, got, scores), TT_ERR_INVALID_ARGUMENT, "index is NULL");
  tt_index_free(NULL);
  tt_index_free(back);
  tt_index_free(idx);
}

/* A model file's index loads as a standalone index: model-v1's keys are item ids (integers). */
static void model_file_as_index(void) {
  tt_model* m = NULL;
  tt_index* idx = NULL;
  tt_table* q = one_query("u7");
  tt_query_options qo;
  float emb[4];
  int64_t ids[K], keys[K];
  float scores[K], scores2[K];
  size_t size = 0;
  int i;

  CHECK_OK(tt_model_load(TT_SOURCE_DIR "/tests/data/model-v1.tt", &m));
  CHECK_OK(tt_index_load(TT_SOURCE_DIR "/tests/data/model-v1.tt", NULL, &idx));
  CHECK_OK(tt_index_size(idx, &size));
  CHECK(size == 15);
  CHECK_OK(tt_model_embed_queries(m, q, emb, 4));
  tt_query_options_init(&qo);
  qo.k = K;
  CHECK_OK(tt_model_query_vectors(m, emb, 1, 4, &qo, ids, scores));
  CHECK_OK(tt_index_search(idx, emb, 1, 4, &qo, keys, scores2));
  for (i = 0; i < K; ++i) {
    const char* key = NULL;
    char text[32];
    CHECK_OK(tt_model_candidate_key(m, ids[i], &key));
    snprintf(text, sizeof text, "%lld", (long long)keys[i]);
    CHECK(key && strcmp(key, text) == 0);
    CHECK(scores[i] == scores2[i]);
  }
  tt_index_free(idx);
  tt_table_free(q);
  tt_model_free(m);
}

int main(void) {
  model_vectors();
  standalone();
  model_file_as_index();
  return finish("test_capi_vectors");
}
