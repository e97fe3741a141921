/*
 * twotower quickstart: train the TFRS deep-retrieval model on MovieLens 100k through the C API,
 * save it, load it back and print the top 10 movies for a user.
 *
 *   quickstart [--data DIR] [--spec FILE] [--epochs N] [--out FILE] [--user ID]
 *
 * Build against an installed twotower with CMake (see CMakeLists.txt here) or pkg-config:
 *   cc quickstart.c $(pkg-config --cflags --libs twotower) -o quickstart
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <twotower/twotower.h>

#ifndef QUICKSTART_SPEC
#define QUICKSTART_SPEC "samples/movielens/deep-32.json"
#endif

/* Prints the library's message and exits when a call fails. */
static void check(tt_status status, const char* what) {
  if (status != TT_OK) {
    fprintf(stderr, "%s failed: %s: %s\n", what, tt_status_name(status), tt_last_error());
    exit(1);
  }
}

static int print_progress(const tt_progress* p, void* user_data) {
  (void)user_data;
  if (p->epoch_done && p->has_metrics)
    printf("epoch %3u/%u  loss %.4f  top-100 %.4f\n", p->epoch, p->epochs, p->loss,
           p->metrics.accuracy[p->metrics.count - 1]);
  return 0; /* non-zero would cancel */
}

int main(int argc, char** argv) {
  const char* data = NULL; /* NULL: $TWOTOWER_DATA */
  const char* spec = QUICKSTART_SPEC;
  const char* out = "quickstart-model.tt";
  const char* user = "42";
  unsigned epochs = 0; /* 0: the spec's 300 */
  int i;
  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--data"))
      data = argv[i + 1];
    else if (!strcmp(argv[i], "--spec"))
      spec = argv[i + 1];
    else if (!strcmp(argv[i], "--epochs"))
      epochs = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--out"))
      out = argv[i + 1];
    else if (!strcmp(argv[i], "--user"))
      user = argv[i + 1];
  }
  if (tt_abi_version() != TT_ABI_VERSION) {
    fprintf(stderr, "built against twotower ABI %d, running with %u\n", TT_ABI_VERSION, tt_abi_version());
    return 1;
  }
  printf("twotower %s\n", tt_version_string());

  /* 1. Data: MovieLens ratings (the interactions) and the movie catalogue (the candidates). */
  tt_table *ratings = NULL, *movies = NULL;
  check(tt_load_movielens(data, &ratings, &movies), "tt_load_movielens");

  /* 2. Train: the spec says what each tower reads and how big it is. */
  tt_model* model = NULL;
  check(tt_model_create_from_file(spec, &model), "tt_model_create_from_file");
  tt_train_options options;
  tt_train_options_init(&options);
  options.epochs = epochs;
  options.progress = print_progress;
  tt_metrics metrics;
  tt_metrics_init(&metrics);
  check(tt_model_train(model, ratings, movies, &options, &metrics), "tt_model_train");
  for (i = 0; i < (int)metrics.count; ++i) printf("top-%u accuracy: %.4f\n", metrics.k[i], metrics.accuracy[i]);

  /* 3. Save, and load it back as a server would. */
  tt_save_options save;
  tt_save_options_init(&save);
  check(tt_model_save(model, out, &save), "tt_model_save");
  tt_model_free(model);
  tt_model* served = NULL;
  check(tt_model_load_v2(out, NULL, &served), "tt_model_load_v2");

  /* 4. Query: the query tower's columns for one user, top 10 candidates. */
  tt_table* query = NULL;
  const int64_t timestamp = 879024327;
  check(tt_table_create(&query), "tt_table_create");
  check(tt_table_append_strings(query, "user_id", &user, 1), "tt_table_append_strings");
  check(tt_table_append_int64(query, "timestamp", &timestamp, 1), "tt_table_append_int64");
  tt_query_options qo;
  tt_query_options_init(&qo);
  qo.k = 10;
  int64_t ids[10];
  float scores[10];
  check(tt_model_query(served, query, &qo, ids, scores), "tt_model_query");
  printf("top 10 for user %s:\n", user);
  for (i = 0; i < 10 && ids[i] >= 0; ++i) {
    const char* title = NULL;
    check(tt_model_candidate_key(served, ids[i], &title), "tt_model_candidate_key");
    printf("%2d. %7.3f  %s\n", i + 1, scores[i], title);
  }

  tt_table_free(query);
  tt_table_free(ratings);
  tt_table_free(movies);
  tt_model_free(served);
  return 0;
}
