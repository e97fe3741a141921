/* A small learnable retrieval problem for the C API tests: 40 users in 5 groups; each group
 * watches only its own 6 of the 30 items. */
#ifndef TT_TEST_SYNTHETIC_H
#define TT_TEST_SYNTHETIC_H

#include <stdio.h>

#include "twotower/twotower.h"

#define SYN_USERS 40
#define SYN_ITEMS 30
#define SYN_ROWS 1200

static const char* syn_spec_json =
    "{\"name\": \"synthetic\","
    " \"query_tower\": {\"features\": ["
    "   {\"name\": \"user\", \"column\": \"user_id\", \"kind\": \"string_lookup\", \"embedding_dim\": 8},"
    "   {\"name\": \"ts\", \"column\": \"timestamp\", \"kind\": \"normalization\"}],"
    "  \"layers\": [16]},"
    " \"candidate_tower\": {\"id_column\": \"item_id\", \"features\": ["
    "   {\"name\": \"item\", \"column\": \"item_id\", \"kind\": \"string_lookup\", \"embedding_dim\": 8},"
    "   {\"name\": \"title\", \"column\": \"title\", \"kind\": \"text\", \"max_tokens\": 100, \"embedding_dim\": 8}],"
    "  \"layers\": [16]},"
    " \"training\": {\"batch_size\": 64, \"epochs\": 4, \"eval_every\": 2, \"seed\": 7},"
    " \"data\": {\"train_rows\": 1000, \"test_rows\": 200, \"split_seed\": 1},"
    " \"evaluation\": {\"k\": [1, 5, 10]}}";

static void syn_names(int i, char* user, char* item, char* title, size_t cap, int row) {
  int u = i % SYN_USERS, group = u % 5;
  int it = group * 6 + (row * 7 + u) % 6;
  snprintf(user, cap, "u%d", u);
  snprintf(item, cap, "i%d", it);
  snprintf(title, cap, "item %d group %d", it, group);
}

/* interactions {user_id, timestamp, item_id, title}, candidates {item_id, title}. */
static int syn_tables(tt_table** interactions, tt_table** candidates) {
  char user[32], item[32], title[64];
  int i;
  if (tt_table_create(interactions) != TT_OK || tt_table_create(candidates) != TT_OK) return 0;
  for (i = 0; i < SYN_ROWS; ++i) {
    const char* u = user;
    const char* it = item;
    const char* ti = title;
    int64_t ts = 1000000 + 37 * (int64_t)i;
    syn_names(i, user, item, title, sizeof user, i / SYN_USERS);
    snprintf(title, sizeof title, "item %s", item + 1);
    if (tt_table_append_strings(*interactions, "user_id", &u, 1) != TT_OK) return 0;
    if (tt_table_append_int64(*interactions, "timestamp", &ts, 1) != TT_OK) return 0;
    if (tt_table_append_strings(*interactions, "item_id", &it, 1) != TT_OK) return 0;
    if (tt_table_append_strings(*interactions, "title", &ti, 1) != TT_OK) return 0;
  }
  for (i = 0; i < SYN_ITEMS; ++i) {
    const char* it = item;
    const char* ti = title;
    snprintf(item, sizeof item, "i%d", i);
    snprintf(title, sizeof title, "item %d", i);
    if (tt_table_append_strings(*candidates, "item_id", &it, 1) != TT_OK) return 0;
    if (tt_table_append_strings(*candidates, "title", &ti, 1) != TT_OK) return 0;
  }
  return 1;
}

#endif
