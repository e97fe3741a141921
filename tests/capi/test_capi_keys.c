/* Exclusion and allow lists by candidate key (tt_query_options.exclude_keys, allow_keys,
 * ignore_unknown_keys): the same answers as by id, every candidate under a repeated key, the
 * union with id lists, keys that survive an index rebuild that moves ids, and clear errors. */
#include <stddef.h>

#include "check.h"
#include "synthetic.h"

#define K SYN_ITEMS

static tt_model* g_model;
static tt_table* g_user; /* one query row: u0 */

/* The ids of a k = K query of u0; returns how many are valid (not -1). */
static int query(const tt_query_options* qo, int64_t* ids) {
  float scores[K];
  int i, valid = 0;
  if (tt_model_query(g_model, g_user, qo, ids, scores) != TT_OK) {
    fprintf(stderr, "query failed: %s\n", tt_last_error());
    return -1;
  }
  for (i = 0; i < K; ++i) valid += ids[i] >= 0;
  return valid;
}

static int contains(const int64_t* ids, int64_t id) {
  int i;
  for (i = 0; i < K; ++i)
    if (ids[i] == id) return 1;
  return 0;
}

static int64_t id_of(const char* key) {
  int64_t id = -2;
  if (tt_model_candidate_id(g_model, key, &id) != TT_OK) return -2;
  return id;
}

static void test_keys_like_ids(void) {
  tt_query_options qo;
  int64_t by_ids[K], by_keys[K], ids[K];
  const int64_t excluded_ids[2] = {id_of("i1"), id_of("i2")};
  const int64_t* exclude[1] = {excluded_ids};
  const size_t two[1] = {2};
  const char* keys[2] = {"i1", "i2"};
  const char* const* exclude_keys[1] = {keys};

  tt_query_options_init(&qo);
  qo.k = K;
  CHECK(qo.exclude_keys == NULL && qo.exclude_key_counts == NULL && qo.allow_keys == NULL && qo.allow_key_count == 0 &&
        qo.ignore_unknown_keys == 0);
  CHECK(query(&qo, ids) == K);
  qo.exclude = exclude;
  qo.exclude_counts = two;
  CHECK(query(&qo, by_ids) == K - 2);
  qo.exclude = NULL;
  qo.exclude_counts = NULL;
  qo.exclude_keys = exclude_keys;
  qo.exclude_key_counts = two;
  CHECK(query(&qo, by_keys) == K - 2);
  CHECK(memcmp(by_ids, by_keys, sizeof by_ids) == 0);
  CHECK(!contains(by_keys, excluded_ids[0]) && !contains(by_keys, excluded_ids[1]));

  /* Ids and keys together: both lists exclude. */
  {
    const int64_t also[1] = {id_of("i9")};
    const int64_t* ex[1] = {also};
    const size_t one[1] = {1};
    qo.exclude = ex;
    qo.exclude_counts = one;
    CHECK(query(&qo, ids) == K - 3);
    CHECK(!contains(ids, also[0]) && !contains(ids, excluded_ids[0]) && !contains(ids, excluded_ids[1]));
  }

  /* Allow by key, alone and with an id list (the union). */
  {
    const char* allowed[2] = {"i4", "i7"};
    const int64_t allowed_ids[1] = {id_of("i11")};
    tt_query_options_init(&qo);
    qo.k = K;
    qo.allow_keys = allowed;
    qo.allow_key_count = 2;
    CHECK(query(&qo, ids) == 2);
    CHECK(contains(ids, id_of("i4")) && contains(ids, id_of("i7")));
    qo.allow = allowed_ids;
    qo.allow_count = 1;
    CHECK(query(&qo, ids) == 3);
    CHECK(contains(ids, id_of("i11")));
    /* Excluding one of the allowed keys leaves the others. */
    {
      const char* no4[1] = {"i4"};
      const char* const* ex[1] = {no4};
      const size_t one[1] = {1};
      qo.exclude_keys = ex;
      qo.exclude_key_counts = one;
      CHECK(query(&qo, ids) == 2);
      CHECK(!contains(ids, id_of("i4")));
    }
  }
}

static void test_unknown_and_bad_keys(void) {
  tt_query_options qo;
  int64_t ids[K];
  float scores[K];
  const char* unknown[2] = {"i3", "no such item"};
  const char* const* exclude_keys[1] = {unknown};
  const size_t two[1] = {2};
  const char* with_null[2] = {"i3", NULL};
  const char* const* exclude_null[1] = {with_null};
  const char* const* exclude_list_null[1] = {NULL};

  tt_query_options_init(&qo);
  qo.k = K;
  qo.exclude_keys = exclude_keys;
  qo.exclude_key_counts = two;
  ids[0] = 12345;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.exclude_keys[0][1] is 'no such item', a key the index does not hold");
  CHECK(ids[0] == 12345); /* nothing written */
  qo.ignore_unknown_keys = 1;
  CHECK(query(&qo, ids) == K - 1);
  CHECK(!contains(ids, id_of("i3")));
  qo.ignore_unknown_keys = 2;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.ignore_unknown_keys");
  qo.ignore_unknown_keys = 0;

  qo.exclude_key_counts = NULL;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "exclude_keys and exclude_key_counts go together");
  qo.exclude_key_counts = two;
  qo.exclude_keys = exclude_null;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.exclude_keys[0][1] is NULL");
  qo.exclude_keys = exclude_list_null;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.exclude_keys[0] is NULL but its count is 2");

  /* An allow-list of unknown keys: an error, or (ignoring them) nothing allowed. */
  tt_query_options_init(&qo);
  qo.k = K;
  qo.allow_keys = unknown + 1;
  qo.allow_key_count = 1;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.allow_keys[0] is 'no such item'");
  qo.ignore_unknown_keys = 1;
  CHECK(query(&qo, ids) == 0);
  qo.allow_keys = NULL;
  CHECK_FAILS(tt_model_query(g_model, g_user, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.allow_keys is NULL but its count is 1");

  /* A caller compiled before the key fields existed: whatever follows its struct is not read. */
  tt_query_options_init(&qo);
  qo.k = K;
  qo.exclude_keys = exclude_null;
  qo.exclude_key_counts = two;
  qo.struct_size = offsetof(tt_query_options, exclude_keys);
  CHECK(query(&qo, ids) == K);
}

/* A rebuilt index with the catalogue reversed and i3 listed twice: ids move, keys hold. */
static void test_keys_across_rebuild(void) {
  tt_table* catalogue = NULL;
  tt_query_options qo;
  int64_t ids[K], before = id_of("i5");
  char item[16], title[32];
  const char* it = item;
  const char* ti = title;
  const char* keys[2] = {"i5", "i3"};
  const char* const* exclude_keys[1] = {keys};
  const size_t two[1] = {2};
  int i;

  CHECK_OK(tt_table_create(&catalogue));
  for (i = SYN_ITEMS - 1; i >= 0; --i) {
    snprintf(item, sizeof item, "i%d", i);
    snprintf(title, sizeof title, "item %d", i);
    CHECK_OK(tt_table_append_strings(catalogue, "item_id", &it, 1));
    CHECK_OK(tt_table_append_strings(catalogue, "title", &ti, 1));
  }
  snprintf(title, sizeof title, "item 3, second listing");
  strcpy(item, "i3");
  CHECK_OK(tt_table_append_strings(catalogue, "item_id", &it, 1));
  CHECK_OK(tt_table_append_strings(catalogue, "title", &ti, 1));
  CHECK_OK(tt_model_rebuild_index(g_model, catalogue));
  CHECK(id_of("i5") != before);

  tt_query_options_init(&qo);
  qo.k = K;
  CHECK(query(&qo, ids) == K); /* 31 candidates, k = 30 */
  qo.exclude_keys = exclude_keys;
  qo.exclude_key_counts = two;
  CHECK(query(&qo, ids) == K - 2); /* 31 less i5 and both i3 */
  CHECK(!contains(ids, id_of("i5")) && !contains(ids, id_of("i3")) && !contains(ids, SYN_ITEMS));
  tt_query_options_init(&qo);
  qo.k = K;
  qo.allow_keys = keys + 1;
  qo.allow_key_count = 1;
  CHECK(query(&qo, ids) == 2); /* both listings of i3 */
  CHECK(contains(ids, id_of("i3")) && contains(ids, SYN_ITEMS));
  tt_table_free(catalogue);
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_train_options to;
  const char* u0 = "u0";
  const int64_t ts = 1000000;

  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &g_model));
  tt_train_options_init(&to);
  to.threads = 1;
  to.epochs = 2;
  CHECK_OK(tt_model_train(g_model, inter, cand, &to, NULL));
  CHECK_OK(tt_table_create(&g_user));
  CHECK_OK(tt_table_append_strings(g_user, "user_id", &u0, 1));
  CHECK_OK(tt_table_append_int64(g_user, "timestamp", &ts, 1));

  test_keys_like_ids();
  test_unknown_and_bad_keys();
  test_keys_across_rebuild();

  tt_table_free(g_user);
  tt_table_free(inter);
  tt_table_free(cand);
  tt_model_free(g_model);
  return finish("test_capi_keys");
}
