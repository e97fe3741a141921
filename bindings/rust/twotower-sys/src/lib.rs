//! Raw FFI declarations of twotower's C API, `include/twotower/twotower.h`, written by hand.
//!
//! Everything here is `unsafe` and mirrors the header one to one; the contracts (ownership,
//! lifetimes, threads, errors) are the header's. Use the `twotower` crate for a safe API.
//!
//! The build script links the static library `libtwotower.a` and its dependencies; see
//! `build.rs` for where it finds them (`TWOTOWER_BUILD_DIR`, `TWOTOWER_PREFIX`, or a CMake
//! build of this repository). `tests/layout.rs` checks every struct's size and field offsets
//! against the C header.
#![allow(non_camel_case_types)]
#![no_std]

use core::ffi::{c_char, c_int, c_void};

/// The header version these declarations were written from.
pub const TT_VERSION_MAJOR: u32 = 0;
pub const TT_VERSION_MINOR: u32 = 1;
pub const TT_VERSION_PATCH: u32 = 0;
pub const TT_VERSION_STRING: &str = "0.1.0";
pub const TT_VERSION_NUMBER: u32 = TT_VERSION_MAJOR * 10000 + TT_VERSION_MINOR * 100 + TT_VERSION_PATCH;
/// The C ABI version these declarations match; compare with `tt_abi_version()`.
pub const TT_ABI_VERSION: u32 = 1;
pub const TT_MAX_K: usize = 16;

/// `enum tt_status`. Declared as a plain integer (not a Rust enum) so that a value this header
/// does not know is not undefined behaviour.
pub type tt_status = c_int;
pub const TT_OK: tt_status = 0;
pub const TT_ERR_INVALID_ARGUMENT: tt_status = 1;
pub const TT_ERR_IO: tt_status = 2;
pub const TT_ERR_PARSE: tt_status = 3;
pub const TT_ERR_CORRUPT: tt_status = 4;
pub const TT_ERR_UNSUPPORTED: tt_status = 5;
pub const TT_ERR_CANCELLED: tt_status = 6;
pub const TT_ERR_INTERNAL: tt_status = 7;
pub const TT_ERR_OUT_OF_MEMORY: tt_status = 8;

/// `enum tt_dtype`.
pub type tt_dtype = c_int;
pub const TT_DTYPE_STRING: tt_dtype = 0;
pub const TT_DTYPE_INT64: tt_dtype = 1;
pub const TT_DTYPE_FLOAT32: tt_dtype = 2;

/// Opaque table handle.
#[repr(C)]
pub struct tt_table {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// Opaque model handle.
#[repr(C)]
pub struct tt_model {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

#[repr(C)]
pub struct tt_model_slot {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_metrics {
    pub struct_size: usize,
    pub count: usize,
    pub k: [u32; TT_MAX_K],
    pub accuracy: [f64; TT_MAX_K],
    pub examples: u64,
    pub has_baseline: i32,
    pub baseline_accuracy: [f64; TT_MAX_K],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_progress {
    pub struct_size: usize,
    pub epoch: u32,
    pub epochs: u32,
    pub batch: u32,
    pub batches: u32,
    pub epoch_done: i32,
    pub loss: f64,
    pub has_metrics: i32,
    pub metrics: tt_metrics,
}

pub type tt_progress_fn = Option<unsafe extern "C" fn(progress: *const tt_progress, user_data: *mut c_void) -> c_int>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_train_options {
    pub struct_size: usize,
    pub epochs: u32,
    pub eval_every: i32,
    pub seed: u64,
    pub seed_set: i32,
    pub threads: i32,
    pub progress: tt_progress_fn,
    pub user_data: *mut c_void,
    pub reset: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_stream_options {
    pub struct_size: usize,
    pub shuffle_buffer_rows: u64,
    pub memory_limit: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_eval_options {
    pub struct_size: usize,
    pub distinct_candidates: i32,
    pub k: *const u32,
    pub k_count: usize,
    pub batch_size: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_load_options {
    pub struct_size: usize,
    pub threads: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_quantize_options {
    pub struct_size: usize,
    pub index_precision: i32,
    pub weights_precision: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_save_options {
    pub struct_size: usize,
    pub compression_level: i32,
    pub include_optimizer: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_query_options {
    pub struct_size: usize,
    pub k: usize,
    pub exclude: *const *const i64,
    pub exclude_counts: *const usize,
    pub allow: *const i64,
    pub allow_count: usize,
    pub capacity: usize,
    pub recall: f64,
    pub probe: usize,
    pub rescore: usize,
    pub exclude_keys: *const *const *const c_char,
    pub exclude_key_counts: *const usize,
    pub allow_keys: *const *const c_char,
    pub allow_key_count: usize,
    pub ignore_unknown_keys: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_ann_options {
    pub struct_size: usize,
    pub partitions: u32,
    pub iterations: u32,
    pub seed: u64,
    pub calibration_queries: *const tt_table,
}

/// Opaque vector index handle.
#[repr(C)]
pub struct tt_index {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

pub const TT_INDEX_MAX_DIM: usize = 65536;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_index_options {
    pub struct_size: usize,
    pub precision: i32,
    pub threads: i32,
}

/// `enum tt_precision`: storage precisions of the index and the weights in a model file.
pub type tt_precision = c_int;
pub const TT_PRECISION_FLOAT32: tt_precision = 0;
pub const TT_PRECISION_BF16: tt_precision = 1;
pub const TT_PRECISION_FP16: tt_precision = 2;
pub const TT_PRECISION_INT8: tt_precision = 3;
/// Leaves a part at the precision it has (`tt_convert_options`, `tt_model_quantize`).
pub const TT_PRECISION_KEEP: i32 = -1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_convert_options {
    pub struct_size: usize,
    pub index_precision: i32,
    pub weights_precision: i32,
    pub strip: i32,
    pub compression_level: i32,
    pub ann: i32,
    pub ann_partitions: u32,
    pub shard_index: u32,
    pub shard_count: u32,
}

/// The largest shard count (`tt_model_shard`).
pub const TT_MAX_SHARDS: usize = 65536;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_shard_info {
    pub struct_size: usize,
    pub index: u32,
    pub count: u32,
    pub offset: u64,
    pub candidates: u64,
    pub catalogue_size: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_export_options {
    pub struct_size: usize,
    pub queries: *const tt_table,
    pub npy: i32,
    pub fvecs: i32,
    pub candidates: i32,
    pub weights: i32,
    pub preprocessing: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tt_import_options {
    pub struct_size: usize,
    pub spec_path: *const c_char,
    pub preprocessing_path: *const c_char,
    pub weights_path: *const c_char,
    pub candidates: *const tt_table,
    pub interactions: *const tt_table,
    pub threads: i32,
}

extern "C" {
    pub fn tt_last_error() -> *const c_char;
    pub fn tt_status_name(status: tt_status) -> *const c_char;

    pub fn tt_version() -> u32;
    pub fn tt_version_string() -> *const c_char;
    pub fn tt_abi_version() -> u32;
    pub fn tt_model_format_version() -> u32;
    pub fn tt_model_format_min_version() -> u32;

    pub fn tt_table_create(out: *mut *mut tt_table) -> tt_status;
    pub fn tt_table_free(table: *mut tt_table);
    pub fn tt_table_append_strings(
        table: *mut tt_table,
        column: *const c_char,
        values: *const *const c_char,
        n: usize,
    ) -> tt_status;
    pub fn tt_table_append_int64(
        table: *mut tt_table,
        column: *const c_char,
        values: *const i64,
        n: usize,
    ) -> tt_status;
    pub fn tt_table_append_float32(
        table: *mut tt_table,
        column: *const c_char,
        values: *const f32,
        n: usize,
    ) -> tt_status;
    pub fn tt_table_num_rows(table: *const tt_table, out: *mut usize) -> tt_status;
    pub fn tt_table_validate(table: *const tt_table) -> tt_status;
    pub fn tt_table_num_columns(table: *const tt_table, out: *mut usize) -> tt_status;
    pub fn tt_table_column_info(
        table: *const tt_table,
        index: usize,
        name: *mut *const c_char,
        dtype: *mut tt_dtype,
        length: *mut usize,
    ) -> tt_status;
    pub fn tt_table_get_strings(
        table: *const tt_table,
        column: *const c_char,
        first_row: usize,
        count: usize,
        out: *mut *const c_char,
    ) -> tt_status;
    pub fn tt_table_get_int64(
        table: *const tt_table,
        column: *const c_char,
        first_row: usize,
        count: usize,
        out: *mut i64,
    ) -> tt_status;
    pub fn tt_table_get_float32(
        table: *const tt_table,
        column: *const c_char,
        first_row: usize,
        count: usize,
        out: *mut f32,
    ) -> tt_status;
    pub fn tt_table_read_file(
        path: *const c_char,
        columns: *const *const c_char,
        types: *const tt_dtype,
        num_columns: usize,
        out: *mut *mut tt_table,
    ) -> tt_status;
    pub fn tt_table_write_columnar(table: *const tt_table, path: *const c_char) -> tt_status;
    pub fn tt_data_convert(
        input: *const c_char,
        output: *const c_char,
        columns: *const *const c_char,
        types: *const tt_dtype,
        num_columns: usize,
    ) -> tt_status;
    pub fn tt_load_movielens(
        dir: *const c_char,
        ratings: *mut *mut tt_table,
        catalogue: *mut *mut tt_table,
    ) -> tt_status;

    pub fn tt_model_create(spec_json: *const c_char, out: *mut *mut tt_model) -> tt_status;
    pub fn tt_model_create_from_file(spec_path: *const c_char, out: *mut *mut tt_model) -> tt_status;
    pub fn tt_model_free(model: *mut tt_model);
    pub fn tt_model_retain(model: *mut tt_model) -> tt_status;
    pub fn tt_model_release(model: *mut tt_model);
    pub fn tt_model_clone(model: *const tt_model, out: *mut *mut tt_model) -> tt_status;
    pub fn tt_model_slot_create(model: *mut tt_model, out: *mut *mut tt_model_slot) -> tt_status;
    pub fn tt_model_slot_free(slot: *mut tt_model_slot);
    pub fn tt_model_slot_acquire(
        slot: *mut tt_model_slot,
        model: *mut *mut tt_model,
        generation: *mut u64,
    ) -> tt_status;
    pub fn tt_model_slot_replace(slot: *mut tt_model_slot, model: *mut tt_model, generation: *mut u64) -> tt_status;

    pub fn tt_metrics_init(metrics: *mut tt_metrics);
    pub fn tt_metrics_at_k(metrics: *const tt_metrics, k: u32, accuracy: *mut f64) -> tt_status;
    pub fn tt_train_options_init(options: *mut tt_train_options);
    pub fn tt_model_train(
        model: *mut tt_model,
        interactions: *const tt_table,
        candidates: *const tt_table,
        options: *const tt_train_options,
        final_metrics: *mut tt_metrics,
    ) -> tt_status;
    pub fn tt_model_evaluate(
        model: *const tt_model,
        interactions: *const tt_table,
        candidates: *const tt_table,
        distinct_candidates: i32,
        out: *mut tt_metrics,
    ) -> tt_status;
    pub fn tt_stream_options_init(options: *mut tt_stream_options);
    pub fn tt_model_train_streamed(
        model: *mut tt_model,
        interactions_path: *const c_char,
        candidates: *const tt_table,
        options: *const tt_train_options,
        stream: *const tt_stream_options,
        final_metrics: *mut tt_metrics,
    ) -> tt_status;
    pub fn tt_eval_options_init(options: *mut tt_eval_options);
    pub fn tt_model_evaluate_v2(
        model: *const tt_model,
        interactions: *const tt_table,
        candidates: *const tt_table,
        options: *const tt_eval_options,
        out: *mut tt_metrics,
    ) -> tt_status;
    pub fn tt_model_set_threads(model: *mut tt_model, threads: i32) -> tt_status;
    pub fn tt_model_threads(model: *const tt_model, threads: *mut i32) -> tt_status;

    pub fn tt_save_options_init(options: *mut tt_save_options);
    pub fn tt_model_save(model: *const tt_model, path: *const c_char, options: *const tt_save_options) -> tt_status;
    pub fn tt_model_save_to_buffer(
        model: *const tt_model,
        options: *const tt_save_options,
        data: *mut *mut c_void,
        size: *mut usize,
    ) -> tt_status;
    pub fn tt_buffer_free(data: *mut c_void);
    pub fn tt_model_load(path: *const c_char, out: *mut *mut tt_model) -> tt_status;
    pub fn tt_model_load_from_buffer(data: *const c_void, size: usize, out: *mut *mut tt_model) -> tt_status;
    pub fn tt_load_options_init(options: *mut tt_load_options);
    pub fn tt_model_load_v2(path: *const c_char, options: *const tt_load_options, out: *mut *mut tt_model)
        -> tt_status;
    pub fn tt_model_load_from_buffer_v2(
        data: *const c_void,
        size: usize,
        options: *const tt_load_options,
        out: *mut *mut tt_model,
    ) -> tt_status;
    pub fn tt_model_spec_json(model: *const tt_model, json: *mut *const c_char) -> tt_status;
    pub fn tt_model_metadata_json(model: *const tt_model, json: *mut *const c_char) -> tt_status;

    pub fn tt_model_embedding_dim(model: *const tt_model, out: *mut usize) -> tt_status;
    pub fn tt_model_num_candidates(model: *const tt_model, out: *mut usize) -> tt_status;
    pub fn tt_model_candidate_key(model: *const tt_model, id: i64, key: *mut *const c_char) -> tt_status;
    pub fn tt_model_candidate_id(model: *const tt_model, key: *const c_char, id: *mut i64) -> tt_status;
    pub fn tt_model_candidate_embeddings(
        model: *const tt_model,
        first: usize,
        count: usize,
        out: *mut f32,
        capacity: usize,
    ) -> tt_status;

    pub fn tt_query_options_init(options: *mut tt_query_options);
    pub fn tt_model_query(
        model: *const tt_model,
        queries: *const tt_table,
        options: *const tt_query_options,
        ids: *mut i64,
        scores: *mut f32,
    ) -> tt_status;
    pub fn tt_model_embed_queries(
        model: *const tt_model,
        queries: *const tt_table,
        out: *mut f32,
        capacity: usize,
    ) -> tt_status;
    pub fn tt_model_embed_candidates(
        model: *const tt_model,
        candidates: *const tt_table,
        out: *mut f32,
        capacity: usize,
    ) -> tt_status;
    pub fn tt_model_rebuild_index(model: *mut tt_model, catalogue: *const tt_table) -> tt_status;
    pub fn tt_model_set_search_precision(model: *mut tt_model, precision: i32) -> tt_status;
    pub fn tt_model_search_precision(model: *const tt_model, precision: *mut i32) -> tt_status;

    pub fn tt_ann_options_init(options: *mut tt_ann_options);
    pub fn tt_model_build_ann(model: *mut tt_model, options: *const tt_ann_options) -> tt_status;
    pub fn tt_model_drop_ann(model: *mut tt_model) -> tt_status;
    pub fn tt_model_ann_info(
        model: *const tt_model,
        recall: f64,
        partitions: *mut usize,
        probe: *mut usize,
    ) -> tt_status;

    pub fn tt_model_query_vectors(
        model: *const tt_model,
        vectors: *const f32,
        n: usize,
        dim: usize,
        options: *const tt_query_options,
        ids: *mut i64,
        scores: *mut f32,
    ) -> tt_status;
    pub fn tt_index_options_init(options: *mut tt_index_options);
    pub fn tt_index_create(dim: usize, options: *const tt_index_options, out: *mut *mut tt_index) -> tt_status;
    pub fn tt_index_free(index: *mut tt_index);
    pub fn tt_index_add(index: *mut tt_index, vectors: *const f32, n: usize, dim: usize, keys: *const i64)
        -> tt_status;
    pub fn tt_index_search(
        index: *const tt_index,
        queries: *const f32,
        n: usize,
        dim: usize,
        options: *const tt_query_options,
        keys: *mut i64,
        scores: *mut f32,
    ) -> tt_status;
    pub fn tt_index_size(index: *const tt_index, out: *mut usize) -> tt_status;
    pub fn tt_index_dim(index: *const tt_index, out: *mut usize) -> tt_status;
    pub fn tt_index_precision(index: *const tt_index, out: *mut i32) -> tt_status;
    pub fn tt_index_build_ann(
        index: *mut tt_index,
        options: *const tt_ann_options,
        calibration: *const f32,
        n: usize,
        dim: usize,
    ) -> tt_status;
    pub fn tt_index_drop_ann(index: *mut tt_index) -> tt_status;
    pub fn tt_index_ann_info(
        index: *const tt_index,
        recall: f64,
        partitions: *mut usize,
        probe: *mut usize,
    ) -> tt_status;
    pub fn tt_index_save(index: *const tt_index, path: *const c_char, options: *const tt_save_options) -> tt_status;
    pub fn tt_index_load(path: *const c_char, options: *const tt_index_options, out: *mut *mut tt_index) -> tt_status;

    pub fn tt_shard_info_init(info: *mut tt_shard_info);
    pub fn tt_model_shard(model: *mut tt_model, index: u32, count: u32) -> tt_status;
    pub fn tt_model_shard_info(model: *const tt_model, info: *mut tt_shard_info) -> tt_status;
    pub fn tt_topk_merge(
        ids: *const *const i64,
        scores: *const *const f32,
        lists: usize,
        rows: usize,
        k_in: usize,
        k: usize,
        out_ids: *mut i64,
        out_scores: *mut f32,
    ) -> tt_status;
    pub fn tt_convert_options_init(options: *mut tt_convert_options);
    pub fn tt_model_convert(
        input_path: *const c_char,
        output_path: *const c_char,
        options: *const tt_convert_options,
    ) -> tt_status;
    pub fn tt_model_quantize(model: *mut tt_model, index_precision: i32, weights_precision: i32) -> tt_status;
    pub fn tt_quantize_options_init(options: *mut tt_quantize_options);
    pub fn tt_model_quantize_v2(model: *mut tt_model, options: *const tt_quantize_options) -> tt_status;
    pub fn tt_model_strip(model: *mut tt_model) -> tt_status;
    pub fn tt_model_precision(
        model: *const tt_model,
        index_precision: *mut i32,
        weights_precision: *mut i32,
    ) -> tt_status;
    pub fn tt_model_topk_overlap(
        a: *const tt_model,
        b: *const tt_model,
        queries: *const tt_table,
        k: usize,
        out: *mut f64,
    ) -> tt_status;
    pub fn tt_export_options_init(options: *mut tt_export_options);
    pub fn tt_model_export(
        model: *const tt_model,
        directory: *const c_char,
        options: *const tt_export_options,
    ) -> tt_status;
    pub fn tt_import_options_init(options: *mut tt_import_options);
    pub fn tt_model_import(
        directory: *const c_char,
        options: *const tt_import_options,
        out: *mut *mut tt_model,
    ) -> tt_status;
}

/// `TT_SEARCH_PRECISION_AUTO`: follow the stored index precision.
pub const TT_SEARCH_PRECISION_AUTO: i32 = -1;
