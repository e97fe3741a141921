//! twotower: train, save, load and query two-tower retrieval models, over the library's C API
//! (`include/twotower/twotower.h`, linked statically by `twotower-sys`).
//!
//! ```no_run
//! use twotower::{load_movielens, Model, Table, TrainOptions};
//!
//! # fn main() -> Result<(), twotower::Error> {
//! let (ratings, movies) = load_movielens(Some("../shared/data/ml-100k".as_ref()))?;
//! let mut model = Model::from_spec_file("samples/movielens/deep-32.json")?;
//! let metrics = model.train(&ratings, &movies, TrainOptions::new().epochs(2))?;
//! println!("top-100 accuracy {:?}", metrics.accuracy(100));
//!
//! let query = Table::builder().strings("user_id", &["42"]).int64("timestamp", &[879024327]).build()?;
//! for hit in &model.query(&query, 10)?[0] {
//!     println!("{:7.3} {}", hit.score, model.candidate_key(hit.id)?);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Every fallible call returns [`Result`]; an [`Error`] carries the C status and the library's
//! message. Handles free themselves on drop. [`Model`] is `Send + Sync` (queries from many
//! threads at once; training needs `&mut`); [`Table`] is `Send + Sync` too, because all its
//! `&self` uses only read it (see each type's documentation for the reasoning).
//!
//! The first constructor called checks that the linked library implements the C ABI version
//! this crate was written for ([`ABI_VERSION`]) and fails with [`Status::Unsupported`] if not.
mod error;
mod json;
mod model;
mod table;
mod train;

use std::ffi::CStr;
use std::sync::OnceLock;

use twotower_sys as sys;

pub use error::{Error, Result, Status};
pub use model::{Embeddings, Hit, Model, QueryOptions, SaveOptions};
pub use table::{load_movielens, DType, Table, TableBuilder};
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
