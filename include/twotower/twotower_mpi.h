/*
 * twotower over MPI: data-parallel training of one model by the ranks of an MPI communicator
 * (docs/distributed.md). Installed only with the MPI component (-DTWOTOWER_WITH_MPI=ON); link
 * libtwotower_mpi instead of libtwotower (it holds the whole C API of twotower.h plus this
 * header's functions) and your MPI library. The core library and twotower.h never depend on MPI.
 *
 * The conventions of twotower.h hold: every call returns a tt_status, tt_last_error() gives the
 * message, options start with struct_size and are filled by their *_init, and no exception,
 * abort() or exit() leaves the library (it never calls MPI_Abort: that decision is the caller's).
 */
#ifndef TWOTOWER_MPI_H
#define TWOTOWER_MPI_H

#include <mpi.h>

#include "twotower/twotower.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_mpi_options {
  size_t struct_size;
  /* How long one collective may wait for the other ranks, in seconds, before the call fails
   * with TT_ERR_IO naming the rank and the collective (a rank died or hangs). 0 (default):
   * $TWOTOWER_MPI_TIMEOUT, else 300. Else 0.001 .. 1e6. Loading data and evaluation happen
   * between collectives: set it above the slowest legitimate wait. */
  double timeout_seconds;
} tt_mpi_options;
TT_API void tt_mpi_options_init(tt_mpi_options* options);

/* What a finished distributed run measured on the calling rank. */
typedef struct tt_mpi_stats {
  size_t struct_size;
  int32_t ranks;           /* the communicator's size */
  uint64_t steps;          /* training steps this rank took part in */
  uint64_t bytes_sent;     /* this rank's bytes into the training collectives */
  double exchange_seconds; /* time in those collectives, waiting for other ranks included */
  double train_seconds;    /* wall time of training, evaluations excluded */
  /* Interaction rows this rank held in memory: all of them with tables, its share with a
   * columnar file (tt_model_train_distributed_file); and the rows it trained and evaluated on. */
  uint64_t rows_held, rank_train_rows, rank_test_rows;
} tt_mpi_stats;
TT_API void tt_mpi_stats_init(tt_mpi_stats* stats);

/* tt_model_train of a new model, run by every rank of `comm` together as one data-parallel job:
 * `mpirun -np N twotower train --distributed` does exactly this. Collective: every rank calls
 * it with its own `model` (created from the same spec), the same `interactions` and
 * `candidates` (each rank loads them; a rank keeps only its share of the training rows
 * encoded), and the same options. MPI must be initialised, and not finalised, with
 * MPI_Init_thread(..., MPI_THREAD_FUNNELED, ...) or above: the library runs worker threads
 * (tt_train_options.threads), and only the calling thread makes MPI calls.
 *
 * The ranks first check that they agree on the spec and the data (column names and types, row
 * counts and a fingerprint of the values); a disagreement fails on every rank with
 * TT_ERR_INVALID_ARGUMENT naming the rank and the difference ("rank 1 disagrees with rank 0:
 * ..."). Then rank r of N trains on range r of the training rows and every rank's in-batch
 * softmax runs over the whole global batch (the spec's batch_size, which must be a multiple of
 * N): the model equals, within float rounding, the single-process model of the same global
 * batches (`twotower train --order-ranks N`). Every rank ends with the same weights and index;
 * save on one rank (usually 0). `final_metrics` (may be NULL) receives the last evaluation of
 * all test rows, the same on every rank; `stats` (may be NULL) this rank's measurements.
 *
 * Not supported here: a warm start (a trained or loaded model needs options->reset = 1, which
 * trains it anew) and shards. The progress callback must answer the same on every rank.
 *
 * An error on one rank only (a rank that cannot allocate, a collective that times out) leaves
 * the other ranks waiting until their own timeout: when a call fails, call MPI_Abort(comm, 1)
 * unless every rank is known to have failed alike. On failure the model keeps what it had.
 * Exclusive access to `model`. */
TT_API tt_status tt_model_train_distributed(tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                            MPI_Comm comm, const tt_train_options* options,
                                            const tt_mpi_options* mpi_options, tt_metrics* final_metrics,
                                            tt_mpi_stats* stats);

/* The same with the interactions in a columnar data file (docs/data-format.md; written by
 * tt_table_write_columnar or tt_data_convert) that every rank can read, instead of a table:
 * each rank keeps in memory only its share of the rows (its ranges of the split's training and
 * test rows), after one streamed pass over the file that fits the preprocessing on all rows.
 * The model is bit for bit the one tt_model_train_distributed trains from the whole table
 * (docs/distributed.md, "What each rank reads and holds"). Every id of the interactions must be
 * in `candidates`. A path that is not a columnar file is TT_ERR_INVALID_ARGUMENT. */
TT_API tt_status tt_model_train_distributed_file(tt_model* model, const char* interactions_path,
                                                 const tt_table* candidates, MPI_Comm comm,
                                                 const tt_train_options* options, const tt_mpi_options* mpi_options,
                                                 tt_metrics* final_metrics, tt_mpi_stats* stats);

#ifdef __cplusplus
}
#endif

#endif /* TWOTOWER_MPI_H */
