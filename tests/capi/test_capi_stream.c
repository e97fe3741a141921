/* tt_model_train_streamed (issue 17): training from a columnar file through a shuffle buffer or
 * under a memory limit, and its refusals. */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "synthetic.h"

static const char* spec_json =
    "{\"name\": \"streamed\","
    " \"columns\": {\"user_id\": \"string\", \"item_id\": \"string\"},"
    " \"query_tower\": {\"features\": ["
    "   {\"name\": \"user\", \"column\": \"user_id\", \"kind\": \"string_lookup\", \"embedding_dim\": 8}],"
    "  \"layers\": [16]},"
    " \"candidate_tower\": {\"id_column\": \"item_id\", \"features\": ["
    "   {\"name\": \"item\", \"column\": \"item_id\", \"kind\": \"string_lookup\", \"embedding_dim\": 8}],"
    "  \"layers\": [16]},"
    " \"training\": {\"batch_size\": 64, \"epochs\": 4, \"eval_every\": 0, \"seed\": 7},"
    " \"data\": {\"train_rows\": 0, \"test_rows\": 200, \"split_seed\": 1},"
    " \"evaluation\": {\"k\": [1, 5, 10]}}";

int main(void) {
  tt_table *interactions = NULL, *candidates = NULL;
  tt_model* model = NULL;
  tt_train_options train;
  tt_stream_options stream;
  tt_metrics metrics;
  double top10 = 0.0;
  FILE* csv;

  (void)syn_spec_json; /* its data.train_rows is not 0, which streaming needs */
  CHECK(syn_tables(&interactions, &candidates));
  CHECK_OK(tt_table_write_columnar(interactions, "stream.ttc"));
  CHECK_OK(tt_model_create(spec_json, &model));
  tt_train_options_init(&train);
  train.threads = 2;
  tt_stream_options_init(&stream);
  CHECK(stream.struct_size == sizeof stream && stream.shuffle_buffer_rows == 0 && stream.memory_limit == 0);

  /* Neither a buffer nor a limit. */
  CHECK_FAILS(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, NULL), TT_ERR_INVALID_ARGUMENT,
              "set shuffle_buffer_rows, memory_limit or both");
  /* A buffer of 256 rows: trains and learns the groups (each user's group has 6 items of 30). */
  stream.shuffle_buffer_rows = 256;
  tt_metrics_init(&metrics);
  CHECK_OK(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, &metrics));
  CHECK(metrics.count == 3 && metrics.examples == 200);
  CHECK_OK(tt_metrics_at_k(&metrics, 10, &top10));
  CHECK(top10 > 0.3);
  /* A trained model trains anew only with reset. */
  CHECK_FAILS(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, NULL), TT_ERR_INVALID_ARGUMENT,
              "trains a new model");
  train.reset = 1;
  /* A memory limit alone sizes the buffer; a limit too small is refused with the figures. */
  stream.shuffle_buffer_rows = 0;
  stream.memory_limit = (uint64_t)4 << 30;
  CHECK_OK(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, &metrics));
  CHECK(metrics.count == 3);
  stream.memory_limit = (uint64_t)1 << 20;
  CHECK_FAILS(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, NULL), TT_ERR_INVALID_ARGUMENT,
              "the memory limit of 1.0 MiB cannot hold");
  /* Not a columnar file; options of a wrong size; a missing file. */
  csv = fopen("stream.csv", "w");
  CHECK(csv != NULL);
  if (csv) {
    fputs("user_id,item_id\nu1,i1\n", csv);
    fclose(csv);
  }
  stream.memory_limit = (uint64_t)4 << 30;
  CHECK_FAILS(tt_model_train_streamed(model, "stream.csv", candidates, &train, &stream, NULL), TT_ERR_INVALID_ARGUMENT,
              "stream.csv is not a columnar data file");
  stream.struct_size = 1;
  CHECK_FAILS(tt_model_train_streamed(model, "stream.ttc", candidates, &train, &stream, NULL), TT_ERR_INVALID_ARGUMENT,
              "tt_stream_options.struct_size");
  CHECK_FAILS(tt_model_train_streamed(model, NULL, candidates, &train, NULL, NULL), TT_ERR_INVALID_ARGUMENT,
              "interactions_path");
  remove("stream.ttc");
  remove("stream.csv");
  tt_model_free(model);
  tt_table_free(interactions);
  tt_table_free(candidates);
  return finish("test_capi_stream");
}
