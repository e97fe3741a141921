//! twotower: train, save, load and query two-tower retrieval models, over the library's C API
//! (`include/twotower/twotower.h`, linked statically by `twotower-sys`).
//!
#![doc = include_str!("../../README.md")]
mod convert;
mod error;
mod index;
mod json;
mod model;
mod shard;
mod slot;
mod table;
mod train;

use std::ffi::CStr;
use std::sync::OnceLock;

use twotower_sys as sys;

pub use convert::{convert, ConvertOptions, ExportOptions, ImportOptions, Precision, Precisions};
pub use error::{Error, Result, Status};
pub use index::{IndexOptions, VectorIndex};
pub use model::{
    Embeddings, EvalOptions, Hit, LoadOptions, Model, QueryOptions, SaveOptions, SearchPrecision, StreamOptions,
};
pub use shard::{merge_topk, ShardInfo};
pub use slot::{ModelSlot, SharedModel};
pub use table::{convert_data, load_movielens, ColumnInfo, DType, Table, TableBuilder};
pub use train::{Metrics, Progress, TrainOptions};

/// The C ABI version this crate is written for.
pub const ABI_VERSION: u32 = sys::TT_ABI_VERSION;
/// This crate's version (the library version it was written with).
pub const BINDING_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The native library's version, as "major.minor.patch".
pub fn version() -> &'static str {
    // SAFETY: static storage, never NULL.
    unsafe { CStr::from_ptr(sys::tt_version_string()) }.to_str().unwrap_or("?")
}

/// The native library's version as major * 10000 + minor * 100 + patch.
pub fn version_number() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::tt_version() }
}

/// The C ABI version the native library implements.
pub fn abi_version() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::tt_abi_version() }
}

/// The model file format versions the native library reads (it writes the last one).
pub fn model_format_versions() -> std::ops::RangeInclusive<u32> {
    // SAFETY: no arguments, no state.
    unsafe { sys::tt_model_format_min_version()..=sys::tt_model_format_version() }
}

fn check_abi(found: u32, library_version: &str) -> Result<()> {
    if found == ABI_VERSION {
        return Ok(());
    }
    Err(Error::new(
        Status::Unsupported,
        format!(
            "the native twotower library {library_version} implements C ABI version {found}, but the \
             twotower crate {BINDING_VERSION} needs version {ABI_VERSION}: rebuild it against a matching library"
        ),
    ))
}

/// Checked once, at the first constructor call.
pub(crate) fn ensure_abi() -> Result<()> {
    static CHECKED: OnceLock<Result<()>> = OnceLock::new();
    CHECKED.get_or_init(|| check_abi(abi_version(), version())).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_abi_version_is_refused() {
        assert_eq!(check_abi(ABI_VERSION, "0.1.0"), Ok(()));
        let err = check_abi(ABI_VERSION + 1, "9.0.0").unwrap_err();
        assert_eq!(err.status(), Status::Unsupported);
        assert!(err.message().contains(&format!("C ABI version {}", ABI_VERSION + 1)), "{err}");
        assert!(err.message().contains("9.0.0"), "{err}");
    }

    #[test]
    fn the_linked_library_has_this_abi() {
        assert_eq!(abi_version(), ABI_VERSION);
        assert_eq!(ensure_abi(), Ok(()));
        assert_eq!(version(), sys::TT_VERSION_STRING);
        assert!(model_format_versions().contains(&1));
    }
}
