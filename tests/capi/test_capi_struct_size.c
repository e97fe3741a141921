/* Growable structs (docs/c-api.md, "Growable structs"): a caller compiled against an older
 * header passes the struct's first version, with a smaller struct_size. The library accepts
 * any struct_size from the first version's up, reads and writes only the bytes that size
 * covers, and refuses a smaller one. Each result struct here sits at the start of a larger
 * buffer filled with a sentinel byte, so a write past the caller's struct_size shows. */
#include <stddef.h>

#include "check.h"
#include "synthetic.h"

#define SENTINEL 0xA5
/* Room for any struct of the header and a tail the library must not touch. */
#define BUFFER_BYTES 1024

typedef union {
  unsigned char bytes[BUFFER_BYTES];
  tt_metrics metrics;
  tt_shard_info shard;
  tt_train_options train;
  tt_eval_options eval;
} buffer;

/* The first versions' sizes, each measured to the first field appended later. */
static const size_t metrics_v1 = offsetof(tt_metrics, has_baseline);
static const size_t train_options_v1 = offsetof(tt_train_options, reset);

/* A result struct of `size` bytes at the start of `b`, every byte after struct_size the sentinel. */
static void sentinel_struct(buffer* b, size_t size) {
  memset(b->bytes, SENTINEL, sizeof b->bytes);
  memcpy(b->bytes, &size, sizeof size);
}

/* Every byte of `b` from `from` on is still the sentinel. */
static int untouched_from(const buffer* b, size_t from) {
  size_t i;
  for (i = from; i < sizeof b->bytes; ++i)
    if (b->bytes[i] != SENTINEL) return 0;
  return 1;
}

/* The first version's fields of two tt_metrics agree (the older caller's view). */
static int same_v1_metrics(const tt_metrics* a, const tt_metrics* b) {
  size_t i;
  if (a->count != b->count || a->examples != b->examples || a->count == 0) return 0;
  for (i = 0; i < a->count; ++i)
    if (a->k[i] != b->k[i] || a->accuracy[i] != b->accuracy[i]) return 0;
  return 1;
}

/* The model's metadata counts `epochs` epochs of training in all (a warm start adds to it). */
static int trained_epochs_are(const tt_model* m, int epochs) {
  const char* json = NULL;
  const char* at;
  if (tt_model_metadata_json(m, &json) != TT_OK) return 0;
  at = strstr(json, "\"epochs\": ");
  return at && atoi(at + 10) == epochs;
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_model* m = NULL;
  tt_metrics full;
  tt_shard_info info;
  tt_train_options to;
  buffer b;
  double accuracy = -1.0;

  CHECK(metrics_v1 < sizeof(tt_metrics) && train_options_v1 < sizeof(tt_train_options));
  CHECK(syn_tables(&inter, &cand));
  CHECK_OK(tt_model_create(syn_spec_json, &m));

  /* --- tt_metrics as an output of training: a first-version struct is filled, nothing after it. */
  tt_train_options_init(&to);
  to.epochs = 2;
  to.threads = 1;
  sentinel_struct(&b, metrics_v1);
  CHECK_OK(tt_model_train(m, inter, cand, &to, &b.metrics));
  CHECK(b.metrics.struct_size == metrics_v1);
  CHECK(b.metrics.count == 3 && b.metrics.k[0] == 1 && b.metrics.k[2] == 10 && b.metrics.examples == 200);
  CHECK(untouched_from(&b, metrics_v1));

  /* --- tt_model_evaluate_v2: the same numbers as a full struct, in the fields the caller has. */
  tt_metrics_init(&full);
  CHECK_OK(tt_model_evaluate_v2(m, inter, cand, NULL, &full));
  CHECK(full.struct_size == sizeof full && full.count == 3);
  sentinel_struct(&b, metrics_v1);
  CHECK_OK(tt_model_evaluate_v2(m, inter, cand, NULL, &b.metrics));
  CHECK(same_v1_metrics(&b.metrics, &full));
  CHECK(untouched_from(&b, metrics_v1));

  /* --- tt_metrics_at_k reads a first-version struct. */
  CHECK_OK(tt_metrics_at_k(&b.metrics, 5, &accuracy));
  CHECK(accuracy == full.accuracy[1]);
  CHECK_FAILS(tt_metrics_at_k(&b.metrics, 7, &accuracy), TT_ERR_INVALID_ARGUMENT, "the k values are 1, 5, 10");

  /* --- A struct from a newer header (larger than this library's): the library's fields are
   * written, the caller's own newer fields (the tail here) are left alone. */
  sentinel_struct(&b, sizeof(tt_metrics) + 64);
  CHECK_OK(tt_model_evaluate_v2(m, inter, cand, NULL, &b.metrics));
  CHECK(b.metrics.struct_size == sizeof(tt_metrics) + 64);
  CHECK(same_v1_metrics(&b.metrics, &full) && b.metrics.has_baseline == full.has_baseline);
  CHECK(untouched_from(&b, sizeof(tt_metrics)));
  CHECK_OK(tt_metrics_at_k(&b.metrics, 10, &accuracy));

  /* --- Smaller than the first version: refused before anything is written. */
  sentinel_struct(&b, metrics_v1 - sizeof(double));
  CHECK_FAILS(tt_model_evaluate_v2(m, inter, cand, NULL, &b.metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_metrics.struct_size is");
  CHECK(untouched_from(&b, sizeof(size_t)));
  CHECK_FAILS(tt_model_train(m, inter, cand, &to, &b.metrics), TT_ERR_INVALID_ARGUMENT, "tt_metrics.struct_size");
  CHECK(untouched_from(&b, sizeof(size_t)));
  CHECK_FAILS(tt_metrics_at_k(&b.metrics, 5, &accuracy), TT_ERR_INVALID_ARGUMENT, "tt_metrics.struct_size");

  /* --- tt_shard_info has one version: its size, or a newer caller's larger struct. */
  sentinel_struct(&b, sizeof(tt_shard_info) + 16);
  CHECK_OK(tt_model_shard_info(m, &b.shard));
  CHECK(b.shard.index == 0 && b.shard.count == 1 && b.shard.candidates == SYN_ITEMS);
  CHECK(untouched_from(&b, sizeof(tt_shard_info)));
  tt_shard_info_init(&info);
  info.struct_size = sizeof info - 1;
  CHECK_FAILS(tt_model_shard_info(m, &info), TT_ERR_INVALID_ARGUMENT, "tt_shard_info.struct_size");

  /* --- Option structs: a first-version tt_train_options (before reset) trains on, warm; a
   * newer caller's larger struct is read when its extra bytes are zero and refused otherwise
   * (an option this library does not have); a garbage size is refused. */
  memset(b.bytes, 0, sizeof b.bytes);
  memcpy(b.bytes, &to, train_options_v1);
  b.train.struct_size = train_options_v1;
  b.bytes[train_options_v1] = 1; /* reset = 1 lies beyond the caller's struct: not read */
  CHECK_OK(tt_model_train(m, inter, cand, &b.train, &full));
  CHECK(full.count == 3);
  CHECK(trained_epochs_are(m, 4)); /* 2 + 2: warm, so the reset byte was not read */
  b.bytes[train_options_v1] = 0;
  b.train.struct_size = sizeof(tt_train_options) + 32;
  CHECK_OK(tt_model_train(m, inter, cand, &b.train, NULL));
  b.bytes[sizeof(tt_train_options) + 31] = 1;
  CHECK_FAILS(tt_model_train(m, inter, cand, &b.train, NULL), TT_ERR_INVALID_ARGUMENT,
              "a newer option it does not have");
  b.train.struct_size = train_options_v1 - 1;
  CHECK_FAILS(tt_model_train(m, inter, cand, &b.train, NULL), TT_ERR_INVALID_ARGUMENT, "tt_train_options.struct_size");
  tt_eval_options_init(&b.eval);
  b.eval.struct_size = (size_t)1 << 40;
  CHECK_FAILS(tt_model_evaluate_v2(m, inter, cand, &b.eval, &full), TT_ERR_INVALID_ARGUMENT,
              "tt_eval_options.struct_size");

  tt_model_free(m);
  tt_table_free(inter);
  tt_table_free(cand);
  return finish("test_capi_struct_size");
}
