/* Sharded serving (tt_model_shard, tt_model_shard_info, tt_topk_merge, tt_convert_options
 * shard fields): for S = 1..4 shards, merging the shards' answers gives bit for bit the
 * unsharded model's ids and scores for queries of up to 4 rows (the serving case), with ties
 * (a catalogue listing every item twice, the copies in different shards) broken by the lower
 * id across shards, with exclusion and allow lists by id and by key; batches of more rows
 * (scored by a GEMM whose rounding depends on the block) agree within float rounding. A shard's
 * candidate ids are catalogue rows everywhere; shards survive save and load; tt_model_convert
 * writes them; bad input gets clear errors. */
#include <math.h>
#include <stddef.h>

#include "check.h"
#include "synthetic.h"

#define ROWS 9                 /* query rows of a batch (above the 4-row scan: the GEMM path) */
#define SCAN_ROWS 4            /* the most rows the fixed-order float scan serves */
#define COPIES 2               /* the catalogue lists every item this many times */
#define N (SYN_ITEMS * COPIES) /* catalogue rows */
#define MAX_S 4

static tt_model* g_whole;
static tt_table* g_queries;

static int same(const int64_t* a_ids, const float* a_scores, const int64_t* b_ids, const float* b_scores, size_t n) {
  return memcmp(a_ids, b_ids, n * sizeof *a_ids) == 0 && memcmp(a_scores, b_scores, n * sizeof *a_scores) == 0;
}

/* Shard s of S of the whole model. */
static tt_model* make_shard(uint32_t s, uint32_t count) {
  tt_model* m = NULL;
  if (tt_model_clone(g_whole, &m) != TT_OK) return NULL;
  if (tt_model_shard(m, s, count) != TT_OK) {
    fprintf(stderr, "tt_model_shard(%u, %u): %s\n", s, count, tt_last_error());
    tt_model_free(m);
    return NULL;
  }
  return m;
}

/* Queries `rows` rows of g_queries with `qo` on the whole model and on S shards (k per shard =
 * qo->k), merges and compares. */
static void check_identity(uint32_t count, const tt_query_options* qo, size_t rows, const char* what) {
  static int64_t whole_ids[ROWS * N], shard_ids[MAX_S][ROWS * N], merged_ids[ROWS * N];
  static float whole_scores[ROWS * N], shard_scores[MAX_S][ROWS * N], merged_scores[ROWS * N];
  const int64_t* id_lists[MAX_S];
  const float* score_lists[MAX_S];
  tt_table* q = g_queries;
  uint32_t s;
  int ok = 1;
  size_t i, slots = rows * qo->k;
  if (rows < ROWS) {
    /* The first rows of g_queries. */
    size_t r;
    CHECK_OK(tt_table_create(&q));
    for (r = 0; r < rows; ++r) {
      char user[16];
      const char* u = user;
      const int64_t ts = 1000000 + 1000 * (int64_t)r;
      snprintf(user, sizeof user, "u%d", (int)r * 4 + 3);
      CHECK_OK(tt_table_append_strings(q, "user_id", &u, 1));
      CHECK_OK(tt_table_append_int64(q, "timestamp", &ts, 1));
    }
  }
  CHECK_OK(tt_model_query(g_whole, q, qo, whole_ids, whole_scores));
  for (s = 0; s < count; ++s) {
    tt_model* shard = make_shard(s, count);
    CHECK(shard != NULL);
    if (!shard) return;
    CHECK_OK(tt_model_query(shard, q, qo, shard_ids[s], shard_scores[s]));
    id_lists[s] = shard_ids[s];
    score_lists[s] = shard_scores[s];
    tt_model_free(shard);
  }
  CHECK_OK(tt_topk_merge(id_lists, score_lists, count, rows, qo->k, qo->k, merged_ids, merged_scores));
  if (rows > SCAN_ROWS) {
    /* The GEMM's rounding depends on where a candidate falls in its block: scores agree within
     * a few ulps (and near-ties may swap). */
    for (i = 0; i < slots; ++i)
      if (fabsf(whole_scores[i] - merged_scores[i]) > 1e-5f * (1.0f + fabsf(whole_scores[i]))) {
        fprintf(stderr, "%s, %u shards: slot %zu: whole %.9g, merged %.9g\n", what, count, i, whole_scores[i],
                merged_scores[i]);
        ok = 0;
        break;
      }
  } else if (!same(whole_ids, whole_scores, merged_ids, merged_scores, slots)) {
    ok = 0;
    for (i = 0; i < slots; ++i)
      if (whole_ids[i] != merged_ids[i] || whole_scores[i] != merged_scores[i]) {
        fprintf(stderr, "%s, %u shards: slot %zu: whole %lld %.9g, merged %lld %.9g\n", what, count, i,
                (long long)whole_ids[i], whole_scores[i], (long long)merged_ids[i], merged_scores[i]);
        break;
      }
  }
  CHECK(ok);
  if (rows < ROWS) tt_table_free(q);
}

static void test_identity(void) {
  tt_query_options qo;
  uint32_t count;
  int64_t whole_ids[N];
  float whole_scores[N];
  int ties = 0;
  size_t i;
  const int64_t excluded[3] = {0, 31, 59};
  const int64_t* exclude[ROWS];
  size_t exclude_counts[ROWS];
  const int64_t allowed[5] = {2, 3, 32, 45, 58};
  const char* keys[2] = {"i5", "i7"};
  const char* const* exclude_keys[ROWS];
  size_t exclude_key_counts[ROWS];
  const char* allow_keys[3] = {"i1", "i2", "i29"};

  /* The doubled catalogue makes exact ties: row j and row j + SYN_ITEMS score alike. */
  tt_query_options_init(&qo);
  qo.k = N;
  {
    tt_table* q = NULL;
    const char* u = "u3";
    const int64_t ts = 1000000;
    CHECK_OK(tt_table_create(&q));
    CHECK_OK(tt_table_append_strings(q, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(q, "timestamp", &ts, 1));
    CHECK_OK(tt_model_query(g_whole, q, &qo, whole_ids, whole_scores));
    tt_table_free(q);
  }
  for (i = 1; i < N; ++i)
    if (whole_scores[i] == whole_scores[i - 1]) {
      ++ties;
      CHECK(whole_ids[i] == whole_ids[i - 1] + SYN_ITEMS); /* the lower id first */
    }
  CHECK(ties == SYN_ITEMS);

  for (i = 0; i < ROWS; ++i) {
    exclude[i] = excluded;
    exclude_counts[i] = i % 2 ? 3 : 0;
    exclude_keys[i] = keys;
    exclude_key_counts[i] = i % 3 ? 2 : 1;
  }
  for (count = 1; count <= MAX_S; ++count) {
    static const size_t row_counts[3] = {1, SCAN_ROWS, ROWS}; /* bit for bit, bit for bit, rounding */
    size_t r;
    for (r = 0; r < 3; ++r) {
      const size_t rows = row_counts[r];
      tt_query_options_init(&qo);
      qo.k = 7; /* ties straddle the k-th place for some rows */
      check_identity(count, &qo, rows, "k 7");
      qo.k = N;
      check_identity(count, &qo, rows, "k N");
      qo.k = 10;
      qo.exclude = exclude;
      qo.exclude_counts = exclude_counts;
      check_identity(count, &qo, rows, "excluded ids");
      qo.exclude_keys = exclude_keys;
      qo.exclude_key_counts = exclude_key_counts;
      check_identity(count, &qo, rows, "excluded ids and keys");
      tt_query_options_init(&qo);
      qo.k = 4;
      qo.allow = allowed;
      qo.allow_count = 5;
      check_identity(count, &qo, rows, "allowed ids");
      qo.allow = NULL;
      qo.allow_count = 0;
      qo.allow_keys = allow_keys;
      qo.allow_key_count = 3;
      check_identity(count, &qo, rows, "allowed keys");
    }
  }
}

static void test_shard_ids(void) {
  tt_shard_info info;
  tt_model* shard = make_shard(1, 3);
  tt_model* loaded = NULL;
  const char* key = NULL;
  const char* whole_key = NULL;
  int64_t id = -2;
  float e[16], whole_e[16];
  size_t n = 0;
  void* buffer = NULL;
  size_t size = 0;
  const char* json = NULL;

  CHECK(shard != NULL);
  if (!shard) return;
  tt_shard_info_init(&info);
  CHECK_OK(tt_model_shard_info(g_whole, &info));
  CHECK(info.index == 0 && info.count == 1 && info.offset == 0 && info.candidates == N && info.catalogue_size == N);
  CHECK_OK(tt_model_shard_info(shard, &info));
  CHECK(info.index == 1 && info.count == 3 && info.offset == 20 && info.candidates == 20 && info.catalogue_size == N);
  CHECK_OK(tt_model_num_candidates(shard, &n));
  CHECK(n == 20);

  /* Ids are catalogue rows: 20 .. 39. */
  CHECK_OK(tt_model_candidate_key(shard, 25, &key));
  CHECK_OK(tt_model_candidate_key(g_whole, 25, &whole_key));
  CHECK(key && whole_key && strcmp(key, whole_key) == 0);
  CHECK_FAILS(tt_model_candidate_key(shard, 19, &key), TT_ERR_INVALID_ARGUMENT, "candidate id 19 is outside 20..39");
  CHECK_FAILS(tt_model_candidate_key(shard, 40, &key), TT_ERR_INVALID_ARGUMENT, "outside 20..39");
  CHECK_OK(tt_model_candidate_id(shard, "i0", &id)); /* rows 0 and 30 hold i0: row 30 is here */
  CHECK(id == 30);
  CHECK_OK(tt_model_candidate_id(shard, "i15", &id)); /* rows 15 and 45: neither here */
  CHECK(id == -1);
  CHECK_OK(tt_model_candidate_embeddings(shard, 33, 1, e, 16));
  CHECK_OK(tt_model_candidate_embeddings(g_whole, 33, 1, whole_e, 16));
  CHECK(memcmp(e, whole_e, sizeof e) == 0);
  CHECK_FAILS(tt_model_candidate_embeddings(shard, 10, 1, e, 16), TT_ERR_INVALID_ARGUMENT, "beyond the index's 20");
  CHECK_FAILS(tt_model_candidate_embeddings(shard, 39, 2, e, 32), TT_ERR_INVALID_ARGUMENT, "beyond");
  CHECK_OK(tt_model_metadata_json(shard, &json));
  CHECK(json && strstr(json, "\"shard\"") && strstr(json, "\"catalogue_size\": 60"));

  /* A save and load keep the shard. */
  CHECK_OK(tt_model_save_to_buffer(shard, NULL, &buffer, &size));
  CHECK_OK(tt_model_load_from_buffer_v2(buffer, size, NULL, &loaded));
  tt_buffer_free(buffer);
  if (loaded) {
    CHECK_OK(tt_model_shard_info(loaded, &info));
    CHECK(info.index == 1 && info.count == 3 && info.offset == 20 && info.candidates == 20);
    CHECK_OK(tt_model_candidate_id(loaded, "i0", &id));
    CHECK(id == 30);
    /* Refused on a shard: sharding again, rebuilding the index, warm training. */
    CHECK_FAILS(tt_model_shard(loaded, 0, 2), TT_ERR_INVALID_ARGUMENT, "already shard 1 of 3");
    tt_model_free(loaded);
  }
  {
    tt_table *inter = NULL, *cand = NULL;
    tt_train_options to;
    CHECK(syn_tables(&inter, &cand));
    CHECK_FAILS(tt_model_rebuild_index(shard, cand), TT_ERR_INVALID_ARGUMENT,
                "the model is shard 1 of 3 of a catalogue; to rebuild its index");
    tt_train_options_init(&to);
    to.epochs = 1;
    to.threads = 1;
    CHECK_FAILS(tt_model_train(shard, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT, "to train it further");
    tt_table_free(inter);
    tt_table_free(cand);
  }
  tt_model_free(shard);

  /* Bad shard arguments leave the model whole. */
  CHECK_OK(tt_model_clone(g_whole, &shard));
  CHECK_FAILS(tt_model_shard(shard, 0, 0), TT_ERR_INVALID_ARGUMENT, "shard count is 0; it must be 1..60");
  CHECK_FAILS(tt_model_shard(shard, 0, 61), TT_ERR_INVALID_ARGUMENT, "shard count is 61");
  CHECK_FAILS(tt_model_shard(shard, 3, 3), TT_ERR_INVALID_ARGUMENT, "shard index 3 of 3 shards; it must be 0..2");
  CHECK_FAILS(tt_model_shard(NULL, 0, 1), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_OK(tt_model_num_candidates(shard, &n));
  CHECK(n == N);
  info.struct_size = 8;
  CHECK_FAILS(tt_model_shard_info(shard, &info), TT_ERR_INVALID_ARGUMENT, "tt_shard_info.struct_size is 8");
  tt_model_free(shard);
}

static void test_convert(void) {
  tt_convert_options co;
  tt_model *shard = NULL, *expected = make_shard(2, 3);
  tt_shard_info info;
  int64_t ids[ROWS * 5], expected_ids[ROWS * 5];
  float scores[ROWS * 5], expected_scores[ROWS * 5];
  tt_query_options qo;

  CHECK_OK(tt_model_save(g_whole, "shard-whole.tt", NULL));
  tt_convert_options_init(&co);
  CHECK(co.shard_index == 0 && co.shard_count == 0);
  co.shard_index = 2;
  co.shard_count = 3;
  CHECK_OK(tt_model_convert("shard-whole.tt", "shard-2-of-3.tt", &co));
  CHECK_OK(tt_model_load_v2("shard-2-of-3.tt", NULL, &shard));
  if (shard && expected) {
    tt_shard_info_init(&info);
    CHECK_OK(tt_model_shard_info(shard, &info));
    CHECK(info.index == 2 && info.count == 3 && info.offset == 40 && info.candidates == 20 && info.catalogue_size == N);
    tt_query_options_init(&qo);
    qo.k = 5;
    CHECK_OK(tt_model_query(shard, g_queries, &qo, ids, scores));
    CHECK_OK(tt_model_query(expected, g_queries, &qo, expected_ids, expected_scores));
    CHECK(same(ids, scores, expected_ids, expected_scores, ROWS * 5));
    CHECK(ids[0] >= 40 && ids[0] < 60);
  }
  tt_model_free(shard);
  tt_model_free(expected);
  /* Converting a shard again, and an index without a count, are refused. */
  CHECK_FAILS(tt_model_convert("shard-2-of-3.tt", "shard-x.tt", &co), TT_ERR_INVALID_ARGUMENT, "already shard 2 of 3");
  co.shard_count = 0;
  CHECK_FAILS(tt_model_convert("shard-whole.tt", "shard-x.tt", &co), TT_ERR_INVALID_ARGUMENT,
              "tt_convert_options.shard_index is 2 without a shard_count");
  remove("shard-whole.tt");
  remove("shard-2-of-3.tt");
}

static void test_merge_errors(void) {
  const int64_t a[4] = {5, 1, -1, -1}, b[4] = {1, 7, 3, -1}, bad_id[4] = {-2, 0, 0, 0};
  const float sa[4] = {2.0f, 1.0f, -INFINITY, -INFINITY}, sb[4] = {3.0f, 1.0f, 1.0f, -INFINITY};
  const float nan_scores[4] = {1.0f, NAN, 0.0f, 0.0f};
  const int64_t* ids[2] = {a, b};
  const float* scores[2] = {sa, sb};
  int64_t out[6] = {42, 42, 42, 42, 42, 42};
  float out_scores[6];

  /* Row 0 of a (5, 1) and row 0 of b (1, 7) share id 1: overlapping shards. */
  CHECK_FAILS(tt_topk_merge(ids, scores, 2, 2, 2, 3, out, out_scores), TT_ERR_INVALID_ARGUMENT,
              "top-k merge: row 0: id 1 is in list 0 and list 1; merge the answers of disjoint shards");
  CHECK(out[0] == 42); /* nothing written */
  /* One list per row, k_in 4, k 6: entries sorted by score then id, padded. */
  {
    const int64_t c[4] = {9, 4, 2, -1};
    const float sc[4] = {1.0f, 1.0f, 5.0f, -INFINITY};
    const int64_t* one[1] = {c};
    const float* one_scores[1] = {sc};
    CHECK_OK(tt_topk_merge(one, one_scores, 1, 1, 4, 6, out, out_scores));
    CHECK(out[0] == 2 && out[1] == 4 && out[2] == 9 && out[3] == -1 && out[5] == -1);
    CHECK(out_scores[0] == 5.0f && out_scores[2] == 1.0f && out_scores[3] == -INFINITY);
  }
  ids[1] = bad_id;
  CHECK_FAILS(tt_topk_merge(ids, scores, 2, 1, 4, 3, out, out_scores), TT_ERR_INVALID_ARGUMENT,
              "top-k merge: list 1, row 0, slot 0: id -2");
  ids[1] = b;
  scores[0] = nan_scores;
  CHECK_FAILS(tt_topk_merge(ids, scores, 2, 1, 4, 3, out, out_scores), TT_ERR_INVALID_ARGUMENT,
              "list 0, row 0, slot 1: the score of id 1 is NaN");
  scores[0] = sa;
  CHECK_FAILS(tt_topk_merge(ids, scores, 2, 1, 4, 0, out, out_scores), TT_ERR_INVALID_ARGUMENT,
              "k is 0; it must be positive");
  CHECK_FAILS(tt_topk_merge(NULL, scores, 2, 1, 4, 3, out, out_scores), TT_ERR_INVALID_ARGUMENT, "ids is NULL");
  CHECK_FAILS(tt_topk_merge(ids, scores, 2, 1, 4, 3, NULL, out_scores), TT_ERR_INVALID_ARGUMENT, "out_ids is NULL");
  /* No lists: every slot empty. */
  CHECK_OK(tt_topk_merge(NULL, NULL, 0, 1, 4, 2, out, out_scores));
  CHECK(out[0] == -1 && out[1] == -1 && out_scores[1] == -INFINITY);
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL, *doubled = NULL;
  tt_train_options to;
  int i, c;

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &g_whole));
  tt_train_options_init(&to);
  to.threads = 1;
  to.epochs = 2;
  CHECK_OK(tt_model_train(g_whole, inter, cand, &to, NULL));
  /* The catalogue twice over: rows j and j + SYN_ITEMS are the same item (exact ties). */
  CHECK_OK(tt_table_create(&doubled));
  for (c = 0; c < COPIES; ++c)
    for (i = 0; i < SYN_ITEMS; ++i) {
      char item[16], title[32];
      const char* it = item;
      const char* ti = title;
      snprintf(item, sizeof item, "i%d", i);
      snprintf(title, sizeof title, "item %d", i);
      CHECK_OK(tt_table_append_strings(doubled, "item_id", &it, 1));
      CHECK_OK(tt_table_append_strings(doubled, "title", &ti, 1));
    }
  CHECK_OK(tt_model_rebuild_index(g_whole, doubled));
  CHECK_OK(tt_table_create(&g_queries));
  for (i = 0; i < ROWS; ++i) {
    char user[16];
    const char* u = user;
    const int64_t ts = 1000000 + 1000 * (int64_t)i;
    snprintf(user, sizeof user, "u%d", i * 4 + 3);
    CHECK_OK(tt_table_append_strings(g_queries, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(g_queries, "timestamp", &ts, 1));
  }

  test_identity();
  test_shard_ids();
  test_convert();
  test_merge_errors();

  tt_table_free(g_queries);
  tt_table_free(doubled);
  tt_table_free(inter);
  tt_table_free(cand);
  tt_model_free(g_whole);
  return finish("test_capi_shard");
}
