/* Hostile input through the C API (issue 13): every case must be refused with a status and a
 * message naming the field, file or argument at fault, never crash, hang or write out of
 * bounds, and a NULL options pointer always means the defaults. */
#define _POSIX_C_SOURCE 200809L /* mkfifo, alarm */
/* Also calls the deprecated entry points, which must keep working until the next ABI version. */
#define TT_NO_DEPRECATION_WARNINGS
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "synthetic.h"

static int file_exists(const char* path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static tt_model* trained(tt_table* inter, tt_table* cand) {
  tt_model* m = NULL;
  tt_train_options to;
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  tt_train_options_init(&to);
  to.epochs = 1;
  to.threads = 1;
  CHECK_OK(tt_model_train(m, inter, cand, &to, NULL));
  return m;
}

static tt_table* one_query(void) {
  tt_table* q = NULL;
  const char* user = "u3";
  const int64_t ts = 1000500;
  CHECK_OK(tt_table_create(&q));
  CHECK_OK(tt_table_append_strings(q, "user_id", &user, 1));
  CHECK_OK(tt_table_append_int64(q, "timestamp", &ts, 1));
  return q;
}

/* Crashes: a huge k neither overflows nor writes past the caller's arrays; the capacity field
 * bounds what the library may write. */
static void test_query_bounds(const tt_model* m) {
  tt_table* q = one_query();
  tt_query_options qo;
  int64_t ids[12];
  float scores[12];
  size_t i;

  tt_query_options_init(&qo);
  CHECK(qo.capacity == 0);
  qo.k = (size_t)1 << 62;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT,
              "tt_query_options.k is 4611686018427387904");
  qo.k = SIZE_MAX;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "tt_query_options.k");
  qo.k = ((size_t)1 << 31) - 1; /* the largest k: refused by a small capacity before any write */
  qo.capacity = 10;
  for (i = 0; i < 12; ++i) ids[i] = 77;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "tt_query_options.capacity is 10");
  CHECK(ids[0] == 77 && ids[11] == 77);
  qo.k = 11;
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "need 11");
  qo.k = 10;
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  CHECK(ids[0] >= 0 && ids[11] == 77);
  /* A caller compiled before the capacity field: its struct_size ends at allow_count. */
  qo.struct_size = offsetof(tt_query_options, capacity);
  qo.capacity = 1; /* not part of that caller's struct: ignored */
  CHECK_OK(tt_model_query(m, q, &qo, ids, scores));
  qo.struct_size = offsetof(tt_query_options, allow_count);
  CHECK_FAILS(tt_model_query(m, q, &qo, ids, scores), TT_ERR_INVALID_ARGUMENT, "struct_size");
  tt_table_free(q);
}

/* NULL options mean the defaults for every function that takes options. */
static void test_null_options(tt_table* inter, tt_table* cand) {
  tt_model *m = NULL, *imported = NULL;
  tt_table* q = one_query();
  int64_t ids[10];
  float scores[10];
  void* buf = NULL;
  size_t size = 0;

  CHECK_OK(tt_model_create(syn_spec_json, &m));
  CHECK_OK(tt_model_train(m, inter, cand, NULL, NULL)); /* the spec's 4 epochs */
  CHECK_OK(tt_model_query(m, q, NULL, ids, scores));    /* k = 10 */
  CHECK(ids[9] >= 0);
  CHECK_OK(tt_model_save(m, "bad_input_null.tt", NULL));
  CHECK_OK(tt_model_save_to_buffer(m, NULL, &buf, &size));
  tt_buffer_free(buf);
  CHECK_OK(tt_model_convert("bad_input_null.tt", "bad_input_null2.tt", NULL));
  CHECK_OK(tt_model_export(m, "bad_input_null_export", NULL));
  CHECK_OK(tt_model_import("bad_input_null_export", NULL, &imported));
  CHECK_OK(tt_model_query(imported, q, NULL, ids, scores));
  CHECK_OK(tt_model_build_ann(imported, NULL));
  CHECK_OK(tt_model_query(imported, q, NULL, ids, scores));
  tt_model_free(imported);
  tt_model_free(m);
  tt_table_free(q);
  remove("bad_input_null2.tt");
}

/* `text` with the first `from` replaced by `to` (malloc'd; the caller frees it). */
static char* replaced(const char* text, const char* from, const char* to) {
  const char* at = strstr(text, from);
  size_t head, n;
  char* out;
  if (!at) return NULL;
  head = (size_t)(at - text);
  n = strlen(text) - strlen(from) + strlen(to) + 1;
  out = (char*)malloc(n);
  memcpy(out, text, head);
  strcpy(out + head, to);
  strcat(out, at + strlen(from));
  return out;
}

static long long memory_kib(void) {
  long long kib = -1;
  FILE* f = fopen("/proc/meminfo", "r");
  if (f) {
    if (fscanf(f, "MemTotal: %lld kB", &kib) != 1) kib = -1;
    fclose(f);
  }
  return kib;
}

static void write_text(const char* path, const char* text) {
  FILE* f = fopen(path, "wb");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

/* Silent wrong results and unhelpful errors: inputs that trained, parsed or failed deep inside
 * the engine are refused up front with a message about the input. */
static void test_refused_inputs(tt_table* inter, tt_table* cand) {
  tt_model* m = NULL;
  tt_table *empty = NULL, *half = NULL, *read = NULL;
  const char* json = NULL;
  char item[16], title[32];
  const char* it = item;
  const char* ti = title;
  const char* ab[2] = {"a", "b"};
  const tt_dtype types[2] = {TT_DTYPE_STRING, TT_DTYPE_STRING};
  char* spec;
  int i;

  /* A catalogue without rows failed after an epoch inside sgemm, as TT_ERR_INTERNAL. */
  CHECK_OK(tt_table_create(&empty));
  CHECK_OK(tt_model_create(syn_spec_json, &m));
  CHECK_FAILS(tt_model_train(m, inter, empty, NULL, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_model_train: the candidate catalogue has no rows");
  CHECK_FAILS(tt_model_train(m, empty, cand, NULL, NULL), TT_ERR_INVALID_ARGUMENT, "the interactions have no rows");

  /* Half of the items missing from the catalogue: half the positives can never be retrieved. */
  CHECK_OK(tt_table_create(&half));
  for (i = 0; i < SYN_ITEMS / 2; ++i) {
    snprintf(item, sizeof item, "i%d", i);
    snprintf(title, sizeof title, "item %d", i);
    CHECK_OK(tt_table_append_strings(half, "item_id", &it, 1));
    CHECK_OK(tt_table_append_strings(half, "title", &ti, 1));
  }
  CHECK_FAILS(tt_model_train(m, inter, half, NULL, NULL), TT_ERR_INVALID_ARGUMENT,
              "have a 'item_id' absent from the candidate catalogue");
  CHECK(strstr(tt_last_error(), "more than data.max_unknown_candidates (0.01)") != NULL);
  tt_model_free(m);
  m = NULL;
  /* Allowed by the spec: trains, and the warning is in the metadata. */
  spec = replaced(syn_spec_json, "\"split_seed\": 1}", "\"split_seed\": 1, \"max_unknown_candidates\": 0.9}");
  CHECK(spec != NULL);
  CHECK_OK(tt_model_create(spec, &m));
  free(spec);
  {
    tt_train_options to;
    tt_train_options_init(&to);
    to.epochs = 1;
    CHECK_OK(tt_model_train(m, inter, half, &to, NULL));
  }
  CHECK_OK(tt_model_metadata_json(m, &json));
  CHECK(strstr(json, "\"training_warnings\"") != NULL && strstr(json, "absent from the candidate catalogue") != NULL);
  tt_model_free(m);
  m = NULL;

  /* A duplicated key: JSON parsers keep one of the values, silently. */
  spec = replaced(syn_spec_json, "\"epochs\": 4,", "\"epochs\": 4, \"epochs\": 400,");
  CHECK_FAILS(tt_model_create(spec, &m), TT_ERR_PARSE, "spec: training: duplicated key 'epochs'");
  free(spec);

  /* Huge layers: the tensor and its bytes, before allocating (was std::bad_alloc). */
  spec = replaced(syn_spec_json, "\"layers\": [16]},", "\"layers\": [65536, 65536, 65536, 16]},");
  CHECK_OK(tt_model_create(spec, &m));
  free(spec);
  if (memory_kib() > 0 && memory_kib() < 100000000LL)
    CHECK_FAILS(tt_model_train(m, inter, cand, NULL, NULL), TT_ERR_INVALID_ARGUMENT,
                "the largest tensor is 'query/dense_2/kernel' [65536 x 65536] = 17179869184 bytes");
  tt_model_free(m);

  /* CR-only line breaks; every missing column named. */
  write_text("bad_input_cr.csv", "a,b\r1,2\r3,4\r");
  CHECK_FAILS(tt_table_read_file("bad_input_cr.csv", ab, types, 2, &read), TT_ERR_PARSE, "CR-only line breaks");
  write_text("bad_input_cols.csv", "x,y\n1,2\n");
  CHECK_FAILS(tt_table_read_file("bad_input_cols.csv", ab, types, 2, &read), TT_ERR_PARSE,
              "columns 'a', 'b' not found in the header ('x', 'y')");
  remove("bad_input_cr.csv");
  remove("bad_input_cols.csv");
  tt_table_free(empty);
  tt_table_free(half);
}

/* Evaluating against an empty catalogue reported top-k accuracy 1.0 for any model. */
static void test_evaluate_empty(const tt_model* m, tt_table* inter) {
  tt_table* empty = NULL;
  tt_metrics metrics;
  tt_metrics_init(&metrics);
  CHECK_OK(tt_table_create(&empty));
  CHECK_FAILS(tt_model_evaluate(m, inter, empty, 0, &metrics), TT_ERR_INVALID_ARGUMENT,
              "tt_model_evaluate: the candidate catalogue has no rows");
  tt_table_free(empty);
}

/* Unbounded reads: devices, FIFOs (no writer: opening one must not block) and directories are
 * refused wherever a path is accepted, with a message naming the path and what it is. */
static void test_non_regular_paths(const tt_model* m) {
  const char* fifo = "bad_input_fifo";
  const char* dir = "bad_input_dir";
  const char* col = "user_id";
  const tt_dtype type = TT_DTYPE_STRING;
  tt_model* out = NULL;
  tt_table *t = NULL, *t2 = NULL;
  tt_import_options io;
  remove(fifo);
  CHECK(mkfifo(fifo, 0600) == 0);
  mkdir(dir, 0700);

  CHECK_FAILS(tt_model_load("/dev/zero", &out), TT_ERR_IO, "'/dev/zero' is a character device, not a regular file");
  CHECK_FAILS(tt_model_load("/dev/urandom", &out), TT_ERR_IO, "/dev/urandom");
  CHECK_FAILS(tt_model_load(fifo, &out), TT_ERR_IO, "is a FIFO (named pipe), not a regular file");
  CHECK_FAILS(tt_model_load(dir, &out), TT_ERR_IO, "is a directory");
  CHECK_FAILS(tt_model_create_from_file("/dev/zero", &out), TT_ERR_IO, "spec file '/dev/zero' is a character device");
  CHECK_FAILS(tt_model_create_from_file(fifo, &out), TT_ERR_IO, "FIFO");
  CHECK_FAILS(tt_model_create_from_file(dir, &out), TT_ERR_IO, "spec file 'bad_input_dir' is a directory");
  CHECK_FAILS(tt_table_read_file("/dev/zero", &col, &type, 1, &t), TT_ERR_IO, "character device");
  CHECK_FAILS(tt_table_read_file(fifo, &col, &type, 1, &t), TT_ERR_IO, "FIFO");
  CHECK_FAILS(tt_table_read_file(dir, &col, &type, 1, &t), TT_ERR_IO, "directory");
  CHECK_FAILS(tt_model_convert("/dev/urandom", "bad_input_out.tt", NULL), TT_ERR_IO, "character device");
  CHECK_FAILS(tt_model_convert(fifo, "bad_input_out.tt", NULL), TT_ERR_IO, "FIFO");
  /* Import reads a spec, preprocessing state and weights. */
  CHECK_OK(tt_model_export(m, "bad_input_export", NULL));
  tt_import_options_init(&io);
  io.weights_path = "/dev/zero";
  CHECK_FAILS(tt_model_import("bad_input_export", &io, &out), TT_ERR_IO, "'/dev/zero' is a character device");
  io.weights_path = fifo;
  CHECK_FAILS(tt_model_import("bad_input_export", &io, &out), TT_ERR_IO, "FIFO");
  io.weights_path = NULL;
  io.spec_path = fifo;
  CHECK_FAILS(tt_model_import("bad_input_export", &io, &out), TT_ERR_IO, "FIFO");
  io.spec_path = NULL;
  io.preprocessing_path = "/dev/zero";
  CHECK_FAILS(tt_model_import("bad_input_export", &io, &out), TT_ERR_IO, "character device");
  /* MovieLens: the directory itself, and its files. */
  CHECK_FAILS(tt_load_movielens("/dev/zero", &t, &t2), TT_ERR_IO, "'/dev/zero' is not a directory");
  {
    FILE* f;
    mkdir("bad_input_ml", 0700);
    remove("bad_input_ml/u.item");
    CHECK(mkfifo("bad_input_ml/u.item", 0600) == 0);
    f = fopen("bad_input_ml/u.data", "w");
    if (f) fclose(f);
    CHECK_FAILS(tt_load_movielens("bad_input_ml", &t, &t2), TT_ERR_IO, "u.item' is a FIFO");
    remove("bad_input_ml/u.item");
    remove("bad_input_ml/u.data");
    rmdir("bad_input_ml");
  }
  CHECK(out == NULL && t == NULL && t2 == NULL);
  remove(fifo);
  rmdir(dir);
}

/* Numbers that wrap: every option field has a range; a value outside it is refused naming the
 * field, before any work. */
static void test_option_ranges(tt_model* m, tt_table* inter, tt_table* cand) {
  tt_model* fresh = NULL;
  tt_train_options to;
  tt_save_options so;
  tt_convert_options co;
  tt_export_options eo;
  tt_import_options io;
  tt_metrics metrics;
  tt_table* q = one_query();
  double overlap = 0;
  const int32_t bad_threads[] = {100000, 20000, TT_MAX_THREADS + 1, -1, -3, INT32_MIN};
  size_t i;

  CHECK_OK(tt_model_create(syn_spec_json, &fresh));
  for (i = 0; i < sizeof bad_threads / sizeof bad_threads[0]; ++i) {
    tt_train_options_init(&to);
    to.threads = bad_threads[i];
    CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT, "tt_train_options.threads is");
    tt_import_options_init(&io);
    io.threads = bad_threads[i];
    CHECK_FAILS(tt_model_import("bad_input_export", &io, &fresh), TT_ERR_INVALID_ARGUMENT,
                "tt_import_options.threads is");
  }
  tt_train_options_init(&to);
  to.threads = 100000;
  CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_train_options.threads is 100000; it must be 0 (all cores) or 1..256");
  tt_train_options_init(&to);
  to.epochs = 1000001;
  CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_train_options.epochs is 1000001");
  to.epochs = UINT32_MAX;
  CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT, "tt_train_options.epochs");
  tt_train_options_init(&to);
  to.eval_every = -2;
  CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_train_options.eval_every is -2");
  tt_train_options_init(&to);
  to.seed_set = 2;
  CHECK_FAILS(tt_model_train(fresh, inter, cand, &to, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_train_options.seed_set is 2; it must be 0 or 1");
  tt_train_options_init(&to);
  to.seed_set = 1;
  to.seed = UINT64_MAX; /* every seed is valid */
  to.epochs = 1;
  to.threads = 1;
  CHECK_OK(tt_model_train(fresh, inter, cand, &to, NULL));
  tt_model_free(fresh);

  tt_save_options_init(&so);
  so.compression_level = 20;
  CHECK_FAILS(tt_model_save(m, "bad_input_range.tt", &so), TT_ERR_INVALID_ARGUMENT,
              "tt_save_options.compression_level is 20; it must be in 0..19");
  so.compression_level = -1;
  CHECK_FAILS(tt_model_save(m, "bad_input_range.tt", &so), TT_ERR_INVALID_ARGUMENT, "compression_level is -1");
  tt_save_options_init(&so);
  so.include_optimizer = -1;
  CHECK_FAILS(tt_model_save(m, "bad_input_range.tt", &so), TT_ERR_INVALID_ARGUMENT,
              "tt_save_options.include_optimizer is -1; it must be 0 or 1");
  CHECK(!file_exists("bad_input_range.tt"));
  tt_convert_options_init(&co);
  co.strip = 7;
  CHECK_FAILS(tt_model_convert("bad_input_null.tt", "bad_input_range.tt", &co), TT_ERR_INVALID_ARGUMENT,
              "tt_convert_options.strip is 7");
  tt_convert_options_init(&co);
  co.index_precision = 4;
  CHECK_FAILS(tt_model_convert("bad_input_null.tt", "bad_input_range.tt", &co), TT_ERR_INVALID_ARGUMENT,
              "tt_convert_options.index_precision is 4");
  tt_export_options_init(&eo);
  eo.fvecs = 3;
  CHECK_FAILS(tt_model_export(m, "bad_input_range_export", &eo), TT_ERR_INVALID_ARGUMENT,
              "tt_export_options.fvecs is 3");
  tt_metrics_init(&metrics);
  CHECK_FAILS(tt_model_evaluate(m, inter, cand, 2, &metrics), TT_ERR_INVALID_ARGUMENT,
              "distinct_candidates is 2; it must be 0 or 1");
  CHECK_FAILS(tt_model_topk_overlap(m, m, q, 0, &overlap), TT_ERR_INVALID_ARGUMENT, "k is 0");
  CHECK_FAILS(tt_model_topk_overlap(m, m, q, (size_t)1 << 62, &overlap), TT_ERR_INVALID_ARGUMENT,
              "k is 4611686018427387904");
  {
    tt_ann_options ao;
    tt_ann_options_init(&ao);
    ao.iterations = 1001;
    CHECK_FAILS(tt_model_build_ann(m, &ao), TT_ERR_INVALID_ARGUMENT, "tt_ann_options.iterations is 1001");
  }
  CHECK_OK(tt_model_topk_overlap(m, m, q, 1000, &overlap)); /* beyond the catalogue: compares it all */
  CHECK(overlap == 1.0);
  tt_table_free(q);
}

/* The host part of temporary names (docs/c-api.md): the host name up to its first '.', letters,
 * digits and '_' only, at most 32 characters. */
static void host_tag(char* out, size_t cap) {
  char host[256] = {0};
  size_t n = 0, i;
  gethostname(host, sizeof host - 1);
  for (i = 0; host[i] && host[i] != '.' && n < 32 && n + 1 < cap; ++i)
    if ((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
        (host[i] >= '0' && host[i] <= '9') || host[i] == '_')
      out[n++] = host[i];
  out[n] = 0;
}

static void touch(const char* path) {
  FILE* f = fopen(path, "w");
  if (f) fclose(f);
}

/* Files: saving keeps the replaced file's permission bits, writes through a symbolic link to
 * its target, and removes temporaries that killed saves left behind. */
static void test_saving(const tt_model* m) {
  struct stat st;
  tt_model* loaded = NULL;
  char host[64], stale[256], other_host[256], alive[256];
  pid_t child;

  remove("perm.tt");
  CHECK_OK(tt_model_save(m, "perm.tt", NULL));
  CHECK(chmod("perm.tt", 0600) == 0);
  CHECK_OK(tt_model_save(m, "perm.tt", NULL));
  CHECK(stat("perm.tt", &st) == 0 && (st.st_mode & 07777) == 0600);
  CHECK(chmod("perm.tt", 0640) == 0);
  CHECK_OK(tt_model_convert("perm.tt", "perm2.tt", NULL));
  CHECK(chmod("perm2.tt", 0604) == 0);
  CHECK_OK(tt_model_convert("perm.tt", "perm2.tt", NULL));
  CHECK(stat("perm2.tt", &st) == 0 && (st.st_mode & 07777) == 0604);

  /* A dangling link is followed too: the target appears, the link stays a link. */
  remove("link.tt");
  remove("target.tt");
  CHECK(symlink("target.tt", "link.tt") == 0);
  CHECK_OK(tt_model_save(m, "link.tt", NULL));
  CHECK(lstat("link.tt", &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(lstat("target.tt", &st) == 0 && S_ISREG(st.st_mode));
  CHECK(chmod("target.tt", 0600) == 0);
  CHECK_OK(tt_model_save(m, "link.tt", NULL));
  CHECK(lstat("link.tt", &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(stat("target.tt", &st) == 0 && (st.st_mode & 07777) == 0600);
  CHECK_OK(tt_model_load("target.tt", &loaded));
  tt_model_free(loaded);

  /* Temporaries of killed saves: <name>.tmp-<pid>-<host>-<n>. Only a dead pid's on this host go. */
  host_tag(host, sizeof host);
  child = fork();
  if (child == 0) _exit(0);
  CHECK(child > 0 && waitpid(child, NULL, 0) == child);
  snprintf(stale, sizeof stale, "perm.tt.tmp-%ld-%s-0", (long)child, host);
  snprintf(other_host, sizeof other_host, "perm.tt.tmp-%ld-%sX-0", (long)child, host);
  snprintf(alive, sizeof alive, "perm.tt.tmp-%ld-%s-0", (long)getppid(), host);
  touch(stale);
  touch(other_host);
  touch(alive);
  CHECK_OK(tt_model_save(m, "perm.tt", NULL));
  CHECK(!file_exists(stale));
  CHECK(file_exists(other_host));
  CHECK(file_exists(alive));
  remove(other_host);
  remove(alive);

  /* Where no file can go: an error naming the path, before anything is written. */
  CHECK_FAILS(tt_model_save(m, "no-such-dir/m.tt", NULL), TT_ERR_IO, "no-such-dir/m.tt");
  CHECK_FAILS(tt_model_save(m, ".", NULL), TT_ERR_IO, "is a directory");
  remove("perm.tt");
  remove("perm2.tt");
  remove("link.tt");
  remove("target.tt");
}

int main(void) {
  tt_table *inter = NULL, *cand = NULL;
  tt_model* m = NULL;
  CHECK(syn_tables(&inter, &cand));
  m = trained(inter, cand);
  alarm(300); /* a read that blocks or never ends fails the test instead of hanging it */
  test_query_bounds(m);
  test_non_regular_paths(m);
  test_saving(m);
  test_null_options(inter, cand);
  test_option_ranges(m, inter, cand);
  test_refused_inputs(inter, cand);
  test_evaluate_empty(m, inter);
  tt_model_free(m);
  remove("bad_input_null.tt");
  tt_table_free(inter);
  tt_table_free(cand);
  return finish("test_capi_bad_input");
}
