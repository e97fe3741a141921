/* twotower_mpi.h from C, as one rank of `mpirun -np 2`: bad input fails with a status on every
 * rank (no hang), ranks that disagree about the data are named, a distributed run trains (rank 0
 * saves the model for test_capi_equivalence.sh to compare with one process), and the same run
 * from a columnar file, each rank holding half the rows, gives the same model bit for bit.
 *   test_capi_mpi <spec.json> <epochs> <model.tt to write on rank 0>
 * MovieLens 100k from $TWOTOWER_DATA. Compiled as C99 against the installed headers' view. */
#include <mpi.h>
#include <stdlib.h>

#include "check.h"
#include "twotower/twotower_mpi.h"

/* The catalogue without its last row: data the other ranks do not have. */
static tt_table* catalogue_minus_last_row(const tt_table* catalogue) {
  tt_table* out = NULL;
  size_t rows = 0;
  const char* const columns[2] = {"movie_id", "movie_title"};
  const char** values;
  int c;
  CHECK_OK(tt_table_num_rows(catalogue, &rows));
  values = (const char**)malloc(rows * sizeof *values);
  CHECK_OK(tt_table_create(&out));
  for (c = 0; c < 2; ++c) {
    CHECK_OK(tt_table_get_strings(catalogue, columns[c], 0, rows - 1, values));
    CHECK_OK(tt_table_append_strings(out, columns[c], values, rows - 1));
  }
  free(values);
  return out;
}

static void bad_input(tt_model* model, const tt_table* ratings, const tt_table* catalogue, int rank) {
  tt_train_options options;
  tt_mpi_options mpi;
  tt_table* other = NULL;
  tt_train_options_init(&options);
  tt_mpi_options_init(&mpi);
  CHECK_FAILS(tt_model_train_distributed(NULL, ratings, catalogue, MPI_COMM_WORLD, NULL, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(tt_model_train_distributed(model, ratings, NULL, MPI_COMM_WORLD, NULL, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "candidates is NULL");
  CHECK_FAILS(tt_model_train_distributed(model, ratings, catalogue, MPI_COMM_NULL, NULL, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "MPI_COMM_NULL");
  mpi.timeout_seconds = -1;
  CHECK_FAILS(tt_model_train_distributed(model, ratings, catalogue, MPI_COMM_WORLD, NULL, &mpi, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "tt_mpi_options.timeout_seconds");
  options.threads = -3;
  CHECK_FAILS(tt_model_train_distributed(model, ratings, catalogue, MPI_COMM_WORLD, &options, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "tt_train_options.threads");
  /* Collective failure: rank 1's catalogue lacks a row; every rank fails, naming rank 1. */
  if (rank == 1) other = catalogue_minus_last_row(catalogue);
  CHECK_FAILS(
      tt_model_train_distributed(model, ratings, other ? other : catalogue, MPI_COMM_WORLD, NULL, NULL, NULL, NULL),
      TT_ERR_INVALID_ARGUMENT, "rank 1 disagrees with rank 0");
  tt_table_free(other);
}

/* Both towers' outputs of two models, bit for bit: every candidate, and the queries of `rows`. */
static int same_embeddings(const tt_model* a, const tt_model* b, const tt_table* rows) {
  size_t n = 0, dim = 0, queries = 0, size;
  float *x, *y;
  int same;
  CHECK_OK(tt_model_num_candidates(a, &n));
  CHECK_OK(tt_model_embedding_dim(a, &dim));
  CHECK_OK(tt_table_num_rows(rows, &queries));
  size = (n > queries ? n : queries) * dim;
  x = (float*)calloc(size, sizeof *x);
  y = (float*)calloc(size, sizeof *y);
  CHECK_OK(tt_model_candidate_embeddings(a, 0, n, x, size));
  CHECK_OK(tt_model_candidate_embeddings(b, 0, n, y, size));
  same = memcmp(x, y, n * dim * sizeof *x) == 0;
  CHECK_OK(tt_model_embed_queries(a, rows, x, size));
  CHECK_OK(tt_model_embed_queries(b, rows, y, size));
  same = same && memcmp(x, y, queries * dim * sizeof *x) == 0;
  free(x);
  free(y);
  return same;
}

/* The interactions as a columnar file (rank 0 writes it): each rank keeps only its share of the
 * rows, and the model is bit for bit the one trained from the whole table. */
static void train_from_file(const tt_model* from_table, const tt_table* ratings, const tt_table* catalogue,
                            const char* spec, const char* model_path, const tt_train_options* options, int rank) {
  char path[4096];
  tt_model* from_file = NULL;
  tt_mpi_stats stats;
  snprintf(path, sizeof path, "%s.ttc", model_path);
  if (rank == 0) CHECK_OK(tt_table_write_columnar(ratings, path));
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK_OK(tt_model_create_from_file(spec, &from_file));
  CHECK_FAILS(tt_model_train_distributed_file(from_file, spec, catalogue, MPI_COMM_WORLD, options, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "is not a columnar data file");
  tt_mpi_stats_init(&stats);
  CHECK_OK(tt_model_train_distributed_file(from_file, path, catalogue, MPI_COMM_WORLD, options, NULL, NULL, &stats));
  /* 100,000 ratings: 80,000 train and 20,000 test, half of each per rank. */
  CHECK(stats.rows_held == 50000 && stats.rank_train_rows == 40000 && stats.rank_test_rows == 10000);
  CHECK(same_embeddings(from_table, from_file, ratings));
  tt_model_free(from_file);
}

int main(int argc, char** argv) {
  int rank = 0, size = 0, provided = 0;
  tt_table *ratings = NULL, *catalogue = NULL;
  tt_model* model = NULL;
  tt_train_options options;
  tt_metrics metrics;
  tt_mpi_stats stats;
  double top100 = -1, all_top100[2] = {0, 0};
  if (argc != 4) {
    fprintf(stderr, "usage: test_capi_mpi <spec.json> <epochs> <model.tt>\n");
    return 2;
  }
  /* Worker threads compute; only this thread calls MPI. */
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(size == 2);
  CHECK_OK(tt_load_movielens(NULL, &ratings, &catalogue));
  CHECK_OK(tt_model_create_from_file(argv[1], &model));
  bad_input(model, ratings, catalogue, rank);

  tt_train_options_init(&options);
  options.epochs = (uint32_t)atoi(argv[2]);
  options.threads = 1;
  tt_metrics_init(&metrics);
  tt_mpi_stats_init(&stats);
  CHECK_OK(tt_model_train_distributed(model, ratings, catalogue, MPI_COMM_WORLD, &options, NULL, &metrics, &stats));
  CHECK(stats.ranks == 2);
  CHECK(stats.rows_held == 100000 && stats.rank_train_rows == 40000 && stats.rank_test_rows == 10000);
  CHECK(stats.steps > 0 && stats.bytes_sent > 0 && stats.train_seconds > 0);
  CHECK_OK(tt_metrics_at_k(&metrics, 100, &top100));
  CHECK(top100 > 0.05);
  /* Every rank evaluated all test rows together: the same accuracy everywhere. */
  MPI_Allgather(&top100, 1, MPI_DOUBLE, all_top100, 1, MPI_DOUBLE, MPI_COMM_WORLD);
  CHECK(all_top100[0] == all_top100[1]);
  if (rank == 0) {
    CHECK_OK(tt_model_save(model, argv[3], NULL));
    printf("rank 0: top-100 %.4f after %u epochs, %lu steps, %.2f MB sent per step\n", top100, options.epochs,
           (unsigned long)stats.steps, (double)stats.bytes_sent / 1e6 / (double)stats.steps);
  }
  train_from_file(model, ratings, catalogue, argv[1], argv[3], &options, rank);
  /* A trained model is not trained further over MPI (a warm start runs in one process). */
  CHECK_FAILS(tt_model_train_distributed(model, ratings, catalogue, MPI_COMM_WORLD, &options, NULL, NULL, NULL),
              TT_ERR_INVALID_ARGUMENT, "tt_train_options.reset");

  tt_model_free(model);
  tt_table_free(ratings);
  tt_table_free(catalogue);
  MPI_Finalize();
  return finish(rank == 0 ? "test_capi_mpi rank 0" : "test_capi_mpi rank 1");
}
