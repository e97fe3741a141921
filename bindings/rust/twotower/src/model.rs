//! `Model`: create from a spec, train, evaluate, save, load, query.
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::ptr::{self, NonNull};

use twotower_sys as sys;

use crate::error::{borrowed_str, c_path, c_string, check, Error, Result, Status};
use crate::json::{self, Json};
use crate::table::{DType, Table};
use crate::train::{self, Metrics, TrainOptions};

/// How [`Model::train_streamed`] holds the training rows: a shuffle buffer, a memory limit, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The most training rows held in memory (at least the batch size); 0: what `memory_limit`
    /// leaves.
    pub shuffle_buffer_rows: u64,
    /// > 0: bytes the process's peak resident set stays under, whatever the file's row count:
    /// the buffer is what the fixed part (the process, the catalogue, the held-out rows, the
    /// model and its optimizer state, one batch) leaves. A limit that cannot hold that and one
    /// batch (or `shuffle_buffer_rows`) is refused before the first epoch, with the figures.
    pub memory_limit: u64,
}

/// Owns a `tt_model`; dropping it calls `tt_model_free`.
///
/// Threads. The header allows any number of threads at once to use a trained or loaded model
/// through the functions taking it `const` (query, embed, candidate key/id, the JSON texts,
/// evaluate, save), and requires exclusive access for `tt_model_train` and
/// `tt_model_rebuild_index`. Here the former take `&self` and the latter `&mut self`, so the
/// model is `Send` and `Sync`: share it between threads with `Arc<Model>` (or scoped threads).
#[derive(Debug)]
pub struct Model {
    raw: NonNull<sys::tt_model>,
}

// SAFETY: see the type's documentation: &self methods are the C API's concurrent (const)
// functions; the exclusive ones need &mut self. The handle is not tied to a thread.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: we own the handle; it is freed once.
        unsafe { sys::tt_model_free(self.raw.as_ptr()) }
    }
}

/// One result of a query: a candidate id (0 .. num_candidates) and its score (for
/// [`crate::VectorIndex::search`], a key).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
}

/// Options of [`Model::query_with`]: `QueryOptions::new(10).exclude(&[&rated]).allow(&ids)`.
#[derive(Clone, Debug)]
pub struct QueryOptions<'a> {
    k: usize,
    exclude: Option<Vec<&'a [i64]>>,
    allow: Option<&'a [i64]>,
    recall: f64,
    probe: usize,
    rescore: usize,
    exclude_keys: Option<Vec<Vec<&'a str>>>,
    allow_keys: Option<Vec<&'a str>>,
    ignore_unknown_keys: bool,
}

impl<'a> QueryOptions<'a> {
    /// `k` results per query (at least 1).
    pub fn new(k: usize) -> Self {
        QueryOptions {
            k,
            exclude: None,
            allow: None,
            recall: 0.0,
            probe: 0,
            rescore: 0,
            exclude_keys: None,
            allow_keys: None,
            ignore_unknown_keys: false,
        }
    }

    /// Candidate keys never to return, one list per query row: `exclude` by key. Ids are
    /// positions that move when the index is rebuilt; keys do not. A key covers every
    /// candidate that has it; key and id lists add up. An unknown key is an error naming it,
    /// unless `ignore_unknown_keys(true)`.
    pub fn exclude_keys<L: AsRef<[S]>, S: AsRef<str> + 'a>(mut self, per_query: &'a [L]) -> Self {
        self.exclude_keys = Some(per_query.iter().map(|l| l.as_ref().iter().map(AsRef::as_ref).collect()).collect());
        self
    }

    /// The only candidate keys any query may return (with `allow`: either list allows). An
    /// empty list (without `allow`) allows nothing.
    pub fn allow_keys<S: AsRef<str>>(mut self, keys: &'a [S]) -> Self {
        self.allow_keys = Some(keys.iter().map(AsRef::as_ref).collect());
        self
    }

    /// Skip keys the index does not hold (items that left the catalogue) instead of failing.
    pub fn ignore_unknown_keys(mut self, ignore: bool) -> Self {
        self.ignore_unknown_keys = ignore;
        self
    }

    /// Approximate search with the model's approximate index (`Model::build_ann`): scan the
    /// partitions calibrated to reach this recall@100 (0 < recall < 1). Without an approximate
    /// index the answer is exact. Filters apply during the search: k results whenever k
    /// candidates pass them.
    pub fn recall(mut self, recall: f64) -> Self {
        self.recall = recall;
        self
    }

    /// Approximate search scanning this many partitions (overrides `recall`).
    pub fn probe(mut self, partitions: usize) -> Self {
        self.probe = partitions;
        self
    }

    /// The approximate shortlist re-scored in float32 (default max(2k, 32)).
    pub fn rescore(mut self, candidates: usize) -> Self {
        self.rescore = candidates;
        self
    }

    /// Candidate ids never to return, one list per query row (so as many lists as rows).
    /// Ids outside 0..num_candidates are ignored.
    pub fn exclude<E: AsRef<[i64]>>(mut self, per_query: &'a [E]) -> Self {
        self.exclude = Some(per_query.iter().map(AsRef::as_ref).collect());
        self
    }

    /// The only candidate ids any query may return. An empty list allows nothing.
    /// Ids outside 0..num_candidates are ignored.
    pub fn allow(mut self, ids: &'a [i64]) -> Self {
        self.allow = Some(ids);
        self
    }
}

/// Row-major embeddings: `rows()` vectors of `dim` floats.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub values: Vec<f32>,
}

impl Embeddings {
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

/// How to evaluate ([`Model::evaluate_with`]); the defaults are the spec's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvalOptions {
    /// Score each distinct candidate id once.
    pub distinct_candidates: bool,
    /// The k values (1..=16 of them); `None`: the spec's.
    pub k: Option<Vec<u32>>,
    /// Queries scored at once; 0: the spec's eval_batch_size.
    pub batch_size: usize,
}

/// How to load ([`Model::load_with`], [`Model::from_bytes_with`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// The model's thread count ([`Model::set_threads`]): 0 all cores, else 1..=256.
    pub threads: usize,
}

impl LoadOptions {
    fn raw(&self) -> Result<sys::tt_load_options> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_load_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the *_init function.
        let mut raw = unsafe {
            sys::tt_load_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.threads = i32::try_from(self.threads).map_err(|_| {
            Error::new(
                Status::InvalidArgument,
                format!("LoadOptions::threads is {}, more than {}", self.threads, i32::MAX),
            )
        })?;
        Ok(raw)
    }
}

/// How to save: zstd level 0 (uncompressed) ..= 19 (default 3), optionally with the optimizer state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    pub compression_level: i32,
    /// Also store the optimizer state (a training checkpoint).
    pub include_optimizer: bool,
}

impl Default for SaveOptions {
    fn default() -> Self {
        SaveOptions { compression_level: 3, include_optimizer: false }
    }
}

impl SaveOptions {
    pub(crate) fn raw(&self) -> sys::tt_save_options {
        let mut raw = std::mem::MaybeUninit::<sys::tt_save_options>::zeroed();
        // SAFETY: a valid, writable struct.
        let mut raw = unsafe {
            sys::tt_save_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.compression_level = self.compression_level;
        raw.include_optimizer = i32::from(self.include_optimizer);
        raw
    }
}

/// Frees a buffer from tt_model_save_to_buffer, also on unwinding.
struct LibraryBuffer(*mut c_void);

impl Drop for LibraryBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated by the library (or NULL, which it accepts).
        unsafe { sys::tt_buffer_free(self.0) }
    }
}

impl Model {
    pub(crate) fn create(f: impl FnOnce(*mut *mut sys::tt_model) -> sys::tt_status) -> Result<Model> {
        crate::ensure_abi()?;
        let mut raw = ptr::null_mut();
        check(f(&mut raw))?;
        Ok(Model { raw: NonNull::new(raw).expect("the library returned TT_OK with a NULL model") })
    }

    pub(crate) fn ptr(&self) -> *const sys::tt_model {
        self.raw.as_ptr()
    }

    /// For the C API's exclusive functions; only from `&mut self` methods.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::tt_model {
        self.raw.as_ptr()
    }

    /// A new, untrained model from a JSON spec text (docs/model-spec.md).
    pub fn from_spec_json(spec_json: &str) -> Result<Model> {
        let spec = c_string(spec_json, "spec JSON")?;
        // SAFETY: a valid string and out-pointer.
        Model::create(|out| unsafe { sys::tt_model_create(spec.as_ptr(), out) })
    }

    /// A new, untrained model from a JSON spec file.
    pub fn from_spec_file(path: impl AsRef<Path>) -> Result<Model> {
        let path = c_path(path.as_ref())?;
        // SAFETY: as above.
        Model::create(|out| unsafe { sys::tt_model_create_from_file(path.as_ptr(), out) })
    }

    /// Loads a model file; every size, offset and checksum is verified.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(path, &LoadOptions::default())
    }

    /// [`Model::load`] with options.
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Model> {
        let path = c_path(path.as_ref())?;
        let raw = options.raw()?;
        // SAFETY: as above.
        Model::create(|out| unsafe { sys::tt_model_load_v2(path.as_ptr(), &raw, out) })
    }

    /// Loads a model from the bytes of a model file (copied).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_with(bytes, &LoadOptions::default())
    }

    /// [`Model::from_bytes`] with options.
    pub fn from_bytes_with(bytes: &[u8], options: &LoadOptions) -> Result<Model> {
        let raw = options.raw()?;
        // SAFETY: a valid slice, options and out-pointer.
        Model::create(|out| unsafe { sys::tt_model_load_from_buffer_v2(bytes.as_ptr().cast(), bytes.len(), &raw, out) })
    }

    /// The threads this model's queries, evaluation, index builds and training (with
    /// `TrainOptions::threads(0)`) run on: 0 for all cores (the default), else 1..=256. Answers
    /// do not depend on it; a trained model does. Needs the model exclusively (`&mut self`).
    pub fn set_threads(&mut self, threads: usize) -> Result<()> {
        let n = i32::try_from(threads).map_err(|_| {
            Error::new(Status::InvalidArgument, format!("threads is {threads}, more than {}", i32::MAX))
        })?;
        // SAFETY: a valid handle; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_set_threads(self.raw.as_ptr(), n) })
    }

    /// The thread count the model's calls run with (all cores resolved to their number).
    pub fn threads(&self) -> Result<usize> {
        let mut n = 0i32;
        // SAFETY: a valid handle and output.
        check(unsafe { sys::tt_model_threads(self.ptr(), &mut n) })?;
        Ok(n as usize)
    }

    /// Fits the preprocessing, splits `interactions` as the spec says, trains, evaluates on the
    /// held-out rows and indexes `candidates`. Returns the last evaluation (empty `top_k` if
    /// none ran). A failed or cancelled training leaves the model as it was. Needs the model
    /// exclusively (`&mut self`).
    ///
    /// A trained or loaded model trains further (warm start) unless `options.reset(true)`: from
    /// its weights and, when it has them (trained here, or loaded from a file saved with
    /// `include_optimizer`), its optimizer state and shuffling stream, so 10 epochs, a save, a
    /// load and 10 more give the model of 20 epochs bit for bit (same data, seed and threads).
    /// The vocabularies are not refitted: ids they lack map to the out-of-vocabulary row or
    /// their hash bucket. A seed starts a new shuffling stream.
    pub fn train(&mut self, interactions: &Table, candidates: &Table, options: TrainOptions<'_>) -> Result<Metrics> {
        let mut metrics = Metrics::raw();
        let model = self.raw.as_ptr();
        // SAFETY: valid handles, options and output; the model is exclusively borrowed.
        train::run(options, |raw| unsafe {
            sys::tt_model_train(model, interactions.as_ptr(), candidates.as_ptr(), raw, &mut metrics)
        })?;
        Ok(Metrics::from_raw(&metrics))
    }

    /// Trains a new model from a columnar data file larger than memory (`convert_data`,
    /// `Table::write_columnar`) at `interactions`, read a window at a time, with the catalogue
    /// `candidates` in memory (docs/data-format.md, "Streaming training"). `stream` gives a
    /// shuffle buffer, a memory limit, or both. The spec must declare the file's column types
    /// and keep `data.train_rows` 0; a trained model trains anew only with `options.reset(true)`.
    /// Otherwise as [`Model::train`].
    pub fn train_streamed(
        &mut self,
        interactions: &Path,
        candidates: &Table,
        options: TrainOptions<'_>,
        stream: &StreamOptions,
    ) -> Result<Metrics> {
        let path = c_path(interactions)?;
        let mut raw = std::mem::MaybeUninit::<sys::tt_stream_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the *_init function.
        let mut raw = unsafe {
            sys::tt_stream_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.shuffle_buffer_rows = stream.shuffle_buffer_rows;
        raw.memory_limit = stream.memory_limit;
        let mut metrics = Metrics::raw();
        let model = self.raw.as_ptr();
        // SAFETY: valid handles, path, options and output; the model is exclusively borrowed.
        train::run(options, |opts| unsafe {
            sys::tt_model_train_streamed(model, path.as_ptr(), candidates.as_ptr(), opts, &raw, &mut metrics)
        })?;
        Ok(Metrics::from_raw(&metrics))
    }

    /// FactorizedTopK on the (query, candidate) rows of `interactions` against every row of
    /// `candidates` (or its distinct ids if `distinct_candidates`).
    pub fn evaluate(&self, interactions: &Table, candidates: &Table, distinct_candidates: bool) -> Result<Metrics> {
        self.evaluate_with(interactions, candidates, &EvalOptions { distinct_candidates, ..EvalOptions::default() })
    }

    /// [`Model::evaluate`] with options, on the model's threads ([`Model::set_threads`]).
    pub fn evaluate_with(&self, interactions: &Table, candidates: &Table, options: &EvalOptions) -> Result<Metrics> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_eval_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the *_init function.
        let mut raw = unsafe {
            sys::tt_eval_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.distinct_candidates = i32::from(options.distinct_candidates);
        raw.batch_size = options.batch_size;
        if let Some(k) = &options.k {
            raw.k = k.as_ptr();
            raw.k_count = k.len();
        }
        let mut metrics = Metrics::raw();
        // SAFETY: valid handles, options (k outlives the call) and output.
        check(unsafe {
            sys::tt_model_evaluate_v2(self.ptr(), interactions.as_ptr(), candidates.as_ptr(), &raw, &mut metrics)
        })?;
        Ok(Metrics::from_raw(&metrics))
    }

    /// Saves atomically (the file appears complete or not at all), with default options.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_with(path, &SaveOptions::default())
    }

    pub fn save_with(&self, path: impl AsRef<Path>, options: &SaveOptions) -> Result<()> {
        let path = c_path(path.as_ref())?;
        let raw = options.raw();
        // SAFETY: valid handle, string and options.
        check(unsafe { sys::tt_model_save(self.ptr(), path.as_ptr(), &raw) })
    }

    /// The bytes of a model file, with default options.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.to_bytes_with(&SaveOptions::default())
    }

    pub fn to_bytes_with(&self, options: &SaveOptions) -> Result<Vec<u8>> {
        let raw = options.raw();
        let (mut data, mut size) = (ptr::null_mut(), 0usize);
        // SAFETY: valid handle, options and out-pointers.
        check(unsafe { sys::tt_model_save_to_buffer(self.ptr(), &raw, &mut data, &mut size) })?;
        let buffer = LibraryBuffer(data);
        // SAFETY: on success the library returned `size` readable bytes at `data`.
        Ok(unsafe { std::slice::from_raw_parts(buffer.0 as *const u8, size) }.to_vec())
    }

    /// The model's spec as JSON text.
    pub fn spec_json(&self) -> Result<&str> {
        self.json_text(sys::tt_model_spec_json, "the spec JSON")
    }

    /// Metadata JSON: format and library versions, data fingerprint, seed, epochs, metrics,
    /// parameter and candidate counts, ...
    pub fn metadata_json(&self) -> Result<&str> {
        self.json_text(sys::tt_model_metadata_json, "the metadata JSON")
    }

    fn json_text(
        &self,
        f: unsafe extern "C" fn(*const sys::tt_model, *mut *const c_char) -> sys::tt_status,
        what: &str,
    ) -> Result<&str> {
        let mut text = ptr::null();
        // SAFETY: valid handle and out-pointer; the text lives as long as the model is neither
        // freed nor retrained, which `&self` guarantees for the returned borrow.
        unsafe {
            check(f(self.ptr(), &mut text))?;
            borrowed_str(text, what)
        }
    }

    /// The columns a query table needs, with their types, from the spec: the query tower's
    /// feature columns; a column's type is the spec's declared one, else int64 for
    /// discretization/normalization features and string otherwise (as the CLI reads them).
    pub fn query_columns(&self) -> Result<Vec<(String, DType)>> {
        let spec =
            json::parse(self.spec_json()?).map_err(|e| Error::new(Status::Internal, format!("spec JSON: {e}")))?;
        let declared = spec.get("columns").and_then(Json::as_object);
        let features = spec.get("query_tower").and_then(|q| q.get("features")).map_or(&[][..], Json::as_array);
        let mut columns: Vec<(String, DType)> = Vec::new();
        for feature in features {
            let Some(column) = feature.get("column").and_then(Json::as_str) else { continue };
            if columns.iter().any(|(c, _)| c == column) {
                continue;
            }
            let kind = feature.get("kind").and_then(Json::as_str).unwrap_or("");
            let dtype = match declared.and_then(|d| d.get(column)).and_then(Json::as_str) {
                Some("int64") => DType::Int64,
                Some("float32") => DType::Float32,
                Some(_) => DType::String,
                None if kind == "discretization" || kind == "normalization" => DType::Int64,
                None => DType::String,
            };
            columns.push((column.to_owned(), dtype));
        }
        Ok(columns)
    }

    /// The size of query and candidate embeddings.
    pub fn embedding_dim(&self) -> Result<usize> {
        let mut dim = 0;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::tt_model_embedding_dim(self.ptr(), &mut dim) })?;
        Ok(dim)
    }

    /// Indexed candidates (0 until trained or loaded).
    pub fn num_candidates(&self) -> Result<usize> {
        let mut n = 0;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::tt_model_num_candidates(self.ptr(), &mut n) })?;
        Ok(n)
    }

    /// Candidate id -> its key (the spec's candidate id column; int64 ids in decimal).
    pub fn candidate_key(&self, id: i64) -> Result<&str> {
        let bytes = self.candidate_key_bytes(id)?;
        std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                Status::InvalidArgument,
                format!("the key of candidate {id} is not valid UTF-8 ({e}); use candidate_key_bytes"),
            )
        })
    }

    /// Candidate id -> its key, as the bytes the data held.
    pub fn candidate_key_bytes(&self, id: i64) -> Result<&[u8]> {
        let mut key = ptr::null();
        // SAFETY: valid handle and out-pointer; the key lives while the model is neither freed
        // nor re-indexed, which `&self` guarantees for the returned borrow.
        unsafe {
            check(sys::tt_model_candidate_key(self.ptr(), id, &mut key))?;
            Ok(CStr::from_ptr(key).to_bytes())
        }
    }

    /// Key -> the first candidate id with that key, `None` if there is none.
    pub fn candidate_id(&self, key: &str) -> Result<Option<i64>> {
        let key = c_string(key, "candidate key")?;
        let mut id = -1;
        // SAFETY: valid handle, string and out-pointer.
        check(unsafe { sys::tt_model_candidate_id(self.ptr(), key.as_ptr(), &mut id) })?;
        Ok((id >= 0).then_some(id))
    }

    /// The top `k` candidates for each row of `queries` (which holds the query tower's
    /// columns), best first, ties to the lower id; fewer than `k` if fewer are eligible.
    pub fn query(&self, queries: &Table, k: usize) -> Result<Vec<Vec<Hit>>> {
        self.query_with(queries, &QueryOptions::new(k))
    }

    /// [`Model::query`] with exclusion lists and an allow-list.
    pub fn query_with(&self, queries: &Table, options: &QueryOptions<'_>) -> Result<Vec<Vec<Hit>>> {
        let rows = queries.num_rows()?;
        // No more than num_candidates slots can hold a result; the rest would be padding.
        let available = self.num_candidates()?;
        // SAFETY: valid handles; the options and outputs come from `search`, which sizes them.
        search(options, rows, available, "query table", |raw, ids, scores| unsafe {
            sys::tt_model_query(self.ptr(), queries.as_ptr(), raw, ids, scores)
        })
    }

    /// [`Model::query_with`] with the query embeddings given: `vectors` holds rows of `dim`
    /// (the model's [`Model::embedding_dim`]) values made elsewhere, row-major, every value
    /// finite. Results are candidate ids, as for `query_with`.
    pub fn query_vectors(&self, vectors: &[f32], dim: usize, options: &QueryOptions<'_>) -> Result<Vec<Vec<Hit>>> {
        let rows = vector_rows(vectors, dim, "vectors")?;
        let available = self.num_candidates()?;
        // SAFETY: a valid handle; `vectors` holds rows * dim floats.
        search(options, rows, available, "vectors", |raw, ids, scores| unsafe {
            sys::tt_model_query_vectors(self.ptr(), vectors.as_ptr(), rows, dim, raw, ids, scores)
        })
    }

    /// The index's embeddings of candidates `first .. first + count` (ids as queries return
    /// them): the float32 values queries score against.
    pub fn candidate_embeddings(&self, first: usize, count: usize) -> Result<Embeddings> {
        let dim = self.embedding_dim()?;
        let capacity = count
            .checked_mul(dim)
            .ok_or_else(|| Error::new(Status::InvalidArgument, format!("{count} rows x {dim} floats overflow")))?;
        let mut values = vec![0f32; capacity.max(1)];
        // SAFETY: a valid handle; `values` holds at least `capacity` floats.
        check(unsafe { sys::tt_model_candidate_embeddings(self.ptr(), first, count, values.as_mut_ptr(), capacity) })?;
        values.truncate(capacity);
        Ok(Embeddings { dim, values })
    }

    /// An independent deep copy: rebuild its index, quantize or retrain it while `self` keeps
    /// serving, then install it with [`ModelSlot::replace`](crate::ModelSlot::replace).
    pub fn try_clone(&self) -> Result<Model> {
        // SAFETY: a valid handle and out-pointer; cloning only reads the model.
        Model::create(|out| unsafe { sys::tt_model_clone(self.ptr(), out) })
    }

    /// Query-tower embeddings of the rows of `queries`.
    pub fn embed_queries(&self, queries: &Table) -> Result<Embeddings> {
        self.embed(queries, sys::tt_model_embed_queries)
    }

    /// Candidate-tower embeddings of the rows of `candidates`.
    pub fn embed_candidates(&self, candidates: &Table) -> Result<Embeddings> {
        self.embed(candidates, sys::tt_model_embed_candidates)
    }

    fn embed(
        &self,
        table: &Table,
        f: unsafe extern "C" fn(*const sys::tt_model, *const sys::tt_table, *mut f32, usize) -> sys::tt_status,
    ) -> Result<Embeddings> {
        let dim = self.embedding_dim()?;
        let rows = table.num_rows()?;
        let capacity = rows
            .checked_mul(dim)
            .ok_or_else(|| Error::new(Status::InvalidArgument, format!("{rows} rows x {dim} floats overflow")))?;
        let mut values = vec![0f32; capacity];
        // SAFETY: valid handles; `values` holds `capacity` floats.
        check(unsafe { f(self.ptr(), table.as_ptr(), values.as_mut_ptr(), capacity) })?;
        Ok(Embeddings { dim, values })
    }

    /// Replaces the candidate index with the rows of `catalogue`, embedded by the trained
    /// candidate tower. Needs the model exclusively (`&mut self`).
    pub fn rebuild_index(&mut self, catalogue: &Table) -> Result<()> {
        // SAFETY: valid handles; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_rebuild_index(self.raw.as_ptr(), catalogue.as_ptr()) })
    }

    /// Builds (or rebuilds) the approximate index: k-means partitions of the candidate
    /// embeddings (`partitions`, 0: about 2 sqrt(candidates); k-means seeded with `seed`),
    /// scanned with an int8 copy and re-scored in float32; its recall@100 is calibrated on
    /// `calibration_queries` (query tower columns, up to 256 rows) or a sample of the
    /// candidates. Saved with the model (an optional section older readers skip); index
    /// rebuilds keep it. Needs the model exclusively (`&mut self`).
    pub fn build_ann(&mut self, partitions: u32, seed: u64, calibration_queries: Option<&Table>) -> Result<()> {
        let mut raw = std::mem::MaybeUninit::<sys::tt_ann_options>::zeroed();
        // SAFETY: a valid, writable struct, fully written by the init function.
        let mut raw = unsafe {
            sys::tt_ann_options_init(raw.as_mut_ptr());
            raw.assume_init()
        };
        raw.partitions = partitions;
        raw.seed = seed;
        if let Some(q) = calibration_queries {
            raw.calibration_queries = q.as_ptr();
        }
        // SAFETY: valid handles and options; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_build_ann(self.raw.as_ptr(), &raw) })
    }

    /// Removes the approximate index (index rebuilds then make none).
    pub fn drop_ann(&mut self) -> Result<()> {
        // SAFETY: a valid handle; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_drop_ann(self.raw.as_ptr()) })
    }

    /// Partitions of the approximate index (0: none) and the breadth its calibration found
    /// for a recall target.
    pub fn ann_info(&self, recall: f64) -> Result<(usize, usize)> {
        let (mut partitions, mut probe) = (0usize, 0usize);
        // SAFETY: a valid handle and output pointers.
        check(unsafe { sys::tt_model_ann_info(self.ptr(), recall, &mut partitions, &mut probe) })?;
        Ok((partitions, probe))
    }

    /// Chooses the precision queries scan the index at. `Some(SearchPrecision::Bf16)` or
    /// `Some(SearchPrecision::Int8)`: queries of up to 8 rows scan a compact copy of the index
    /// and re-score a shortlist in float32 (the float32 top-k, sooner). `None` (the default)
    /// follows the stored index precision. Needs the model exclusively (`&mut self`).
    pub fn set_search_precision(&mut self, precision: Option<SearchPrecision>) -> Result<()> {
        let code = precision.map_or(sys::TT_SEARCH_PRECISION_AUTO, |p| p as i32);
        // SAFETY: a valid handle; the model is exclusively borrowed.
        check(unsafe { sys::tt_model_set_search_precision(self.raw.as_ptr(), code) })
    }

    /// The precision queries scan the index at now.
    pub fn search_precision(&self) -> Result<SearchPrecision> {
        let mut code = -1i32;
        // SAFETY: a valid handle and a valid out pointer.
        check(unsafe { sys::tt_model_search_precision(self.raw.as_ptr(), &mut code) })?;
        match code {
            1 => Ok(SearchPrecision::Bf16),
            3 => Ok(SearchPrecision::Int8),
            _ => Ok(SearchPrecision::Float32),
        }
    }
}

/// The precision queries scan the index at (the C API's `tt_precision` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum SearchPrecision {
    Float32 = 0,
    Bf16 = 1,
    Int8 = 3,
}

/// The rows of a row-major slice of `dim` values each; a length that is not a multiple of
/// `dim` (or `dim` 0 with values) is an error naming `what`.
pub(crate) fn vector_rows(values: &[f32], dim: usize, what: &str) -> Result<usize> {
    if dim == 0 {
        return if values.is_empty() {
            Ok(0)
        } else {
            Err(Error::new(Status::InvalidArgument, format!("{what}: dim is 0 for {} values", values.len())))
        };
    }
    if values.len() % dim != 0 {
        return Err(Error::new(
            Status::InvalidArgument,
            format!("{what}: {} values are not whole rows of dim {dim}", values.len()),
        ));
    }
    Ok(values.len() / dim)
}

/// Runs one search call over `rows` queries with `options` (at most `available` results per
/// row are possible, so k is capped there) and splits its answer into one list per row, each
/// ending at the first empty slot (id -1). `call` gets the C options and the output arrays.
pub(crate) fn search(
    options: &QueryOptions<'_>,
    rows: usize,
    available: usize,
    what: &str,
    call: impl FnOnce(&sys::tt_query_options, *mut i64, *mut f32) -> sys::tt_status,
) -> Result<Vec<Vec<Hit>>> {
    let mut raw = std::mem::MaybeUninit::<sys::tt_query_options>::zeroed();
    // SAFETY: a valid, writable struct.
    let mut raw = unsafe {
        sys::tt_query_options_init(raw.as_mut_ptr());
        raw.assume_init()
    };
    raw.k = options.k.min(available.max(1));
    let (exclude_ptrs, exclude_counts): (Vec<*const i64>, Vec<usize>) = match &options.exclude {
        Some(lists) if lists.len() != rows => {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("QueryOptions::exclude has {} lists, the {what} has {rows} rows", lists.len()),
            ))
        }
        Some(lists) => lists.iter().map(|l| (l.as_ptr(), l.len())).unzip(),
        None => (Vec::new(), Vec::new()),
    };
    if options.exclude.is_some() {
        raw.exclude = exclude_ptrs.as_ptr();
        raw.exclude_counts = exclude_counts.as_ptr();
    }
    raw.recall = options.recall;
    raw.probe = options.probe;
    raw.rescore = options.rescore;
    const NOTHING: [i64; 1] = [-1]; // never a result: the C API's way to allow nothing
    if let Some(allow) = options.allow {
        let allow = if allow.is_empty() { &NOTHING[..] } else { allow };
        raw.allow = allow.as_ptr();
        raw.allow_count = allow.len();
    }
    // Keys as C strings; the vectors below outlive the call.
    let to_c = |keys: &[&str]| -> Result<Vec<CString>> { keys.iter().map(|k| c_string(k, "candidate key")).collect() };
    let exclude_keys: Vec<Vec<CString>> = match &options.exclude_keys {
        Some(lists) if lists.len() != rows => {
            return Err(Error::new(
                Status::InvalidArgument,
                format!("QueryOptions::exclude_keys has {} lists, the {what} has {rows} rows", lists.len()),
            ))
        }
        Some(lists) => lists.iter().map(|l| to_c(l)).collect::<Result<_>>()?,
        None => Vec::new(),
    };
    let exclude_key_ptrs: Vec<Vec<*const c_char>> =
        exclude_keys.iter().map(|l| l.iter().map(|k| k.as_ptr()).collect()).collect();
    let exclude_key_lists: Vec<*const *const c_char> = exclude_key_ptrs.iter().map(|l| l.as_ptr()).collect();
    let exclude_key_counts: Vec<usize> = exclude_key_ptrs.iter().map(Vec::len).collect();
    if options.exclude_keys.is_some() {
        raw.exclude_keys = exclude_key_lists.as_ptr();
        raw.exclude_key_counts = exclude_key_counts.as_ptr();
    }
    let allow_keys = to_c(options.allow_keys.as_deref().unwrap_or(&[]))?;
    let allow_key_ptrs: Vec<*const c_char> = allow_keys.iter().map(|k| k.as_ptr()).collect();
    if !allow_key_ptrs.is_empty() {
        raw.allow_keys = allow_key_ptrs.as_ptr();
        raw.allow_key_count = allow_key_ptrs.len();
    } else if options.allow_keys.is_some() && options.allow.is_none() {
        raw.allow = NOTHING.as_ptr();
        raw.allow_count = 1;
    }
    raw.ignore_unknown_keys = i32::from(options.ignore_unknown_keys);
    let slots = rows
        .checked_mul(raw.k)
        .ok_or_else(|| Error::new(Status::InvalidArgument, format!("{rows} queries x k = {} overflow", raw.k)))?;
    // At least one slot, so that the library (not a NULL pointer) judges an empty batch.
    let mut ids = vec![-1i64; slots.max(1)];
    let mut scores = vec![f32::NEG_INFINITY; slots.max(1)];
    raw.capacity = ids.len();
    // Every pointer in `raw` points into live vectors of the counts given; `ids` and `scores`
    // hold rows * k entries.
    check(call(&raw, ids.as_mut_ptr(), scores.as_mut_ptr()))?;
    if raw.k == 0 || rows == 0 {
        return Ok(vec![Vec::new(); rows]);
    }
    Ok(ids[..slots]
        .chunks(raw.k)
        .zip(scores.chunks(raw.k))
        .map(|(ids, scores)| {
            ids.iter().zip(scores).take_while(|(id, _)| **id != -1).map(|(&id, &score)| Hit { id, score }).collect()
        })
        .collect())
}
