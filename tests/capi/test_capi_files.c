/* Model files through the C API: save and load (path and buffer) answer identically; damaged,
 * truncated and foreign files are refused with TT_ERR_CORRUPT (or IO / UNSUPPORTED), never a
 * crash; bad arguments are refused. */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <math.h>

#include "check.h"
#include "synthetic.h"

static tt_model* trained_model(tt_table* inter, tt_table* cand) {
  tt_model* m = NULL;
  tt_train_options to;
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  tt_train_options_init(&to);
  to.epochs = 2;
  to.threads = 1;
  CHECK_OK(tt_model_train(m, inter, cand, &to, NULL));
  return m;
}

static void query_all(const tt_model* m, const tt_table* q, int64_t* ids, float* scores) {
  tt_query_options qo;
  tt_query_options_init(&qo);
  qo.k = 5;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL, *q = NULL;
  tt_model *m = NULL, *loaded = NULL, *from_buf = NULL, *untrained = NULL;
  int64_t ids_a[SYN_USERS * 5], ids_b[SYN_USERS * 5];
  float sc_a[SYN_USERS * 5], sc_b[SYN_USERS * 5];
  void* buf = NULL;
  size_t size = 0, i;
  tt_save_options so;
  const char* path = "tt_capi_test_model.tt";
  char user[16];

  CHECK(tt_model_format_version() >= 1);
  CHECK(tt_model_format_min_version() >= 1 && tt_model_format_min_version() <= tt_model_format_version());
  CHECK(syn_tables(&inter, &cand));
  m = trained_model(inter, cand);
  CHECK_OK(tt_table_create(&q));
  for (i = 0; i < SYN_USERS; ++i) {
    const char* u = user;
    int64_t ts = 1000000 + 50 * (int64_t)i;
    snprintf(user, sizeof user, "u%d", (int)i);
    CHECK_OK(tt_table_append_strings(q, "user_id", &u, 1));
    CHECK_OK(tt_table_append_int64(q, "timestamp", &ts, 1));
  }
  query_all(m, q, ids_a, sc_a);

  /* File round trip: bit-identical answers. */
  tt_save_options_init(&so);
  CHECK(so.compression_level == 3 && so.include_optimizer == 0);
  so.include_optimizer = 1;
  CHECK_OK(tt_model_save(m, path, &so));
  CHECK_OK(tt_model_load(path, &loaded));
  query_all(loaded, q, ids_b, sc_b);
  CHECK(memcmp(ids_a, ids_b, sizeof ids_a) == 0);
  CHECK(memcmp(sc_a, sc_b, sizeof sc_a) == 0);
  {
    const char* json = NULL;
    CHECK_OK(tt_model_metadata_json(loaded, &json));
    CHECK(strstr(json, "\"format_version\"") != NULL);
    CHECK(strstr(json, "\"has_optimizer_state\": true") != NULL);
  }
  CHECK_OK(tt_model_save(m, path, NULL)); /* NULL options: defaults; overwrites atomically */

  /* Buffer round trip. */
  CHECK_OK(tt_model_save_to_buffer(m, NULL, &buf, &size));
  CHECK(buf != NULL && size > 64);
  CHECK_OK(tt_model_load_from_buffer(buf, size, &from_buf));
  query_all(from_buf, q, ids_b, sc_b);
  CHECK(memcmp(ids_a, ids_b, sizeof ids_a) == 0);
  CHECK(memcmp(sc_a, sc_b, sizeof sc_a) == 0);

  /* Damage: every 97th byte flipped in turn, and truncation at many lengths. Never a crash;
   * always a refusal, and never a model that answers. */
  {
    unsigned char* bytes = (unsigned char*)buf;
    size_t pos;
    int refused = 0, tried = 0;
    for (pos = 0; pos < size; pos += 97) {
      tt_model* bad = NULL;
      tt_status st;
      bytes[pos] ^= 0x5a;
      st = tt_model_load_from_buffer(bytes, size, &bad);
      bytes[pos] ^= 0x5a;
      ++tried;
      if (st == TT_ERR_CORRUPT || st == TT_ERR_UNSUPPORTED)
        ++refused;
      else
        fprintf(stderr, "byte %zu of %zu flipped: %s\n", pos, size, tt_status_name(st));
      CHECK(bad == NULL);
      tt_model_free(bad);
    }
    CHECK(refused == tried);
    for (pos = 0; pos < size; pos += size / 50 + 1) {
      tt_model* bad = NULL;
      CHECK_FAILS(tt_model_load_from_buffer(bytes, pos, &bad), TT_ERR_CORRUPT, "");
      CHECK(bad == NULL);
    }
    CHECK_FAILS(tt_model_load_from_buffer("definitely not a model", 22, &loaded), TT_ERR_CORRUPT, "");
  }

  /* A damaged file on disk names the file. */
  {
    FILE* f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
      fseek(f, 200, SEEK_SET);
      fputc(0x42 ^ fgetc(f), f);
      fclose(f);
    }
    {
      tt_model* bad = NULL;
      CHECK_FAILS(tt_model_load(path, &bad), TT_ERR_CORRUPT, path);
    }
  }
  remove(path);

  /* Bad arguments. */
  CHECK_FAILS(tt_model_load("/nonexistent/model.tt", &loaded), TT_ERR_IO, "/nonexistent/model.tt");
  CHECK_FAILS(tt_model_load(NULL, &loaded), TT_ERR_INVALID_ARGUMENT, "path is NULL");
  CHECK_FAILS(tt_model_load(path, NULL), TT_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_FAILS(tt_model_load_from_buffer(NULL, 10, &loaded), TT_ERR_INVALID_ARGUMENT, "data is NULL");
  CHECK_FAILS(tt_model_save(m, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "path is NULL");
  CHECK_FAILS(tt_model_save(NULL, path, NULL), TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(tt_model_save(m, "/nonexistent-dir/model.tt", NULL), TT_ERR_IO, "/nonexistent-dir");
  tt_save_options_init(&so);
  so.compression_level = 42;
  CHECK_FAILS(tt_model_save(m, path, &so), TT_ERR_INVALID_ARGUMENT, "compression_level");
  so.compression_level = -1;
  CHECK_FAILS(tt_model_save(m, path, &so), TT_ERR_INVALID_ARGUMENT,
              "tt_save_options.compression_level is -1; it must be in 0..19");
  {
    /* Level 0 stores every section uncompressed: a bigger buffer that loads all the same. */
    void* raw = NULL;
    size_t raw_size = 0;
    tt_model* from_raw = NULL;
    so.compression_level = 0;
    CHECK_OK(tt_model_save_to_buffer(m, &so, &raw, &raw_size));
    CHECK(raw_size > size);
    CHECK_OK(tt_model_load_from_buffer(raw, raw_size, &from_raw));
    tt_model_free(from_raw);
    tt_buffer_free(raw);
  }
  tt_save_options_init(&so);
  so.struct_size = 2;
  CHECK_FAILS(tt_model_save(m, path, &so), TT_ERR_INVALID_ARGUMENT, "struct_size");
  CHECK_FAILS(tt_model_save_to_buffer(m, NULL, NULL, &size), TT_ERR_INVALID_ARGUMENT, "data is NULL");
  CHECK_OK(tt_model_create(syn_spec_json, &untrained));
  CHECK_FAILS(tt_model_save(untrained, path, NULL), TT_ERR_INVALID_ARGUMENT, "needs a trained or loaded model");
  tt_buffer_free(NULL);

  tt_buffer_free(buf);
  tt_model_free(untrained);
  tt_model_free(from_buf);
  tt_model_free(loaded);
  tt_model_free(m);
  tt_table_free(q);
  tt_table_free(inter);
  tt_table_free(cand);
  return finish("test_capi_files");
}
