//! The hand-written declarations against the C header the library was built from: a small C
//! program (compiled with $CC, else `cc`) prints sizeof/offsetof of every struct field and the
//! header's constants, and each must equal what Rust computes. The *_init functions of the
//! linked library must also report the same struct_size.
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of, MaybeUninit};
use std::path::PathBuf;
use std::process::Command;

use twotower_sys::*;

/// (C expression printed, value Rust computes).
fn expected() -> Vec<(&'static str, usize)> {
    fn size_of_field<S, F>(_: fn(&S) -> &F) -> usize {
        size_of::<F>()
    }
    // Each field's offset and size.
    macro_rules! field {
        ($s:ident, $f:ident) => {
            vec![
                (concat!("offsetof(", stringify!($s), ", ", stringify!($f), ")"), offset_of!($s, $f)),
                (concat!("sizeof(((", stringify!($s), "*)0)->", stringify!($f), ")"), size_of_field(|s: &$s| &s.$f)),
            ]
        };
    }
    macro_rules! size {
        ($s:ident) => {
            vec![(concat!("sizeof(", stringify!($s), ")"), size_of::<$s>())]
        };
    }
    vec![
        vec![("TT_ABI_VERSION", TT_ABI_VERSION as usize)],
        vec![("TT_MAX_K", TT_MAX_K)],
        vec![("TT_VERSION_NUMBER", TT_VERSION_NUMBER as usize)],
        vec![("sizeof(tt_status)", size_of::<tt_status>())],
        vec![("sizeof(tt_dtype)", size_of::<tt_dtype>())],
        vec![("TT_ERR_OUT_OF_MEMORY", TT_ERR_OUT_OF_MEMORY as usize)],
        vec![("TT_ERR_CANCELLED", TT_ERR_CANCELLED as usize)],
        vec![("TT_DTYPE_FLOAT32", TT_DTYPE_FLOAT32 as usize)],
        vec![("sizeof(tt_precision)", size_of::<tt_precision>())],
        vec![("TT_PRECISION_FLOAT32", TT_PRECISION_FLOAT32 as usize)],
        vec![("TT_PRECISION_BF16", TT_PRECISION_BF16 as usize)],
        vec![("TT_PRECISION_FP16", TT_PRECISION_FP16 as usize)],
        vec![("TT_PRECISION_INT8", TT_PRECISION_INT8 as usize)],
        // Negative constants, compared as their value plus one.
        vec![("TT_PRECISION_KEEP + 1", (TT_PRECISION_KEEP + 1) as usize)],
        vec![("TT_SEARCH_PRECISION_AUTO + 1", (TT_SEARCH_PRECISION_AUTO + 1) as usize)],
        size!(tt_metrics),
        field!(tt_metrics, struct_size),
        field!(tt_metrics, count),
        field!(tt_metrics, k),
        field!(tt_metrics, accuracy),
        field!(tt_metrics, examples),
        field!(tt_metrics, has_baseline),
        field!(tt_metrics, baseline_accuracy),
        size!(tt_progress),
        field!(tt_progress, struct_size),
        field!(tt_progress, epoch),
        field!(tt_progress, epochs),
        field!(tt_progress, batch),
        field!(tt_progress, batches),
        field!(tt_progress, epoch_done),
        field!(tt_progress, loss),
        field!(tt_progress, has_metrics),
        field!(tt_progress, metrics),
        size!(tt_train_options),
        field!(tt_train_options, struct_size),
        field!(tt_train_options, epochs),
        field!(tt_train_options, eval_every),
        field!(tt_train_options, seed),
        field!(tt_train_options, seed_set),
        field!(tt_train_options, threads),
        field!(tt_train_options, progress),
        field!(tt_train_options, user_data),
        field!(tt_train_options, reset),
        size!(tt_stream_options),
        field!(tt_stream_options, struct_size),
        field!(tt_stream_options, shuffle_buffer_rows),
        field!(tt_stream_options, memory_limit),
        size!(tt_eval_options),
        field!(tt_eval_options, struct_size),
        field!(tt_eval_options, distinct_candidates),
        field!(tt_eval_options, k),
        field!(tt_eval_options, k_count),
        field!(tt_eval_options, batch_size),
        size!(tt_load_options),
        field!(tt_load_options, struct_size),
        field!(tt_load_options, threads),
        size!(tt_quantize_options),
        field!(tt_quantize_options, struct_size),
        field!(tt_quantize_options, index_precision),
        field!(tt_quantize_options, weights_precision),
        size!(tt_save_options),
        field!(tt_save_options, struct_size),
        field!(tt_save_options, compression_level),
        field!(tt_save_options, include_optimizer),
        size!(tt_query_options),
        field!(tt_query_options, struct_size),
        field!(tt_query_options, k),
        field!(tt_query_options, exclude),
        field!(tt_query_options, exclude_counts),
        field!(tt_query_options, allow),
        field!(tt_query_options, allow_count),
        field!(tt_query_options, capacity),
        field!(tt_query_options, recall),
        field!(tt_query_options, probe),
        field!(tt_query_options, rescore),
        field!(tt_query_options, exclude_keys),
        field!(tt_query_options, exclude_key_counts),
        field!(tt_query_options, allow_keys),
        field!(tt_query_options, allow_key_count),
        field!(tt_query_options, ignore_unknown_keys),
        size!(tt_ann_options),
        field!(tt_ann_options, struct_size),
        field!(tt_ann_options, partitions),
        field!(tt_ann_options, iterations),
        field!(tt_ann_options, seed),
        field!(tt_ann_options, calibration_queries),
        size!(tt_index_options),
        field!(tt_index_options, struct_size),
        field!(tt_index_options, precision),
        field!(tt_index_options, threads),
        vec![("TT_INDEX_MAX_DIM", TT_INDEX_MAX_DIM)],
        size!(tt_convert_options),
        field!(tt_convert_options, struct_size),
        field!(tt_convert_options, index_precision),
        field!(tt_convert_options, weights_precision),
        field!(tt_convert_options, strip),
        field!(tt_convert_options, compression_level),
        field!(tt_convert_options, ann),
        field!(tt_convert_options, ann_partitions),
        field!(tt_convert_options, shard_index),
        field!(tt_convert_options, shard_count),
        size!(tt_shard_info),
        field!(tt_shard_info, struct_size),
        field!(tt_shard_info, index),
        field!(tt_shard_info, count),
        field!(tt_shard_info, offset),
        field!(tt_shard_info, candidates),
        field!(tt_shard_info, catalogue_size),
        vec![("TT_MAX_SHARDS", TT_MAX_SHARDS)],
        size!(tt_export_options),
        field!(tt_export_options, struct_size),
        field!(tt_export_options, queries),
        field!(tt_export_options, npy),
        field!(tt_export_options, fvecs),
        field!(tt_export_options, candidates),
        field!(tt_export_options, weights),
        field!(tt_export_options, preprocessing),
        size!(tt_import_options),
        field!(tt_import_options, struct_size),
        field!(tt_import_options, spec_path),
        field!(tt_import_options, preprocessing_path),
        field!(tt_import_options, weights_path),
        field!(tt_import_options, candidates),
        field!(tt_import_options, interactions),
        field!(tt_import_options, threads),
    ]
    .concat()
}

fn c_values(expressions: &[&str]) -> BTreeMap<String, usize> {
    let include = env!("TWOTOWER_SYS_INCLUDE_DIR");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("twotower-sys-layout");
    std::fs::create_dir_all(&dir).unwrap();
    let mut source =
        String::from("#include <stddef.h>\n#include <stdio.h>\n#include <twotower/twotower.h>\nint main(void) {\n");
    for e in expressions {
        source += &format!("  printf(\"%s=%zu\\n\", \"{e}\", (size_t)({e}));\n");
    }
    source += "  return 0;\n}\n";
    let c_file = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&c_file, source).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-I", include, "-o"])
        .arg(&exe)
        .arg(&c_file)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc} (set CC): {e}"));
    assert!(status.success(), "{cc} failed to compile {}", c_file.display());
    let output = Command::new(&exe).output().expect("run the layout probe");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn struct_layout_matches_the_c_header() {
    let rust = expected();
    let names: Vec<&str> = rust.iter().map(|(n, _)| *n).collect();
    let c = c_values(&names);
    let mismatches: Vec<String> = rust
        .iter()
        .filter(|(name, value)| c.get(*name) != Some(value))
        .map(|(name, value)| format!("{name}: C {:?}, Rust {value}", c.get(*name)))
        .collect();
    assert!(mismatches.is_empty(), "layout differs from the C header:\n{}", mismatches.join("\n"));
}

/// The linked library's own view: each *_init writes sizeof(struct) as the library was compiled.
#[test]
fn init_functions_report_the_rust_struct_size() {
    // Into a zeroed buffer larger than any of the structs (and 8-aligned), so that a Rust
    // declaration smaller than the C struct cannot be overrun.
    fn struct_size_written_by<T>(init: unsafe extern "C" fn(*mut T)) -> usize {
        let mut buffer = MaybeUninit::<[u64; 256]>::zeroed();
        unsafe {
            init(buffer.as_mut_ptr().cast::<T>());
            buffer.assume_init()[0] as usize
        }
    }
    assert_eq!(struct_size_written_by(tt_metrics_init), size_of::<tt_metrics>());
    assert_eq!(struct_size_written_by(tt_train_options_init), size_of::<tt_train_options>());
    assert_eq!(struct_size_written_by(tt_save_options_init), size_of::<tt_save_options>());
    assert_eq!(struct_size_written_by(tt_query_options_init), size_of::<tt_query_options>());
    assert_eq!(struct_size_written_by(tt_convert_options_init), size_of::<tt_convert_options>());
    assert_eq!(struct_size_written_by(tt_ann_options_init), size_of::<tt_ann_options>());
    assert_eq!(struct_size_written_by(tt_index_options_init), size_of::<tt_index_options>());
    assert_eq!(struct_size_written_by(tt_export_options_init), size_of::<tt_export_options>());
    assert_eq!(struct_size_written_by(tt_import_options_init), size_of::<tt_import_options>());
    assert_eq!(struct_size_written_by(tt_eval_options_init), size_of::<tt_eval_options>());
    assert_eq!(struct_size_written_by(tt_stream_options_init), size_of::<tt_stream_options>());
    assert_eq!(struct_size_written_by(tt_load_options_init), size_of::<tt_load_options>());
    assert_eq!(struct_size_written_by(tt_quantize_options_init), size_of::<tt_quantize_options>());
    assert_eq!(struct_size_written_by(tt_shard_info_init), size_of::<tt_shard_info>());
}

#[test]
fn library_reports_the_declared_versions() {
    unsafe {
        assert_eq!(tt_abi_version(), TT_ABI_VERSION);
        assert_eq!(tt_version(), TT_VERSION_NUMBER);
        let s = std::ffi::CStr::from_ptr(tt_version_string()).to_str().unwrap();
        assert_eq!(s, TT_VERSION_STRING);
    }
}
