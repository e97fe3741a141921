/* Issue 18, "small catalogues without overhead": the C API call itself. Loads the raw float32
 * files bench/bindings-latency.sh wrote (base: n x d, queries: q x d), builds a tt_index with
 * the library defaults (float32, all cores) and times tt_index_search one query at a time, k
 * results each, after `warm` untimed queries. Prints the line every layer prints
 * (RESULT layer p50_ms p99_ms top-key-sum): the sum of the top-1 keys must
 * agree across layers (same answers). THREADS (optional, default 0 = all cores, the library's
 * default and what the bindings' layers use) is tt_index_options.threads.
 * Usage: latency DIR N D Q K WARM [THREADS] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "twotower/twotower.h"

static float* read_f32(const char* dir, const char* name, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "rb");
  float* v = malloc(count * sizeof(float));
  if (!f || !v || fread(v, sizeof(float), count, f) != count) {
    fprintf(stderr, "latency: cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(f);
  return v;
}

static void check(tt_status s, const char* what) {
  if (s != TT_OK) {
    fprintf(stderr, "latency: %s: %s\n", what, tt_last_error());
    exit(1);
  }
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: latency DIR N D Q K WARM [THREADS]\n");
    return 2;
  }
  const char* dir = argv[1];
  size_t n = strtoul(argv[2], NULL, 10), d = strtoul(argv[3], NULL, 10), q = strtoul(argv[4], NULL, 10);
  size_t k = strtoul(argv[5], NULL, 10), warm = strtoul(argv[6], NULL, 10);
  float* base = read_f32(dir, "base.f32", n * d);
  float* queries = read_f32(dir, "queries.f32", q * d);

  tt_index_options index_opts;
  tt_index_options_init(&index_opts);
  index_opts.threads = argc == 8 ? atoi(argv[7]) : 0;
  tt_index* index = NULL;
  check(tt_index_create(d, &index_opts, &index), "tt_index_create");
  check(tt_index_add(index, base, n, d, NULL), "tt_index_add");
  tt_query_options opts;
  tt_query_options_init(&opts);
  opts.k = k;
  opts.capacity = k;
  int64_t* keys = malloc(k * sizeof(int64_t));
  float* scores = malloc(k * sizeof(float));
  double* ms = malloc(q * sizeof(double));
  long long top_sum = 0;
  for (size_t i = 0; i < warm; i++)
    check(tt_index_search(index, queries + (i % q) * d, 1, d, &opts, keys, scores), "tt_index_search");
  for (size_t i = 0; i < q; i++) {
    double t0 = now_ms();
    tt_status s = tt_index_search(index, queries + i * d, 1, d, &opts, keys, scores);
    ms[i] = now_ms() - t0;
    check(s, "tt_index_search");
    top_sum += keys[0];
  }
  qsort(ms, q, sizeof(double), by_value);
  char layer[32] = "C-API";
  if (index_opts.threads > 0) snprintf(layer, sizeof layer, "C-API-%d-thread", (int)index_opts.threads);
  printf("RESULT %s %.4f %.4f %lld\n", layer, ms[q / 2], ms[(q * 99) / 100], top_sum);
  tt_index_free(index);
  free(ms);
  free(scores);
  free(keys);
  free(queries);
  free(base);
  return 0;
}
