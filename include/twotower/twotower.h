/*
 * twotower: train, save, load and query two-tower retrieval models.
 *
 * The whole public API is this C99 header. Conventions, everywhere:
 *   - Every fallible call returns a tt_status; TT_OK is 0. On failure, tt_last_error() returns
 *     a message for the calling thread that names the file, line, field or argument at fault.
 *     The message stays valid until the next twotower call on the same thread.
 *   - Objects are opaque handles made by *_create / *_load and released by the matching *_free,
 *     which accepts NULL. Output handles are written only on success.
 *   - Option structs start with `struct_size`; fill them with the matching *_init function
 *     (which sets struct_size to sizeof the struct you compiled against and every option to its
 *     default), then change what you need. New fields are only ever appended. Every field has
 *     a range, written beside it; a value outside it is TT_ERR_INVALID_ARGUMENT naming the
 *     field ("tt_train_options.threads is 100000; ..."), before any work is done. Flags are
 *     0 or 1. A NULL options pointer means the defaults, for every function.
 *   - No C++ exception, abort() or exit() ever leaves the library: bad input of any kind, a
 *     NULL pointer included, is reported as a status.
 *   - Threads: a trained or loaded model may be used from any number of threads at once by the
 *     functions that take it const: tt_model_query, tt_model_embed_*, tt_model_candidate_*,
 *     tt_model_*_json, tt_model_evaluate*, tt_model_save*. tt_model_train,
 *     tt_model_rebuild_index and tt_model_set_threads need exclusive access to the model
 *     (the functions that say so below likewise): the caller must not run anything else on
 *     that model meanwhile; to change a model that serves, change a clone and swap it in with
 *     a tt_model_slot. Tables are not internally synchronised: do not
 *     modify a table while another thread reads it.
 *
 * Versions, kept apart: the library version (TT_VERSION_*, tt_version()), the C ABI version
 * (TT_ABI_VERSION, tt_abi_version(): bumped on any incompatible change to this header), and the
 * model file format version (tt_model_format_version()).
 */
#ifndef TWOTOWER_H
#define TWOTOWER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_VERSION_MAJOR 0
#define TT_VERSION_MINOR 1
#define TT_VERSION_PATCH 0
#define TT_VERSION_STRING "0.1.0"
#define TT_VERSION_NUMBER (TT_VERSION_MAJOR * 10000 + TT_VERSION_MINOR * 100 + TT_VERSION_PATCH)
#define TT_ABI_VERSION 1

#if defined(_WIN32)
#define TT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define TT_API __attribute__((visibility("default")))
#else
#define TT_API
#endif

/* Marks an entry point kept only for callers built against an older header; it stays, working,
 * until the next TT_ABI_VERSION. The message names the replacement. Define
 * TT_NO_DEPRECATION_WARNINGS before including this header to silence the warnings. */
#if defined(TT_NO_DEPRECATION_WARNINGS)
#define TT_DEPRECATED(message)
#elif defined(__GNUC__) || defined(__clang__)
#define TT_DEPRECATED(message) __attribute__((deprecated(message)))
#elif defined(_MSC_VER)
#define TT_DEPRECATED(message) __declspec(deprecated(message))
#else
#define TT_DEPRECATED(message)
#endif

/* Status codes. The values are fixed forever. */
typedef enum tt_status {
  TT_OK = 0,
  TT_ERR_INVALID_ARGUMENT = 1, /* NULL where an object is needed, an out-of-range option, an unknown column */
  TT_ERR_IO = 2,               /* a file could not be opened, read or written */
  TT_ERR_PARSE = 3,            /* malformed text input: CSV/TSV, MovieLens files, a JSON spec */
  TT_ERR_CORRUPT = 4,          /* a model file or buffer is damaged or truncated */
  TT_ERR_UNSUPPORTED = 5,      /* valid input needing a feature this build lacks (e.g. a newer file format) */
  TT_ERR_CANCELLED = 6,        /* a progress callback asked to stop */
  TT_ERR_INTERNAL = 7,         /* a bug, or a failure inside a dependency */
  TT_ERR_OUT_OF_MEMORY = 8
} tt_status;

/* The calling thread's message for the last failed call ("" if none). Never NULL. Valid until
 * the next twotower call on this thread. */
TT_API const char* tt_last_error(void);
/* "TT_OK", "TT_ERR_IO", ...; "TT_ERR_UNKNOWN" for other values. Static storage. */
TT_API const char* tt_status_name(tt_status status);

/* Library version as TT_VERSION_NUMBER and as "major.minor.patch" (static storage). */
TT_API uint32_t tt_version(void);
TT_API const char* tt_version_string(void);
/* The C ABI version this library implements (compare with TT_ABI_VERSION). */
TT_API uint32_t tt_abi_version(void);
/* The model file format version this library writes; it reads versions
 * tt_model_format_min_version() .. tt_model_format_version(). */
TT_API uint32_t tt_model_format_version(void);
TT_API uint32_t tt_model_format_min_version(void);

/* ------------------------------------------------------------------------------------------ */
/* Tables: named columns of strings, int64 or float32 values, all of one length.               */

typedef struct tt_table tt_table;

typedef enum tt_dtype { TT_DTYPE_STRING = 0, TT_DTYPE_INT64 = 1, TT_DTYPE_FLOAT32 = 2 } tt_dtype;

/* An empty table. Free with tt_table_free. */
TT_API tt_status tt_table_create(tt_table** out);
TT_API void tt_table_free(tt_table* table);

/* Appends n values to a column, creating it on first use. Strings are copied (NUL-terminated,
 * UTF-8). Columns may be filled in batches and in any order; tt_table_validate (and every call
 * that consumes the table) checks that all columns have the same length. Appending values of
 * another type to an existing column is TT_ERR_INVALID_ARGUMENT. */
TT_API tt_status tt_table_append_strings(tt_table* table, const char* column, const char* const* values, size_t n);
TT_API tt_status tt_table_append_int64(tt_table* table, const char* column, const int64_t* values, size_t n);
TT_API tt_status tt_table_append_float32(tt_table* table, const char* column, const float* values, size_t n);

/* Number of rows (TT_ERR_INVALID_ARGUMENT if the columns differ in length). */
TT_API tt_status tt_table_num_rows(const tt_table* table, size_t* out);
TT_API tt_status tt_table_validate(const tt_table* table);

/* Reading a table back, e.g. one that tt_table_read_file or tt_load_movielens made. Columns are
 * numbered 0 .. num_columns-1 in the order they were first appended or read. */
TT_API tt_status tt_table_num_columns(const tt_table* table, size_t* out);
/* Column `index`: its name (owned by the table, valid until the table is modified or freed), its
 * type and its length (columns may differ in length until the table is validated). Any output
 * pointer may be NULL. An index beyond the columns is TT_ERR_INVALID_ARGUMENT. */
TT_API tt_status tt_table_column_info(const tt_table* table, size_t index, const char** name, tt_dtype* type,
                                      size_t* length);
/* Rows first_row .. first_row+count-1 of a column into out[0 .. count-1], a caller buffer of
 * `count` elements. An unknown column, a column of another type or rows beyond the column's
 * length are TT_ERR_INVALID_ARGUMENT naming the column, before anything is written. Strings are
 * pointers into the table, valid until it is modified or freed. */
TT_API tt_status tt_table_get_strings(const tt_table* table, const char* column, size_t first_row, size_t count,
                                      const char** out);
TT_API tt_status tt_table_get_int64(const tt_table* table, const char* column, size_t first_row, size_t count,
                                    int64_t* out);
TT_API tt_status tt_table_get_float32(const tt_table* table, const char* column, size_t first_row, size_t count,
                                      float* out);

/* Reads a data file with a header row: CSV (RFC 4180), TSV (by extension .tsv/.tab) or a
 * columnar data file (docs/data-format.md; recognised by its first bytes, whatever its name).
 * The columns to read and their types are given as parallel arrays; other columns are ignored.
 * Errors name the file, line and column (for a columnar file: the column, and its stored type
 * when it differs). */
TT_API tt_status tt_table_read_file(const char* path, const char* const* columns, const tt_dtype* types,
                                    size_t num_columns, tt_table** out);

/* Writes the table as a columnar data file (docs/data-format.md: typed columns, strings
 * dictionary-encoded, checksummed; read back with tt_table_read_file or used as training data
 * without parsing), atomically. */
TT_API tt_status tt_table_write_columnar(const tt_table* table, const char* path);
/* Converts a data file (CSV, TSV or columnar) to a columnar data file: the named columns with
 * their types, in that order (what `twotower data convert` does). */
TT_API tt_status tt_data_convert(const char* input, const char* output, const char* const* columns,
                                 const tt_dtype* types, size_t num_columns);

/* MovieLens 100k from its original directory (u.data, u.item; SHA256SUMS verified if present):
 * ratings {user_id: string, movie_title: string, timestamp: int64, rating: float32} and the
 * catalogue {movie_id: string, movie_title: string}. dir NULL or "": $TWOTOWER_DATA. */
TT_API tt_status tt_load_movielens(const char* dir, tt_table** ratings, tt_table** catalogue);

/* ------------------------------------------------------------------------------------------ */
/* Models.                                                                                      */

typedef struct tt_model tt_model;

/* A new, untrained model from a JSON spec (docs/model-spec.md). */
TT_API tt_status tt_model_create(const char* spec_json, tt_model** out);
TT_API tt_status tt_model_create_from_file(const char* spec_path, tt_model** out);
TT_API void tt_model_free(tt_model* model);

/* Sharing a model between threads that come and go, and replacing it while it serves
 * (docs/c-api.md, "Replacing a served model"). A model handle counts references: it starts with
 * one, held by whoever created or loaded it; tt_model_retain adds one and tt_model_release drops
 * one (atomically; any thread); the last release frees the model. tt_model_free is
 * tt_model_release. Retaining a model whose references are all released is undefined, as is
 * any use of a freed pointer: to hand the current model to threads safely, use a tt_model_slot.
 * While more than one reference exists, the model is shared: only its thread-safe (const)
 * functions may be called on it; to retrain or rebuild it, clone it and replace it. */
TT_API tt_status tt_model_retain(tt_model* model);
TT_API void tt_model_release(tt_model* model);
/* A deep copy with one reference, that shares nothing with `model` but immutable data (e.g.
 * vocabularies): train it, rebuild its index or quantize it while `model` serves. Thread-safe. */
TT_API tt_status tt_model_clone(const tt_model* model, tt_model** out);

/* A slot holds the model a service currently answers with; threads take it, a reloader replaces
 * it. Internally synchronised: a mutex held only to copy a pointer and count a reference (never
 * during a query or a free), so neither side can starve the other. */
typedef struct tt_model_slot tt_model_slot;
/* A slot holding `model` (which it retains; the caller keeps its own reference), or empty when
 * model is NULL. Its generation is 1 with a model, 0 when empty. */
TT_API tt_status tt_model_slot_create(tt_model* model, tt_model_slot** out);
/* Releases the slot's reference to its model (which lives on while others hold it). */
TT_API void tt_model_slot_free(tt_model_slot* slot);
/* The current model, retained for the caller, who must tt_model_release it when done (typically
 * after each request). `generation` (may be NULL) receives the number of models installed in
 * the slot so far, counting this one: it names the model for logs and caches. An empty slot is
 * TT_ERR_INVALID_ARGUMENT. Thread-safe. */
TT_API tt_status tt_model_slot_acquire(tt_model_slot* slot, tt_model** model, uint64_t* generation);
/* Installs `model` (retained by the slot; NULL empties it) and releases the slot's reference to
 * the previous model, which is freed when the last thread that acquired it releases it.
 * `generation` (may be NULL) receives the new model's generation. Thread-safe. */
TT_API tt_status tt_model_slot_replace(tt_model_slot* slot, tt_model* model, uint64_t* generation);

/* FactorizedTopK accuracies. Fields are only ever appended (struct_size tells a caller's version
 * from the library's): tt_progress holds one by value as its last member, so it grows at its end
 * too. Read accuracies through tt_metrics_at_k rather than by position. */
#define TT_MAX_K 16
typedef struct tt_metrics {
  size_t struct_size;
  size_t count; /* number of k values evaluated */
  uint32_t k[TT_MAX_K];
  double accuracy[TT_MAX_K]; /* accuracy[i] is top-k[i] accuracy */
  uint64_t examples;         /* held-out (query, candidate) pairs evaluated */
  /* The most-popular baseline on the same rows: candidates ranked by their count in the
   * training rows, one list for every query. baseline_accuracy[i] is its top-k[i] accuracy;
   * has_baseline is 0 when the counts are unknown (a model file written without them). */
  int32_t has_baseline;
  double baseline_accuracy[TT_MAX_K];
} tt_metrics;
TT_API void tt_metrics_init(tt_metrics* metrics);
/* The top-k accuracy for one k. TT_ERR_INVALID_ARGUMENT naming k and the k values evaluated
 * when k was not one of them (accuracy is then left alone). */
TT_API tt_status tt_metrics_at_k(const tt_metrics* metrics, uint32_t k, double* accuracy);

typedef struct tt_progress {
  size_t struct_size;
  uint32_t epoch, epochs;  /* 1-based epoch */
  uint32_t batch, batches; /* batch == batches once the epoch is done */
  int32_t epoch_done;      /* 1 when this report closes an epoch */
  double loss;             /* mean per-example loss of the finished epoch (epoch_done only) */
  int32_t has_metrics;     /* 1 if the finished epoch was evaluated */
  tt_metrics metrics;
} tt_progress;

/* Called after every batch and every epoch on the training thread; return non-zero to cancel
 * (tt_model_train then returns TT_ERR_CANCELLED and the model keeps the weights it had). */
typedef int (*tt_progress_fn)(const tt_progress* progress, void* user_data);

/* The largest thread count an option accepts (0 always means all cores). */
#define TT_MAX_THREADS 256

typedef struct tt_train_options {
  size_t struct_size;
  uint32_t epochs;    /* 0: the spec's; else 1 .. 1000000 */
  int32_t eval_every; /* -1: the spec's; 0: only after the last epoch; else every N epochs */
  uint64_t seed;      /* shuffling seed (any value), used if seed_set */
  int32_t seed_set;   /* 0 or 1 */
  int32_t threads;    /* 0: the model's (tt_model_set_threads); else 1 .. TT_MAX_THREADS, kept by the model */
  tt_progress_fn progress;
  void* user_data;
  /* 0 (default): warm start. A trained or loaded model continues from its weights and, when it
   * has them (trained here, or loaded from a file saved with include_optimizer), its optimizer
   * state and shuffling stream; the preprocessing is not refitted, so ids it has not seen map
   * to the out-of-vocabulary row (string_lookup) or their hash bucket (hashing). seed_set
   * starts a new shuffling stream. 1: start over: refit the preprocessing and re-initialise
   * the weights from the spec, as an untrained model always does. */
  int32_t reset;
} tt_train_options;
TT_API void tt_train_options_init(tt_train_options* options);

/* Fits the preprocessing (query features on `interactions`, candidate features on
 * `candidates`, unless the spec says otherwise), splits the interactions as the spec says,
 * trains, evaluates on the held-out rows and builds the candidate index from `candidates`.
 * A trained or loaded model is trained further instead (warm start, see tt_train_options.reset):
 * N epochs, a save with include_optimizer, a load and M more epochs give bit for bit the model
 * of N + M epochs in one run (same data, seed and thread count). `final_metrics` (may be NULL)
 * receives the last evaluation. On failure or cancellation the model keeps what it had.
 * Exclusive access. */
TT_API tt_status tt_model_train(tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                const tt_train_options* options, tt_metrics* final_metrics);

typedef struct tt_eval_options {
  size_t struct_size;
  int32_t distinct_candidates; /* 0 or 1: score each distinct candidate id once; default 0 */
  /* The k values, k_count of them (1 .. TT_MAX_K, each 1 .. 2^31-1); NULL (default): the spec's. */
  const uint32_t* k;
  size_t k_count;
  size_t batch_size; /* queries scored at once; 0 (default): the spec's eval_batch_size; else 1 .. 2^20 */
} tt_eval_options;
TT_API void tt_eval_options_init(tt_eval_options* options);

/* FactorizedTopK of a trained model on (query, candidate) rows of `interactions` against every
 * row of `candidates`, on the model's threads (tt_model_set_threads). NULL options: the
 * defaults. Thread-safe (the model is read only). */
TT_API tt_status tt_model_evaluate_v2(const tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                      const tt_eval_options* options, tt_metrics* out);
/* The same with distinct_candidates as an argument. */
TT_DEPRECATED("use tt_model_evaluate_v2")
TT_API tt_status tt_model_evaluate(const tt_model* model, const tt_table* interactions, const tt_table* candidates,
                                   int32_t distinct_candidates, tt_metrics* out);

/* The threads this model's calls use: queries, evaluation, index and approximate-index builds,
 * and training when tt_train_options.threads is 0. 0: all cores (the default); else
 * 1 .. TT_MAX_THREADS. The library's pools live inside the host's process: see "Threads" in
 * docs/architecture.md for how they meet the host's own. Results depend only on this count.
 * Exclusive access (do not call it while other calls use the model). */
TT_API tt_status tt_model_set_threads(tt_model* model, int32_t threads);
/* The thread count those calls run with now (all cores resolved to their number). */
TT_API tt_status tt_model_threads(const tt_model* model, int32_t* threads);

/* Streaming training from a columnar data file larger than memory (docs/data-format.md,
 * "Streaming training"): the interactions stay in the file and are read a window at a time.
 * Give shuffle_buffer_rows, memory_limit or both. */
typedef struct tt_stream_options {
  size_t struct_size;
  /* Training rows held in memory at most (>= training.batch_size); 0: what memory_limit leaves. */
  uint64_t shuffle_buffer_rows;
  /* > 0: bytes the process's peak resident set stays under, whatever the file's row count: the
   * shuffle buffer is what the fixed part (the process, the catalogue, the held-out rows, the
   * model and its optimizer state, one batch) leaves. Training is refused before the first epoch
   * (TT_ERR_INVALID_ARGUMENT with the figures) when the limit cannot hold the fixed part and one
   * batch, or shuffle_buffer_rows when that is given. 0 (default): no limit. */
  uint64_t memory_limit;
} tt_stream_options;
TT_API void tt_stream_options_init(tt_stream_options* options);
/* Trains a new model (a trained one only with tt_train_options.reset) on the columnar file at
 * `interactions_path` (tt_data_convert, tt_table_write_columnar) with the catalogue `candidates`,
 * as tt_model_train does, except: the preprocessing is fitted by passes over the file; the
 * held-out rows are chosen per row number (data.train_rows must be 0); each epoch reads the
 * file's blocks in a random order through the shuffle buffer. Every candidate id of the file must
 * be in `candidates` (an error names the file and row). Exclusive access. */
TT_API tt_status tt_model_train_streamed(tt_model* model, const char* interactions_path, const tt_table* candidates,
                                         const tt_train_options* options, const tt_stream_options* stream,
                                         tt_metrics* final_metrics);

/* ------------------------------------------------------------------------------------------ */
/* Model files.                                                                                 */

typedef struct tt_save_options {
  size_t struct_size;
  int32_t compression_level; /* zstd level 0 (uncompressed) .. 19; default 3 */
  int32_t include_optimizer; /* 0 or 1: also store optimizer state (a checkpoint); default 0 */
} tt_save_options;
TT_API void tt_save_options_init(tt_save_options* options);

/* Atomic: the file appears complete or not at all (temporary file, fsync, rename). */
TT_API tt_status tt_model_save(const tt_model* model, const char* path, const tt_save_options* options);
/* Serialises into a buffer owned by the caller, released with tt_buffer_free. */
TT_API tt_status tt_model_save_to_buffer(const tt_model* model, const tt_save_options* options, void** data,
                                         size_t* size);
TT_API void tt_buffer_free(void* data);

typedef struct tt_load_options {
  size_t struct_size;
  int32_t
      threads; /* the model's thread count (tt_model_set_threads): 0 (default) all cores, else 1 .. TT_MAX_THREADS */
} tt_load_options;
TT_API void tt_load_options_init(tt_load_options* options);

/* Loads a model file (or a buffer, which is copied). Every size, offset and checksum is
 * verified; a damaged file gives TT_ERR_CORRUPT naming the section. NULL options: defaults. */
TT_API tt_status tt_model_load_v2(const char* path, const tt_load_options* options, tt_model** out);
TT_API tt_status tt_model_load_from_buffer_v2(const void* data, size_t size, const tt_load_options* options,
                                              tt_model** out);
/* The same with the default options. */
TT_DEPRECATED("use tt_model_load_v2")
TT_API tt_status tt_model_load(const char* path, tt_model** out);
TT_DEPRECATED("use tt_model_load_from_buffer_v2")
TT_API tt_status tt_model_load_from_buffer(const void* data, size_t size, tt_model** out);

/* JSON texts owned by the model, valid until it is freed or retrained:
 * the spec, and metadata {format_version, library_version, data_fingerprint, seed, epochs,
 * metrics, parameters, candidates, ...}. */
TT_API tt_status tt_model_spec_json(const tt_model* model, const char** json);
TT_API tt_status tt_model_metadata_json(const tt_model* model, const char** json);

/* ------------------------------------------------------------------------------------------ */
/* Queries.                                                                                     */

TT_API tt_status tt_model_embedding_dim(const tt_model* model, size_t* out);
TT_API tt_status tt_model_num_candidates(const tt_model* model, size_t* out);

/* Candidate `id` (0 .. num_candidates-1) -> its key (the spec's candidate id column, int64 ids
 * in decimal). The string is owned by the model and valid until it is freed or its index is
 * rebuilt. */
TT_API tt_status tt_model_candidate_key(const tt_model* model, int64_t id, const char** key);
/* Key -> the first candidate id with that key, or -1 if none (still TT_OK). */
TT_API tt_status tt_model_candidate_id(const tt_model* model, const char* key, int64_t* id);
/* The index's embeddings of candidates first .. first+count-1 (ids as tt_model_query returns
 * them), row-major, into `out`, a caller buffer of `capacity` floats (>= count *
 * tt_model_embedding_dim). They are the float32 values queries score against (rounded to the
 * index's storage precision). A range beyond the index or a small buffer is
 * TT_ERR_INVALID_ARGUMENT, before anything is written. Thread-safe. */
TT_API tt_status tt_model_candidate_embeddings(const tt_model* model, size_t first, size_t count, float* out,
                                               size_t capacity);

typedef struct tt_query_options {
  size_t struct_size;
  size_t k; /* results per query: 1 .. 2^31-1; default 10 */
  /* Optional per-query exclusion lists (e.g. items already rated): for query i, the
   * exclude_counts[i] candidate ids at exclude[i]. Both NULL: no exclusions. Ids outside
   * 0 .. num_candidates-1 are ignored, in exclusion and allow lists alike. */
  const int64_t* const* exclude;
  const size_t* exclude_counts;
  /* Optional allow-list for all queries: only these candidate ids may be returned.
   * allow_count 0 means no allow-list; to allow nothing, pass one out-of-range id such as -1. */
  const int64_t* allow;
  size_t allow_count;
  /* Slots in each of the caller's `ids` and `scores` arrays. A call whose rows * k exceeds it is
   * refused (TT_ERR_INVALID_ARGUMENT) before anything is written. 0 (the default): not given,
   * the arrays are trusted to hold rows * k, as for callers built before this field existed.
   * It is a field rather than a new parameter of tt_model_query because that would break the
   * ABI; set it as you would tt_model_embed_*'s capacity. */
  size_t capacity;
  /* Approximate search, for models with an approximate index (tt_model_build_ann, `twotower
   * convert --ann`, or trained on 100,000 candidates or more); a model without one answers
   * exactly whatever these say. Approximate when probe > 0, or when 0 < recall < 1: then the
   * search scans the smallest number of partitions whose recall@100 against exact search,
   * measured when the index was built, reached `recall`. Scores are exact float32 scores of the
   * candidates found. Exclusions and the allow-list filter the search itself: a query gets k
   * results whenever k candidates pass them. Defaults: 0 (exact). */
  double recall;  /* 0 .. 1 */
  size_t probe;   /* partitions to scan (search breadth), any value (at most all are scanned); overrides recall */
  size_t rescore; /* shortlist re-scored in float32; 0: max(2k, 32); any value (at most every candidate) */
  /* Keys instead of ids: ids are positions in the index and change when it is rebuilt, keys
   * (tt_model_candidate_key) do not. For query i, the exclude_key_counts[i] keys at
   * exclude_keys[i] are excluded (both NULL: none); with allow_key_count > 0, only candidates
   * whose key is in allow_keys may be returned. A key excludes or allows every candidate that
   * has it (keys need not be unique). They combine with the id lists: a candidate is excluded
   * when its id or its key is listed, and, when both allow lists are given, allowed when either
   * lists it. A key the index does not hold is TT_ERR_INVALID_ARGUMENT naming the key and its
   * place, unless ignore_unknown_keys is 1 (say, for items that left the catalogue); an allow
   * list whose keys are all unknown then allows nothing. */
  const char* const* const* exclude_keys;
  const size_t* exclude_key_counts;
  const char* const* allow_keys;
  size_t allow_key_count;
  int32_t ignore_unknown_keys; /* 0 or 1; default 0 */
} tt_query_options;
TT_API void tt_query_options_init(tt_query_options* options);

/* Top-k candidates for each row of `queries` (which holds the query tower's columns; an unknown
 * id maps to the out-of-vocabulary embedding, as in training). Writes ids[n*k] and scores[n*k]
 * (caller-owned, n = rows of `queries`), best first, ties to the lower id; slots beyond the
 * available candidates hold id -1 and score -INFINITY. `options` NULL: the defaults (k = 10).
 * TT_ERR_INVALID_ARGUMENT, before anything is written, for k outside 1 .. 2^31-1, n * k
 * beyond options->capacity (when given) or beyond what memory can address. Thread-safe. */
TT_API tt_status tt_model_query(const tt_model* model, const tt_table* queries, const tt_query_options* options,
                                int64_t* ids, float* scores);

/* Embeddings into caller buffers of `capacity` floats (>= rows * tt_model_embedding_dim). */
TT_API tt_status tt_model_embed_queries(const tt_model* model, const tt_table* queries, float* out, size_t capacity);
TT_API tt_status tt_model_embed_candidates(const tt_model* model, const tt_table* candidates, float* out,
                                           size_t capacity);

/* Replaces the candidate index with the rows of `catalogue`, embedded by the trained candidate
 * tower: new items are served without retraining. Exclusive access. */
TT_API tt_status tt_model_rebuild_index(tt_model* model, const tt_table* catalogue);

/* The approximate index: k-means partitions of the candidate embeddings; a query scans the
 * best partitions with an int8 copy and re-scores a shortlist in float32 (docs/architecture.md).
 * Saved in the model file as an optional section that older readers skip. */
typedef struct tt_ann_options {
  size_t struct_size;
  uint32_t partitions; /* 0 (default): about 2 sqrt(candidates) */
  uint32_t iterations; /* k-means iterations, 0 .. 1000; default 12 */
  uint64_t seed;       /* k-means seed; default 0 */
  /* Queries (the query tower's columns) the recall calibration measures with, up to 256 rows;
   * NULL (default): a sample of the candidates. */
  const tt_table* calibration_queries;
} tt_ann_options;
TT_API void tt_ann_options_init(tt_ann_options* options);
/* Builds (or rebuilds) the model's approximate index; later index rebuilds keep one. NULL
 * options: defaults. Exclusive access. */
TT_API tt_status tt_model_build_ann(tt_model* model, const tt_ann_options* options);
/* Removes it (index rebuilds then make none). Exclusive access. */
TT_API tt_status tt_model_drop_ann(tt_model* model);
/* Partitions of the approximate index (0: none), and the breadth (tt_query_options.probe) its
 * calibration found for a recall target (0 when there is no index). Either pointer may be NULL. */
TT_API tt_status tt_model_ann_info(const tt_model* model, double recall, size_t* partitions, size_t* probe);

/* ------------------------------------------------------------------------------------------ */
/* Search by vectors: embeddings made elsewhere against a model's index, and a standalone       */
/* vector index (Faiss's IndexFlatIP with ids) built, saved and searched with the same scans.   */

/* tt_model_query with the query embeddings given: `vectors` holds n rows of `dim` float32
 * values, row-major; dim must be tt_model_embedding_dim and every value finite (a NaN or an
 * infinity is TT_ERR_INVALID_ARGUMENT naming its row and column). Options, outputs (candidate
 * ids, best first; -1 / -INFINITY beyond the candidates), exclusion and allow lists (candidate
 * ids) and approximate search are those of tt_model_query. n may be 0. Thread-safe. */
TT_API tt_status tt_model_query_vectors(const tt_model* model, const float* vectors, size_t n, size_t dim,
                                        const tt_query_options* options, int64_t* ids, float* scores);

typedef struct tt_index tt_index;

/* The largest vector dimension an index accepts. */
#define TT_INDEX_MAX_DIM 65536

typedef struct tt_index_options {
  size_t struct_size;
  /* A tt_precision the vectors are stored at (rounded as they are added, so scores are those of
   * the stored values). TT_PRECISION_BF16 and TT_PRECISION_INT8 are also scanned compactly and
   * re-scored in float32, as tt_model_set_search_precision describes; FP16 is stored at half
   * size and scanned as float32. TT_PRECISION_KEEP (the default): FLOAT32 for tt_index_create,
   * the stored precision for tt_index_load (another value converts the loaded index). */
  int32_t precision;
  int32_t threads; /* searches and approximate-index builds: 0 (default) all cores; else 1 .. TT_MAX_THREADS */
} tt_index_options;
TT_API void tt_index_options_init(tt_index_options* options);

/* An empty index of vectors of `dim` (1 .. TT_INDEX_MAX_DIM) float32 values, scored by inner
 * product (normalise the vectors yourself for cosine similarity). NULL options: defaults. */
TT_API tt_status tt_index_create(size_t dim, const tt_index_options* options, tt_index** out);
TT_API void tt_index_free(tt_index* index);

/* Appends n vectors (n x dim float32, row-major, every value finite; dim must be the index's)
 * under `keys` (n int64 values, duplicates allowed, -1 reserved for empty result slots) or,
 * with keys NULL, under their row numbers (tt_index_size() .. + n - 1). Each call re-packs the
 * whole index (and rebuilds an approximate index, calibrated on a sample of the vectors):
 * add in large batches. Exclusive access. */
TT_API tt_status tt_index_add(tt_index* index, const float* vectors, size_t n, size_t dim, const int64_t* keys);

/* Top-k keys and scores for n queries (n x dim float32, row-major, finite): keys[n*k] and
 * scores[n*k], best first, ties to the earlier-added vector, key -1 and score -INFINITY beyond
 * the available vectors. `options` as for tt_model_query (k, capacity, recall / probe /
 * rescore when the index has an approximate index), except that exclusion and allow lists hold
 * keys (keys not in the index are ignored; an allow-list of only such keys allows nothing).
 * Thread-safe. */
TT_API tt_status tt_index_search(const tt_index* index, const float* queries, size_t n, size_t dim,
                                 const tt_query_options* options, int64_t* keys, float* scores);

TT_API tt_status tt_index_size(const tt_index* index, size_t* out);
TT_API tt_status tt_index_dim(const tt_index* index, size_t* out);
/* The precision the vectors are stored at (a tt_precision). */
TT_API tt_status tt_index_precision(const tt_index* index, int32_t* out);

/* The approximate index over the vectors (as tt_model_build_ann; options->calibration_queries
 * must be NULL): calibrated on `calibration` (n x dim queries, up to 256 used) or, when it is
 * NULL, on a sample of the vectors. Exclusive access. */
TT_API tt_status tt_index_build_ann(tt_index* index, const tt_ann_options* options, const float* calibration, size_t n,
                                    size_t dim);
TT_API tt_status tt_index_drop_ann(tt_index* index);
/* As tt_model_ann_info. */
TT_API tt_status tt_index_ann_info(const tt_index* index, double recall, size_t* partitions, size_t* probe);

/* A model file holding only an index section (and the approximate index's section, when there
 * is one): docs/model-format.md. Atomic, as tt_model_save; options: compression_level only.
 * tt_model_load refuses such a file, naming tt_index_load. */
TT_API tt_status tt_index_save(const tt_index* index, const char* path, const tt_save_options* options);
/* Loads an index file, or the candidate index of a model file. A model's keys that are not all
 * int64 in decimal (titles, say) make an index whose keys are the row numbers, which is what
 * tt_model_candidate_key takes. */
TT_API tt_status tt_index_load(const char* path, const tt_index_options* options, tt_index** out);

/* ------------------------------------------------------------------------------------------ */
/* Sharded serving: a catalogue split into S shards, each answering top-k for its slice, and   */
/* an exact merge of their answers (docs/distributed.md, "Sharded serving").                   */

/* The largest shard count. */
#define TT_MAX_SHARDS 65536

/* Shard `index` of `count` holds the catalogue rows [offset, offset + candidates), offset =
 * floor(index * catalogue_size / count). A model that is not a shard reports index 0, count 1,
 * offset 0 and candidates = catalogue_size. */
typedef struct tt_shard_info {
  size_t struct_size;
  uint32_t index;
  uint32_t count;
  uint64_t offset;
  uint64_t candidates;
  uint64_t catalogue_size;
} tt_shard_info;
TT_API void tt_shard_info_init(tt_shard_info* info);

/* Keeps shard `index` (0 .. count-1) of `count` (1 .. TT_MAX_SHARDS, at most the candidates) of
 * the model's candidate index, as `twotower convert --shard index/count` and
 * tt_convert_options.shard_count do; an approximate index is rebuilt over the slice. From then
 * on the model's candidate ids are catalogue rows: tt_model_query and tt_model_query_vectors
 * return ids offset .. offset+candidates-1, and tt_model_candidate_key, tt_model_candidate_id,
 * tt_model_candidate_embeddings and the exclusion and allow lists take and give such ids (ids
 * of other shards are ignored, as out-of-range ids always are). Keys of other shards in
 * exclude_keys / allow_keys are skipped, whatever ignore_unknown_keys says: a shard cannot tell
 * them from unknown keys. tt_model_train and tt_model_rebuild_index refuse a shard. A model
 * that is already a shard is TT_ERR_INVALID_ARGUMENT. Exclusive access. */
TT_API tt_status tt_model_shard(tt_model* model, uint32_t index, uint32_t count);
/* The model's shard (see tt_shard_info). `info` must be initialised with tt_shard_info_init. */
TT_API tt_status tt_model_shard_info(const tt_model* model, tt_shard_info* info);

/* Merges `lists` top-k answers for the same `rows` queries into the top-k over all of them:
 * ids[s] and scores[s] hold rows * k_in entries (as tt_model_query wrote them, with k = k_in),
 * out_ids and out_scores receive rows * k, best first, higher score then lower id, -1 and
 * -INFINITY beyond the entries. Merging the exact answers (k_in >= k) of the S shards of a
 * model to calls of up to 4 query rows gives bit for bit the unsharded model's answer; for
 * larger batches (scored by a GEMM whose rounding depends on the block) the scores agree within
 * float rounding and near-ties may swap. The order within a list does not
 * matter; -1 entries are skipped. TT_ERR_INVALID_ARGUMENT, before anything is written, for a
 * NaN score, an id below -1 or an id twice in one row (shards that overlap), naming the list,
 * row and slot. The outputs must not overlap the inputs. Thread-safe. */
TT_API tt_status tt_topk_merge(const int64_t* const* ids, const float* const* scores, size_t lists, size_t rows,
                               size_t k_in, size_t k, int64_t* out_ids, float* out_scores);

/* ------------------------------------------------------------------------------------------ */
/* Conversion: quantize, strip, upgrade, export, import (docs/convert.md).                     */

/* Storage precisions of the index embeddings and of the weights (embedding tables and dense
 * kernels; biases always stay float32) in a model file. In memory a model always computes in
 * float32 with the values rounded to these precisions, so its answers are those of the file. */
typedef enum tt_precision {
  TT_PRECISION_FLOAT32 = 0,
  TT_PRECISION_BF16 = 1, /* bfloat16, round to nearest even */
  TT_PRECISION_FP16 = 2, /* IEEE binary16; values beyond 65504 are refused */
  TT_PRECISION_INT8 = 3  /* symmetric, one float32 scale per row: max|x| / 127 */
} tt_precision;
#define TT_PRECISION_KEEP (-1)

typedef struct tt_convert_options {
  size_t struct_size;
  int32_t index_precision;   /* a tt_precision, or TT_PRECISION_KEEP (default) */
  int32_t weights_precision; /* a tt_precision, or TT_PRECISION_KEEP (default) */
  int32_t strip;             /* 0 or 1: drop optimizer state and training metadata; default 0 */
  int32_t compression_level; /* zstd level of the output, 0 (uncompressed) .. 19; default 3 */
  int32_t ann;               /* 1: build (or rebuild) the approximate index; -1: drop it; 0 (default): keep */
  uint32_t ann_partitions;   /* with ann = 1: partitions, 0 (default): about 2 sqrt(candidates) */
  /* With shard_count > 0: write shard shard_index (0 .. shard_count-1) of shard_count
   * (1 .. TT_MAX_SHARDS) of the candidate index, as tt_model_shard. Default 0: the whole index. */
  uint32_t shard_index;
  uint32_t shard_count;
} tt_convert_options;
TT_API void tt_convert_options_init(tt_convert_options* options);

/* Reads a model file of any format version this library reads, applies `options` (NULL:
 * defaults) and writes the current format version to `output_path`, atomically: on any failure
 * no output file appears. With default options it is an upgrade. output_path must not be the
 * input file. */
TT_API tt_status tt_model_convert(const char* input_path, const char* output_path, const tt_convert_options* options);

/* The same operations on a model in memory (exclusive access). tt_model_quantize_v2 rounds the
 * index and/or the weights to a precision (TT_PRECISION_KEEP leaves a part as it is); the next
 * save stores them at that precision. NULL options: defaults (a no-op). tt_model_strip drops
 * optimizer state and training metadata. */
typedef struct tt_quantize_options {
  size_t struct_size;
  int32_t index_precision;   /* a tt_precision, or TT_PRECISION_KEEP (default) */
  int32_t weights_precision; /* a tt_precision, or TT_PRECISION_KEEP (default) */
} tt_quantize_options;
TT_API void tt_quantize_options_init(tt_quantize_options* options);
TT_API tt_status tt_model_quantize_v2(tt_model* model, const tt_quantize_options* options);
TT_DEPRECATED("use tt_model_quantize_v2")
TT_API tt_status tt_model_quantize(tt_model* model, int32_t index_precision, int32_t weights_precision);
TT_API tt_status tt_model_strip(tt_model* model);
/* The precisions a save would store (tt_precision values). Either pointer may be NULL. */
TT_API tt_status tt_model_precision(const tt_model* model, int32_t* index_precision, int32_t* weights_precision);

/* The precision tt_model_query scans the index at. TT_PRECISION_BF16 and TT_PRECISION_INT8 keep a
 * compact copy of the index (half or a quarter of float32's bytes) that queries of up to 8 rows
 * scan, then re-score a shortlist in float32: the shortlist holds every candidate within twice
 * a proven error bound of the approximate k-th best, so answers are the float32 top-k (up to
 * float32 rounding ties), about 1.5-4x sooner on large indexes (docs/benchmarks.md). Larger
 * batches always scan float32. TT_SEARCH_PRECISION_AUTO (the default) uses the stored index
 * precision when it is bf16 or int8, else float32. FP16 is refused. Exclusive access. */
#define TT_SEARCH_PRECISION_AUTO (-1)
TT_API tt_status tt_model_set_search_precision(tt_model* model, int32_t precision);
/* The precision queries scan at now (a tt_precision). */
TT_API tt_status tt_model_search_precision(const tt_model* model, int32_t* precision);

/* The mean, over the rows of `queries`, of the share of the top-k candidates that both models
 * return (1.0: the same top-k sets). Both models must index the same candidates in the same
 * order, e.g. a model and its quantized copy. Thread-safe (both models are read only). */
TT_API tt_status tt_model_topk_overlap(const tt_model* a, const tt_model* b, const tt_table* queries, size_t k,
                                       double* out);

typedef struct tt_export_options {
  size_t struct_size;
  const tt_table* queries; /* also export the query embeddings of these rows; default NULL */
  /* The flags below are 0 or 1. */
  int32_t npy;           /* embeddings as NumPy .npy; default 1 */
  int32_t fvecs;         /* embeddings as .fvecs; default 1 */
  int32_t candidates;    /* candidate_embeddings.* and candidate_keys.txt; default 1 */
  int32_t weights;       /* weights.safetensors (float32, names as in the model file); default 1 */
  int32_t preprocessing; /* spec.json, preprocessing.json and vocab/ text files; default 1 */
} tt_export_options;
TT_API void tt_export_options_init(tt_export_options* options);

/* Writes the files into `directory` (created if needed; each file written atomically; nothing
 * is written if the model cannot be exported). Thread-safe (the model is read only). */
TT_API tt_status tt_model_export(const tt_model* model, const char* directory, const tt_export_options* options);

typedef struct tt_import_options {
  size_t struct_size;
  const char* spec_path;          /* NULL: <directory>/spec.json */
  const char* preprocessing_path; /* NULL: <directory>/preprocessing.json when it exists */
  const char* weights_path;       /* .safetensors or .npz; NULL: <directory>/weights.safetensors, else weights.npz */
  /* The index: built from these rows by the imported candidate tower; NULL: read from
   * <directory>/candidate_embeddings.npy (or .fvecs) and candidate_keys.txt. */
  const tt_table* candidates;
  /* With candidates: features that have no state in preprocessing.json are fitted on these
   * tables, as training would. NULL: every feature needs a stored state. */
  const tt_table* interactions;
  int32_t threads; /* for building the index; 0: all cores; else 1 .. TT_MAX_THREADS */
} tt_import_options;
TT_API void tt_import_options_init(tt_import_options* options);

/* A model from a spec, preprocessing state and weights (the layout tt_model_export writes, or
 * files written by other tools: docs/convert.md). Every tensor the spec implies must be present
 * with its shape; errors name the file and the tensor. `directory` may be NULL when every path
 * is given. */
TT_API tt_status tt_model_import(const char* directory, const tt_import_options* options, tt_model** out);

#ifdef __cplusplus
}
#endif

#endif /* TWOTOWER_H */
