//! Conversion (docs/convert.md): [`convert`] a model file; quantize, strip, compare, export
//! and import models.
use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr;
use std::str::FromStr;

use twotower_sys as sys;

use crate::error::{c_path, check, Error, Result, Status};
use crate::model::Model;
use crate::table::Table;

/// A storage precision of a model's index or weights (the C API's `tt_precision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 4 bytes a value, as trained.
    Float32,
    /// bfloat16, rounded to nearest even.
    Bf16,
    /// IEEE binary16; values beyond ±65504 are refused.
    Fp16,
    /// Symmetric, one float32 scale per row: max|x| / 127.
    Int8,
}

impl Precision {
    pub(crate) fn code(self) -> i32 {
        match self {
            Precision::Float32 => sys::TT_PRECISION_FLOAT32,
            Precision::Bf16 => sys::TT_PRECISION_BF16,
            Precision::Fp16 => sys::TT_PRECISION_FP16,
            Precision::Int8 => sys::TT_PRECISION_INT8,
        }
    }

    pub(crate) fn from_code(code: i32) -> Result<Precision> {
        match code {
            sys::TT_PRECISION_FLOAT32 => Ok(Precision::Float32),
            sys::TT_PRECISION_BF16 => Ok(Precision::Bf16),
            sys::TT_PRECISION_FP16 => Ok(Precision::Fp16),
            sys::TT_PRECISION_INT8 => Ok(Precision::Int8),
            _ => Err(Error::new(
                Status::Internal,
                format!("the library reported precision {code}, unknown to this crate"),
            )),
        }
    }

    /// `TT_PRECISION_KEEP` for `None`.
    pub(crate) fn code_or_keep(precision: Option<Precision>) -> i32 {
        precision.map_or(sys::TT_PRECISION_KEEP, Precision::code)
    }

    /// "float32", "bf16", "fp16" or "int8".
    pub fn name(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
            Precision::Int8 => "int8",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses "float32" (or "f32", as `twotower convert` spells it), "bf16", "fp16" or "int8".
impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "float32" | "f32" => Ok(Precision::Float32),
            "bf16" => Ok(Precision::Bf16),
            "fp16" => Ok(Precision::Fp16),
            "int8" => Ok(Precision::Int8),
            _ => Err(Error::new(
                Status::InvalidArgument,
                format!("unknown precision {s:?}; expected float32, bf16, fp16 or int8"),
            )),
        }
    }
}

/// What [`Model::precision`] reports: the precisions a save would store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Precisions {
    pub index: Precision,
    pub weights: Precision,
}

/// Options of [`convert`]. The default is an upgrade: precisions kept, nothing stripped, zstd
/// level 3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvertOptions {
    /// The candidate index; `None` keeps the file's.
    pub index_precision: Option<Precision>,
    /// Embedding tables and dense kernels (biases stay float32); `None` keeps the file's.
    pub weights_precision: Option<Precision>,
    /// Drop the optimizer state and the training metadata.
    pub strip: bool,
    /// zstd level of the output, 0 (uncompressed) ..= 19.
    pub compression_level: i32,
    /// The approximate index: `Some(true)` builds (or rebuilds) it, `Some(false)` drops it,
    /// `None` keeps what the file has.
    pub ann: Option<bool>,
    /// Partitions when building it; 0: about 2 sqrt(candidates).
    pub ann_partitions: u32,
    /// `Some((i, count))` writes shard i of `count` of the candidate index, as
    /// [`Model::shard`](crate::Model::shard) does (sharded serving, docs/distributed.md).
    pub shard: Option<(u32, u32)>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            index_precision: None,
            weights_precision: None,
            strip: false,
            compression_level: 3,
            ann: None,
            ann_partitions: 0,
            shard: None,
        }
    }
}

/// Initialised C options (struct_size and defaults), as the header asks.
fn init<T>(f: unsafe extern "C" fn(*mut T)) -> T {
    let mut raw = std::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: a valid, writable struct, fully written by the *_init function.
    unsafe {
        f(raw.as_mut_ptr());
        raw.assume_init()
    }
}

/// Reads a model file of any format version this library reads, applies `options` and
/// writes the current format version to `output`, atomically: on any failure no output file
/// appears. `output` must not be the input file. What `twotower convert` does.
pub fn convert(input: impl AsRef<Path>, output: impl AsRef<Path>, options: &ConvertOptions) -> Result<()> {
    crate::ensure_abi()?;
    let input = c_path(input.as_ref())?;
    let output = c_path(output.as_ref())?;
    let mut raw = init(sys::tt_convert_options_init);
    raw.index_precision = Precision::code_or_keep(options.index_precision);
    raw.weights_precision = Precision::code_or_keep(options.weights_precision);
    raw.strip = i32::from(options.strip);
    raw.compression_level = options.compression_level;
    raw.ann = match options.ann {
        None => 0,
        Some(true) => 1,
        Some(false) => -1,
    };
    raw.ann_partitions = options.ann_partitions;
    if let Some((index, count)) = options.shard {
        raw.shard_index = index;
        raw.shard_count = count;
    }
    // SAFETY: valid strings and options.
    check(unsafe { sys::tt_model_convert(input.as_ptr(), output.as_ptr(), &raw) })
}

/// Options of [`Model::export`]: every file by default.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions<'a> {
    /// Also write query_embeddings.npy/.fvecs, one row per row of this table.
    pub queries: Option<&'a Table>,
    /// Embeddings as NumPy .npy.
    pub npy: bool,
    /// Embeddings as .fvecs.
    pub fvecs: bool,
    /// candidate_embeddings.* and candidate_keys.txt.
    pub candidates: bool,
    /// weights.safetensors.
    pub weights: bool,
    /// spec.json, preprocessing.json and vocab/.
    pub preprocessing: bool,
}

impl Default for ExportOptions<'_> {
    fn default() -> Self {
        ExportOptions { queries: None, npy: true, fvecs: true, candidates: true, weights: true, preprocessing: true }
    }
}

/// Options of [`Model::import`]: file paths default to those in the directory.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions<'a> {
    /// `None`: `<directory>/spec.json`.
    pub spec_path: Option<PathBuf>,
    /// `None`: `<directory>/preprocessing.json` when it exists.
    pub preprocessing_path: Option<PathBuf>,
    /// .safetensors or .npz; `None`: `<directory>/weights.safetensors`, else `weights.npz`.
    pub weights_path: Option<PathBuf>,
    /// Build the index from these rows with the imported candidate tower; `None`: read
    /// candidate_embeddings.npy (or .fvecs) and candidate_keys.txt.
    pub candidates: Option<&'a Table>,
    /// With `candidates`: fit the features that have no stored state on these rows.
    pub interactions: Option<&'a Table>,
    /// Threads for building the index; 0: all cores.
    pub threads: i32,
}

fn optional_path(path: Option<&Path>) -> Result<Option<CString>> {
    path.map(c_path).transpose()
}

fn ptr_or_null(s: &Option<CString>) -> *const std::ffi::c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

fn table_or_null(t: Option<&Table>) -> *const sys::tt_table {
    t.map_or(ptr::null(), Table::as_ptr)
}

impl Model {
    /// Rounds the candidate index and/or the weights to a precision (`None` leaves a part as
    /// it is). The model then answers as a file saved at that precision would, and a save
    /// stores it so. Needs the model exclusively (`&mut self`).
    pub fn quantize(&mut self, index: Option<Precision>, weights: Option<Precision>) -> Result<()> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_quantize_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the *_init function.
        let mut raw = unsafe {
            sys::tt_quantize_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.index_precision = Precision::code_or_keep(index);
        raw.weights_precision = Precision::code_or_keep(weights);
        // SAFETY: a valid handle and options; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_quantize_v2(self.as_mut_ptr(), &raw) })
    }

    /// Drops the optimizer state and the training metadata; the answers do not change. Needs
    /// the model exclusively (`&mut self`).
    pub fn strip(&mut self) -> Result<()> {
        // SAFETY: a valid handle; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_strip(self.as_mut_ptr()) })
    }

    /// The precisions a save would store the index and the weights at.
    pub fn precision(&self) -> Result<Precisions> {
        let (mut index, mut weights) = (-1i32, -1i32);
        // SAFETY: a valid handle and out-pointers.
        check(unsafe { sys::tt_model_precision(self.ptr(), &mut index, &mut weights) })?;
        Ok(Precisions { index: Precision::from_code(index)?, weights: Precision::from_code(weights)? })
    }

    /// The mean, over the rows of `queries`, of the share of the top-`k` candidates this model
    /// and `other` both return (1.0: the same sets). Both must index the same candidates in
    /// the same order, e.g. a model and its quantized copy.
    pub fn topk_overlap(&self, other: &Model, queries: &Table, k: usize) -> Result<f64> {
        let mut out = 0f64;
        // SAFETY: valid handles (both models are only read) and out-pointer.
        check(unsafe { sys::tt_model_topk_overlap(self.ptr(), other.ptr(), queries.as_ptr(), k, &mut out) })?;
        Ok(out)
    }

    /// Writes the model into `directory` (created if needed) as files NumPy, Faiss and
    /// PyTorch read: candidate_embeddings.npy/.fvecs, candidate_keys.txt,
    /// weights.safetensors, spec.json, preprocessing.json, vocab/ (docs/convert.md).
    pub fn export(&self, directory: impl AsRef<Path>, options: &ExportOptions<'_>) -> Result<()> {
        let directory = c_path(directory.as_ref())?;
        let mut raw = init(sys::tt_export_options_init);
        raw.queries = table_or_null(options.queries);
        raw.npy = i32::from(options.npy);
        raw.fvecs = i32::from(options.fvecs);
        raw.candidates = i32::from(options.candidates);
        raw.weights = i32::from(options.weights);
        raw.preprocessing = i32::from(options.preprocessing);
        // SAFETY: valid handles, string and options.
        check(unsafe { sys::tt_model_export(self.ptr(), directory.as_ptr(), &raw) })
    }

    /// A model from a spec, preprocessing state and weights in `directory`: what
    /// [`Model::export`] writes, or the files of a model trained elsewhere (docs/convert.md).
    /// Errors name the file and the tensor.
    pub fn import(directory: impl AsRef<Path>, options: &ImportOptions<'_>) -> Result<Model> {
        Model::import_from(Some(directory.as_ref()), options)
    }

    /// [`Model::import`] without a directory: every path is in `options`.
    pub fn import_files(options: &ImportOptions<'_>) -> Result<Model> {
        Model::import_from(None, options)
    }

    fn import_from(directory: Option<&Path>, options: &ImportOptions<'_>) -> Result<Model> {
        let directory = optional_path(directory)?;
        let spec = optional_path(options.spec_path.as_deref())?;
        let preprocessing = optional_path(options.preprocessing_path.as_deref())?;
        let weights = optional_path(options.weights_path.as_deref())?;
        let mut raw = init(sys::tt_import_options_init);
        raw.spec_path = ptr_or_null(&spec);
        raw.preprocessing_path = ptr_or_null(&preprocessing);
        raw.weights_path = ptr_or_null(&weights);
        raw.candidates = table_or_null(options.candidates);
        raw.interactions = table_or_null(options.interactions);
        raw.threads = options.threads;
        // SAFETY: valid (or NULL) strings and tables that outlive the call; a valid out-pointer.
        Model::create(|out| unsafe { sys::tt_model_import(ptr_or_null(&directory), &raw, out) })
    }
}
