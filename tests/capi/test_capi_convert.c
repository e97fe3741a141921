/* The conversion functions of the C API, in C99: upgrade, quantize, strip, export, import and
 * their errors (bad input gives a clear status and no output file). */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "synthetic.h"

#define K 5
#define NQ 3

static int file_exists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

static long file_size(const char* path) {
  long n = -1;
  FILE* f = fopen(path, "rb");
  if (!f) return -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  fclose(f);
  return n;
}

static void write_bytes(const char* path, const void* data, size_t n) {
  FILE* f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, n, f);
  fclose(f);
}

static tt_table* query_table(void) {
  tt_table* q = NULL;
  const char* users[NQ] = {"u1", "u7", "nobody"};
  const int64_t ts[NQ] = {1000100, 1020000, 1040000};
  if (tt_table_create(&q) != TT_OK) return NULL;
  tt_table_append_strings(q, "user_id", users, NQ);
  tt_table_append_int64(q, "timestamp", ts, NQ);
  return q;
}

typedef struct answers {
  int64_t ids[NQ * K];
  float scores[NQ * K];
} answers;

static int query(const tt_model* m, const tt_table* q, answers* out) {
  tt_query_options o;
  tt_query_options_init(&o);
  o.k = K;
  return tt_model_query(m, q, &o, out->ids, out->scores) == TT_OK;
}

static int same_answers(const answers* a, const answers* b) {
  return memcmp(a->ids, b->ids, sizeof a->ids) == 0 && memcmp(a->scores, b->scores, sizeof a->scores) == 0;
}

static tt_model* load(const char* path) {
  tt_model* m = NULL;
  CHECK_OK(tt_model_load(path, &m));
  return m;
}

int main(void) {
  tt_table *inter = NULL, *cands = NULL, *q = NULL;
  tt_model *base = NULL, *m = NULL, *imported = NULL;
  tt_train_options to;
  tt_convert_options co;
  tt_export_options eo;
  tt_import_options io;
  answers a0, a1;
  int32_t ip = -5, wp = -5;
  double overlap = -1.0;
  void* buf = NULL;
  size_t size = 0;

  CHECK(syn_tables(&inter, &cands));
  q = query_table();
  CHECK(q != NULL);
  CHECK_OK(tt_model_create(syn_spec_json, &base));
  tt_train_options_init(&to);
  to.epochs = 2;
  to.threads = 1;
  CHECK_OK(tt_model_train(base, inter, cands, &to, NULL));
  CHECK_OK(tt_model_save(base, "conv_base.tt", NULL));
  CHECK(query(base, q, &a0));

  /* Upgrade (default options): the same answers, bit for bit. */
  remove("conv_up.tt");
  CHECK_OK(tt_model_convert("conv_base.tt", "conv_up.tt", NULL));
  m = load("conv_up.tt");
  CHECK(m && query(m, q, &a1) && same_answers(&a0, &a1));
  CHECK_OK(tt_model_precision(m, &ip, &wp));
  CHECK(ip == TT_PRECISION_FLOAT32 && wp == TT_PRECISION_FLOAT32);
  tt_model_free(m);

  /* The format-version-1 file of tests/data upgrades and answers. */
  remove("conv_v1.tt");
  CHECK_OK(tt_model_convert(TT_SOURCE_DIR "/tests/data/model-v1.tt", "conv_v1.tt", NULL));
  m = load("conv_v1.tt");
  CHECK(m && query(m, q, &a1) && a1.ids[0] >= 0 && isfinite(a1.scores[0]));
  tt_model_free(m);

  /* Quantize to int8 and strip: smaller, the precision recorded, answers close. */
  tt_convert_options_init(&co);
  co.index_precision = TT_PRECISION_INT8;
  co.weights_precision = TT_PRECISION_INT8;
  co.strip = 1;
  CHECK_OK(tt_model_convert("conv_base.tt", "conv_int8.tt", &co));
  CHECK(file_size("conv_int8.tt") > 0 && file_size("conv_int8.tt") < file_size("conv_base.tt"));
  m = load("conv_int8.tt");
  CHECK_OK(tt_model_precision(m, &ip, &wp));
  CHECK(ip == TT_PRECISION_INT8 && wp == TT_PRECISION_INT8);
  {
    const char* js = NULL;
    CHECK_OK(tt_model_metadata_json(m, &js));
    CHECK(js && strstr(js, "\"index_precision\": \"int8\"") && strstr(js, "\"weights_precision\": \"int8\""));
    CHECK(js && strstr(js, "\"data_source\": \"\"")); /* stripped */
  }
  CHECK_OK(tt_model_topk_overlap(base, m, q, K, &overlap));
  CHECK(overlap > 0.5 && overlap <= 1.0);
  tt_model_free(m);

  /* Search precision: an int8 index scans int8 by default; every scan answers the float32 top-k. */
  m = load("conv_int8.tt");
  CHECK_OK(tt_model_search_precision(m, &ip));
  CHECK(ip == TT_PRECISION_INT8);
  CHECK(query(m, q, &a1));
  {
    const int32_t choices[3] = {TT_PRECISION_FLOAT32, TT_PRECISION_BF16, TT_PRECISION_INT8};
    int c;
    for (c = 0; c < 3; ++c) {
      answers a2;
      CHECK_OK(tt_model_set_search_precision(m, choices[c]));
      CHECK_OK(tt_model_search_precision(m, &ip));
      CHECK(ip == choices[c]);
      CHECK(query(m, q, &a2) && memcmp(a1.ids, a2.ids, sizeof a1.ids) == 0);
    }
  }
  CHECK_OK(tt_model_set_search_precision(m, TT_SEARCH_PRECISION_AUTO));
  CHECK_OK(tt_model_search_precision(m, &ip));
  CHECK(ip == TT_PRECISION_INT8);
  CHECK_FAILS(tt_model_set_search_precision(m, TT_PRECISION_FP16), TT_ERR_INVALID_ARGUMENT, "fp16");
  CHECK_FAILS(tt_model_set_search_precision(m, 9), TT_ERR_INVALID_ARGUMENT, "precision");
  CHECK_FAILS(tt_model_set_search_precision(NULL, 0), TT_ERR_INVALID_ARGUMENT, "model");
  CHECK_FAILS(tt_model_search_precision(m, NULL), TT_ERR_INVALID_ARGUMENT, "precision");
  tt_model_free(m);
  CHECK_OK(tt_model_search_precision(base, &ip));
  CHECK(ip == TT_PRECISION_FLOAT32);

  /* In memory: quantize, save to a buffer, load. */
  CHECK_OK(tt_model_load("conv_base.tt", &m));
  CHECK_OK(tt_model_quantize(m, TT_PRECISION_BF16, TT_PRECISION_KEEP));
  CHECK_OK(tt_model_strip(m));
  CHECK_OK(tt_model_save_to_buffer(m, NULL, &buf, &size));
  tt_model_free(m);
  m = NULL;
  CHECK_OK(tt_model_load_from_buffer(buf, size, &m));
  tt_buffer_free(buf);
  CHECK_OK(tt_model_precision(m, &ip, &wp));
  CHECK(ip == TT_PRECISION_BF16 && wp == TT_PRECISION_FLOAT32);
  CHECK_OK(tt_model_topk_overlap(m, m, q, K, &overlap));
  CHECK(overlap == 1.0);
  CHECK_FAILS(tt_model_quantize(m, 7, TT_PRECISION_KEEP), TT_ERR_INVALID_ARGUMENT,
              "index_precision is 7; expected a tt_precision");
  tt_model_free(m);

  /* Conversion errors leave no output file. */
  remove("conv_none.tt");
  CHECK_FAILS(tt_model_convert("conv_missing.tt", "conv_none.tt", NULL), TT_ERR_IO, "conv_missing.tt");
  CHECK(!file_exists("conv_none.tt"));
  {
    char head[100];
    FILE* f = fopen("conv_base.tt", "rb");
    size_t n = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    write_bytes("conv_truncated.tt", head, n);
  }
  CHECK_FAILS(tt_model_convert("conv_truncated.tt", "conv_none.tt", NULL), TT_ERR_CORRUPT, "conv_truncated.tt");
  CHECK(!file_exists("conv_none.tt"));
  CHECK_FAILS(tt_model_convert("conv_base.tt", "conv_base.tt", NULL), TT_ERR_INVALID_ARGUMENT, "is the input file");
  tt_convert_options_init(&co);
  co.weights_precision = 9;
  CHECK_FAILS(tt_model_convert("conv_base.tt", "conv_none.tt", &co), TT_ERR_INVALID_ARGUMENT,
              "tt_convert_options.weights_precision is 9");
  CHECK(!file_exists("conv_none.tt"));
  co.struct_size = 3;
  CHECK_FAILS(tt_model_convert("conv_base.tt", "conv_none.tt", &co), TT_ERR_INVALID_ARGUMENT, "struct_size");
  CHECK_FAILS(tt_model_convert(NULL, "conv_none.tt", NULL), TT_ERR_INVALID_ARGUMENT, "input_path is NULL");

  /* Export, then import: the same answers, bit for bit. */
  tt_export_options_init(&eo);
  eo.queries = q;
  CHECK_OK(tt_model_export(base, "conv_export", &eo));
  CHECK(file_exists("conv_export/weights.safetensors"));
  CHECK(file_exists("conv_export/query_embeddings.npy"));
  CHECK(file_exists("conv_export/query_embeddings.fvecs"));
  CHECK(file_exists("conv_export/candidate_keys.txt"));
  CHECK(file_exists("conv_export/vocab/query.user.txt"));
  CHECK(file_size("conv_export/candidate_embeddings.fvecs") == SYN_ITEMS * (4 + 4 * 16));
  CHECK_OK(tt_model_import("conv_export", NULL, &imported));
  CHECK(imported && query(imported, q, &a1) && same_answers(&a0, &a1));
  tt_model_free(imported);
  imported = NULL;
  tt_import_options_init(&io);
  io.candidates = cands;
  io.threads = 1;
  CHECK_OK(tt_model_import("conv_export", &io, &imported));
  CHECK(imported && query(imported, q, &a1) && same_answers(&a0, &a1));
  tt_model_free(imported);
  imported = NULL;

  /* Bad weights files: a clear error naming the file, no model. */
  {
    const unsigned char truncated[5] = {1, 2, 3, 4, 5};
    const unsigned char too_big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    write_bytes("conv_export/bad.safetensors", truncated, sizeof truncated);
    tt_import_options_init(&io);
    io.weights_path = "conv_export/bad.safetensors";
    CHECK_FAILS(tt_model_import("conv_export", &io, &imported), TT_ERR_CORRUPT,
                "bad.safetensors: truncated safetensors file: 5 bytes");
    write_bytes("conv_export/bad.safetensors", too_big, sizeof too_big);
    CHECK_FAILS(tt_model_import("conv_export", &io, &imported), TT_ERR_CORRUPT,
                "safetensors header size 65535 is larger than the file (16 bytes)");
    io.weights_path = "conv_export/absent.npz";
    CHECK_FAILS(tt_model_import("conv_export", &io, &imported), TT_ERR_IO, "absent.npz");
    CHECK(imported == NULL);
    CHECK_FAILS(tt_model_import(NULL, NULL, &imported), TT_ERR_INVALID_ARGUMENT, "directory is NULL");
  }
  CHECK_FAILS(tt_model_export(base, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "directory is NULL");

  tt_model_free(base);
  tt_table_free(inter);
  tt_table_free(cands);
  tt_table_free(q);
  return finish("test_capi_convert");
}
