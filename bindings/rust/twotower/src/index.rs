//! `VectorIndex`: a vector index over embeddings made elsewhere (a `tt_index`).
use std::path::Path;
use std::ptr::{self, NonNull};

use twotower_sys as sys;

use crate::convert::Precision;
use crate::error::{c_path, check, Error, Result, Status};
use crate::model::{search, vector_rows, Hit, QueryOptions, SaveOptions};

/// Vectors of one dimension under `i64` keys, searched by inner product (normalise them
/// yourself for cosine similarity), as Faiss's IndexFlatIP with ids, with twotower's exact and
/// approximate scans. Vectors are row-major slices of `dim` values.
///
/// Threads: `search`, `save` and the accessors take `&self` and may run concurrently (the C
/// API's thread-safe functions); `add`, `build_ann` and `drop_ann` take `&mut self`. The index
/// is `Send` and `Sync`: share it with `Arc<VectorIndex>`.
#[derive(Debug)]
pub struct VectorIndex {
    raw: NonNull<sys::tt_index>,
}

// SAFETY: as for Model: &self methods are the C API's concurrent functions, the exclusive ones
// need &mut self; the handle is not tied to a thread.
unsafe impl Send for VectorIndex {}
unsafe impl Sync for VectorIndex {}

impl Drop for VectorIndex {
    fn drop(&mut self) {
        // SAFETY: we own the handle; it is freed once.
        unsafe { sys::tt_index_free(self.raw.as_ptr()) }
    }
}

/// How an index stores its vectors and how many threads serve it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexOptions {
    /// The precision vectors are stored at (rounded as they are added); bf16 and int8 are also
    /// scanned compactly and re-scored in float32. `None`: float32 for a new index, the stored
    /// precision for a loaded one.
    pub precision: Option<Precision>,
    /// 0: all cores; else 1..=256.
    pub threads: i32,
}

impl IndexOptions {
    fn raw(&self) -> sys::tt_index_options {
        let mut raw = std::mem::MaybeUninit::<sys::tt_index_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the init function.
        let mut raw = unsafe {
            sys::tt_index_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.precision = Precision::code_or_keep(self.precision);
        raw.threads = self.threads;
        raw
    }
}

impl VectorIndex {
    fn create(f: impl FnOnce(*mut *mut sys::tt_index) -> sys::tt_status) -> Result<VectorIndex> {
        crate::ensure_abi()?;
        let mut raw = ptr::null_mut();
        check(f(&mut raw))?;
        Ok(VectorIndex { raw: NonNull::new(raw).expect("the library returned TT_OK with a NULL index") })
    }

    /// An empty index of vectors of `dim` (1..=65536) values.
    pub fn new(dim: usize, options: &IndexOptions) -> Result<VectorIndex> {
        let raw = options.raw();
        // SAFETY: valid options and out-pointer.
        VectorIndex::create(|out| unsafe { sys::tt_index_create(dim, &raw, out) })
    }

    /// Reads an index file ([`VectorIndex::save`], `twotower index build`) or the candidate
    /// index of a model file. A model's keys that are not all integers (titles, say) give an
    /// index keyed by row number (the model's candidate ids).
    pub fn load(path: impl AsRef<Path>, options: &IndexOptions) -> Result<VectorIndex> {
        let path = c_path(path.as_ref())?;
        let raw = options.raw();
        // SAFETY: a valid path, options and out-pointer.
        VectorIndex::create(|out| unsafe { sys::tt_index_load(path.as_ptr(), &raw, out) })
    }

    fn count(&self, f: unsafe extern "C" fn(*const sys::tt_index, *mut usize) -> sys::tt_status) -> Result<usize> {
        let mut n = 0usize;
        // SAFETY: a valid handle and out-pointer.
        check(unsafe { f(self.raw.as_ptr(), &mut n) })?;
        Ok(n)
    }

    /// Vectors in the index.
    pub fn len(&self) -> Result<usize> {
        self.count(sys::tt_index_size)
    }

    /// Whether the index holds no vectors.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The vectors' dimension.
    pub fn dim(&self) -> Result<usize> {
        self.count(sys::tt_index_dim)
    }

    /// The precision the vectors are stored at.
    pub fn precision(&self) -> Result<Precision> {
        let mut code = -1i32;
        // SAFETY: a valid handle and out-pointer.
        check(unsafe { sys::tt_index_precision(self.raw.as_ptr(), &mut code) })?;
        Precision::from_code(code)
    }

    /// Appends `vectors` (rows of `dim` values, row-major, every value finite) under `keys`
    /// (one per row; duplicates allowed; -1 is reserved) or, with `None`, under their row
    /// numbers. Each call re-packs the index: add in large batches.
    pub fn add(&mut self, vectors: &[f32], dim: usize, keys: Option<&[i64]>) -> Result<()> {
        let rows = vector_rows(vectors, dim, "vectors")?;
        if let Some(keys) = keys {
            if keys.len() != rows {
                return Err(Error::new(Status::InvalidArgument, format!("{} keys for {rows} vectors", keys.len())));
            }
        }
        if rows == 0 {
            return Ok(());
        }
        let keys = keys.map_or(ptr::null(), <[i64]>::as_ptr);
        // SAFETY: a valid handle, exclusively borrowed; `vectors` holds rows * dim floats and
        // `keys`, when given, rows keys.
        check(unsafe { sys::tt_index_add(self.raw.as_ptr(), vectors.as_ptr(), rows, dim, keys) })
    }

    /// The top keys by inner product for each query (rows of `dim` values). Options are
    /// [`crate::Model::query_with`]'s, except that exclusion and allow lists hold keys (keys
    /// not in the index are ignored). [`Hit::id`] is the key.
    pub fn search(&self, queries: &[f32], dim: usize, options: &QueryOptions<'_>) -> Result<Vec<Vec<Hit>>> {
        let rows = vector_rows(queries, dim, "queries")?;
        let available = self.len()?;
        // SAFETY: a valid handle; `queries` holds rows * dim floats; `search` sizes the rest.
        search(options, rows, available, "queries", |raw, keys, scores| unsafe {
            sys::tt_index_search(self.raw.as_ptr(), queries.as_ptr(), rows, dim, raw, keys, scores)
        })
    }

    /// Builds the approximate index (k-means partitions, `partitions` 0: about 2 sqrt(len),
    /// seeded with `seed`), its recall@100 calibrated on `calibration` (query rows of the
    /// index's dimension, up to 256 used) or on a sample of the vectors. Saved with the index;
    /// `add` rebuilds it.
    pub fn build_ann(&mut self, partitions: u32, seed: u64, calibration: Option<&[f32]>) -> Result<()> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_ann_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the init function.
        let mut raw = unsafe {
            sys::tt_ann_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.partitions = partitions;
        raw.seed = seed;
        let dim = self.dim()?;
        let (ptr, rows) = match calibration {
            Some(q) => (q.as_ptr(), vector_rows(q, dim, "calibration")?),
            None => (ptr::null(), 0),
        };
        // SAFETY: a valid handle, exclusively borrowed; `ptr` holds rows * dim floats (or is NULL).
        check(unsafe { sys::tt_index_build_ann(self.raw.as_ptr(), &raw, ptr, rows, dim) })
    }

    /// Removes the approximate index.
    pub fn drop_ann(&mut self) -> Result<()> {
        // SAFETY: a valid handle, exclusively borrowed.
        check(unsafe { sys::tt_index_drop_ann(self.raw.as_ptr()) })
    }

    /// Partitions of the approximate index (0: none) and the breadth its calibration found
    /// for a recall target.
    pub fn ann_info(&self, recall: f64) -> Result<(usize, usize)> {
        let (mut partitions, mut probe) = (0usize, 0usize);
        // SAFETY: a valid handle and out-pointers.
        check(unsafe { sys::tt_index_ann_info(self.raw.as_ptr(), recall, &mut partitions, &mut probe) })?;
        Ok((partitions, probe))
    }

    /// Writes the index as a model file holding only an index section (and the approximate
    /// index's), atomically. Only the compression level of `options` applies.
    pub fn save(&self, path: impl AsRef<Path>, options: &SaveOptions) -> Result<()> {
        let path = c_path(path.as_ref())?;
        let mut raw = options.raw();
        raw.include_optimizer = 0;
        // SAFETY: a valid handle, path and options.
        check(unsafe { sys::tt_index_save(self.raw.as_ptr(), path.as_ptr(), &raw) })
    }
}
