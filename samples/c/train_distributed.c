/* Distributed training from C (twotower_mpi.h; docs/distributed.md): every rank of the MPI job
 * loads the data and calls tt_model_train_distributed; rank 0 saves the model.
 *   mpicc -std=c99 train_distributed.c $(pkg-config --cflags --libs twotower-mpi) -o train_distributed
 *   mpirun -np 2 ./train_distributed samples/movielens/deep-32.json model.tt [epochs]
 * MovieLens 100k is read from $TWOTOWER_DATA. Same model as
 *   mpirun -np 2 twotower train --distributed --spec samples/movielens/deep-32.json --save model.tt */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <twotower/twotower_mpi.h>

/* A failed call on one rank must not leave the others waiting in a collective: end the job. */
static void check(tt_status s, const char* what, int rank) {
  if (s != TT_OK) {
    fprintf(stderr, "rank %d: %s: %s: %s\n", rank, what, tt_status_name(s), tt_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

int main(int argc, char** argv) {
  int rank = 0, provided = 0;
  tt_table *ratings = NULL, *movies = NULL;
  tt_model* model = NULL;
  tt_train_options opts;
  tt_metrics metrics;
  double top100 = 0;
  if (argc < 3) {
    fprintf(stderr, "usage: mpirun -np N %s spec.json model.tt [epochs]\n", argv[0]);
    return 2;
  }
  /* Worker threads compute; only this thread calls MPI. */
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  /* Every rank loads the same data and creates the model from the same spec. */
  check(tt_load_movielens(NULL, &ratings, &movies), "load", rank);
  check(tt_model_create_from_file(argv[1], &model), "create", rank);

  /* The spec's batch_size is the global batch: each of N ranks embeds batch_size / N rows of
   * it, and every rank's softmax sees all of its candidates. One thread per rank here. */
  tt_train_options_init(&opts);
  opts.epochs = argc > 3 ? (uint32_t)atoi(argv[3]) : 0; /* 0: the spec's */
  opts.threads = 1;
  tt_metrics_init(&metrics);
  check(tt_model_train_distributed(model, ratings, movies, MPI_COMM_WORLD, &opts, NULL, &metrics, NULL), "train", rank);

  /* Every rank holds the same trained model; one of them saves it. */
  if (rank == 0) {
    check(tt_metrics_at_k(&metrics, 100, &top100), "metrics", rank);
    printf("top-100 accuracy %.4f\n", top100);
    check(tt_model_save(model, argv[2], NULL), "save", rank);
  }
  tt_model_free(model);
  tt_table_free(ratings);
  tt_table_free(movies);
  MPI_Finalize();
  return 0;
}
