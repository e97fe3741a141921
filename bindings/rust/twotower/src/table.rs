//! `Table`: named columns of strings, i64 or f32 values, all of one length.
use std::ffi::CString;
use std::path::Path;
use std::ptr::{self, NonNull};

use twotower_sys as sys;

use crate::error::{c_path, c_string, check, Error, Result, Status};

/// A column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    String,
    Int64,
    Float32,
}

impl DType {
    fn raw(self) -> sys::tt_dtype {
        match self {
            DType::String => sys::TT_DTYPE_STRING,
            DType::Int64 => sys::TT_DTYPE_INT64,
            DType::Float32 => sys::TT_DTYPE_FLOAT32,
        }
    }

    fn from_raw(raw: sys::tt_dtype) -> Result<DType> {
        match raw {
            sys::TT_DTYPE_STRING => Ok(DType::String),
            sys::TT_DTYPE_INT64 => Ok(DType::Int64),
            sys::TT_DTYPE_FLOAT32 => Ok(DType::Float32),
            other => Err(Error::new(Status::Internal, format!("unknown column type {other}"))),
        }
    }
}

/// A table column as [`Table::columns`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    pub dtype: DType,
    /// Its length (columns may differ in length until the table is validated).
    pub len: usize,
}

/// Owns a `tt_table`; dropping it calls `tt_table_free`.
///
/// Threads. The header says: "Tables are not internally synchronised: do not modify a table
/// while another thread reads it." A table belongs to no thread, so it is `Send`. Every method
/// that modifies it takes `&mut self`; every `&self` method (`num_rows`, `validate`, and the
/// model calls that take the table as `const tt_table*`: query, embed, train, evaluate) only
/// reads it (the C side copies the columns out, with no lazily filled cache). So the borrow
/// rules already give exactly the contract's rule (many readers or one writer) and the table
/// is `Sync` as well: several threads may query a model with the same `&Table` at once.
#[derive(Debug)]
pub struct Table {
    raw: NonNull<sys::tt_table>,
}

// SAFETY: see the type's documentation: the handle is not tied to a thread, and shared (&self)
// access only reads.
unsafe impl Send for Table {}
unsafe impl Sync for Table {}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: we own the handle; it is freed once.
        unsafe { sys::tt_table_free(self.raw.as_ptr()) }
    }
}

impl Table {
    /// An empty table.
    pub fn new() -> Result<Table> {
        crate::ensure_abi()?;
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer.
        check(unsafe { sys::tt_table_create(&mut raw) })?;
        Ok(Table::adopt(raw))
    }

    /// A table built column by column: `Table::builder().strings("user_id", &["42"]).int64("timestamp", &[879024327]).build()`.
    pub fn builder() -> TableBuilder {
        TableBuilder::default()
    }

    pub(crate) fn adopt(raw: *mut sys::tt_table) -> Table {
        Table { raw: NonNull::new(raw).expect("the library returned TT_OK with a NULL table") }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::tt_table {
        self.raw.as_ptr()
    }

    /// Appends values to a string column, creating it on first use. Strings are copied.
    pub fn append_strings<S: AsRef<str>>(&mut self, column: &str, values: &[S]) -> Result<&mut Table> {
        let name = c_string(column, "column name")?;
        let owned = values
            .iter()
            .enumerate()
            .map(|(i, v)| c_string(v.as_ref(), &format!("value {i} of column '{column}'")))
            .collect::<Result<Vec<CString>>>()?;
        let pointers: Vec<*const std::ffi::c_char> = owned.iter().map(|s| s.as_ptr()).collect();
        // SAFETY: the table is ours and mutably borrowed; `pointers` holds `len` valid strings.
        check(unsafe {
            sys::tt_table_append_strings(self.raw.as_ptr(), name.as_ptr(), pointers.as_ptr(), pointers.len())
        })?;
        Ok(self)
    }

    /// Appends values to an int64 column, creating it on first use.
    pub fn append_i64(&mut self, column: &str, values: &[i64]) -> Result<&mut Table> {
        let name = c_string(column, "column name")?;
        // SAFETY: as above; `values` is a valid slice.
        check(unsafe { sys::tt_table_append_int64(self.raw.as_ptr(), name.as_ptr(), values.as_ptr(), values.len()) })?;
        Ok(self)
    }

    /// Appends values to a float32 column, creating it on first use.
    pub fn append_f32(&mut self, column: &str, values: &[f32]) -> Result<&mut Table> {
        let name = c_string(column, "column name")?;
        // SAFETY: as above.
        check(unsafe {
            sys::tt_table_append_float32(self.raw.as_ptr(), name.as_ptr(), values.as_ptr(), values.len())
        })?;
        Ok(self)
    }

    /// The number of rows; an error if the columns differ in length.
    pub fn num_rows(&self) -> Result<usize> {
        let mut rows = 0;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::tt_table_num_rows(self.as_ptr(), &mut rows) })?;
        Ok(rows)
    }

    /// Checks that all columns have the same length.
    pub fn validate(&self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::tt_table_validate(self.as_ptr()) })
    }

    /// The columns, in the order they were first appended or read.
    pub fn columns(&self) -> Result<Vec<ColumnInfo>> {
        let mut n = 0usize;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::tt_table_num_columns(self.as_ptr(), &mut n) })?;
        (0..n)
            .map(|i| {
                let (mut name, mut dtype, mut len) = (ptr::null(), 0, 0usize);
                // SAFETY: valid handle, index below the count, valid out-pointers; the name lives
                // while the table is unmodified, and is copied at once.
                unsafe {
                    check(sys::tt_table_column_info(self.as_ptr(), i, &mut name, &mut dtype, &mut len))?;
                    let name = std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned();
                    Ok(ColumnInfo { name, dtype: DType::from_raw(dtype)?, len })
                }
            })
            .collect()
    }

    /// A column's length, or the library's error naming the columns if there is no such column.
    fn column_len(&self, column: &str, name: &CString) -> Result<usize> {
        if let Some(c) = self.columns()?.into_iter().find(|c| c.name == column) {
            return Ok(c.len);
        }
        let mut unused = 0i64;
        // SAFETY: valid handle, string and a one-element buffer (nothing is asked for).
        check(unsafe { sys::tt_table_get_int64(self.as_ptr(), name.as_ptr(), 0, 0, &mut unused) })?;
        Err(Error::new(Status::InvalidArgument, format!("unknown column '{column}'")))
    }

    /// A copy of a string column's values (an error for a column of another type).
    pub fn column_strings(&self, column: &str) -> Result<Vec<String>> {
        let name = c_string(column, "column name")?;
        let len = self.column_len(column, &name)?;
        let mut values = vec![ptr::null(); len.max(1)];
        // SAFETY: valid handle and string; `values` holds `len` (at least one) pointers, which
        // point into the table while it is unmodified (`&self`) and are copied at once.
        unsafe {
            check(sys::tt_table_get_strings(self.as_ptr(), name.as_ptr(), 0, len, values.as_mut_ptr()))?;
            Ok(values[..len].iter().map(|&p| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()).collect())
        }
    }

    /// A copy of an int64 column's values.
    pub fn column_i64(&self, column: &str) -> Result<Vec<i64>> {
        let name = c_string(column, "column name")?;
        let len = self.column_len(column, &name)?;
        let mut values = vec![0i64; len.max(1)];
        // SAFETY: valid handle and string; `values` holds at least `len` elements.
        check(unsafe { sys::tt_table_get_int64(self.as_ptr(), name.as_ptr(), 0, len, values.as_mut_ptr()) })?;
        values.truncate(len);
        Ok(values)
    }

    /// A copy of a float32 column's values.
    pub fn column_f32(&self, column: &str) -> Result<Vec<f32>> {
        let name = c_string(column, "column name")?;
        let len = self.column_len(column, &name)?;
        let mut values = vec![0f32; len.max(1)];
        // SAFETY: as above.
        check(unsafe { sys::tt_table_get_float32(self.as_ptr(), name.as_ptr(), 0, len, values.as_mut_ptr()) })?;
        values.truncate(len);
        Ok(values)
    }

    /// Writes the table as a columnar data file (typed columns, strings dictionary-encoded,
    /// checksummed; docs/data-format.md), atomically. [`Table::read_file`] reads it back, and
    /// training reads it without parsing.
    pub fn write_columnar(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = c_path(path.as_ref())?;
        // SAFETY: valid handle and string.
        check(unsafe { sys::tt_table_write_columnar(self.as_ptr(), path.as_ptr()) })
    }

    /// Reads a CSV (RFC 4180) or TSV (`.tsv`/`.tab`) file with a header row, or a columnar data
    /// file (recognised by its first bytes): the given columns with their types, other columns
    /// ignored. Errors name the file, line and column.
    pub fn read_file(path: impl AsRef<Path>, columns: &[(&str, DType)]) -> Result<Table> {
        crate::ensure_abi()?;
        let path = c_path(path.as_ref())?;
        let names = columns.iter().map(|(name, _)| c_string(name, "column name")).collect::<Result<Vec<CString>>>()?;
        let name_ptrs: Vec<*const std::ffi::c_char> = names.iter().map(|s| s.as_ptr()).collect();
        let types: Vec<sys::tt_dtype> = columns.iter().map(|(_, t)| t.raw()).collect();
        let mut raw = ptr::null_mut();
        // SAFETY: parallel arrays of `columns.len()` entries, valid strings, valid out-pointer.
        check(unsafe {
            sys::tt_table_read_file(path.as_ptr(), name_ptrs.as_ptr(), types.as_ptr(), types.len(), &mut raw)
        })?;
        Ok(Table::adopt(raw))
    }
}

/// Converts a data file (CSV, TSV or columnar) to a columnar data file holding `columns` with
/// their types, in that order (what `twotower data convert` does).
pub fn convert_data(input: impl AsRef<Path>, output: impl AsRef<Path>, columns: &[(&str, DType)]) -> Result<()> {
    crate::ensure_abi()?;
    let input = c_path(input.as_ref())?;
    let output = c_path(output.as_ref())?;
    let names = columns.iter().map(|(name, _)| c_string(name, "column name")).collect::<Result<Vec<CString>>>()?;
    let name_ptrs: Vec<*const std::ffi::c_char> = names.iter().map(|s| s.as_ptr()).collect();
    let types: Vec<sys::tt_dtype> = columns.iter().map(|(_, t)| t.raw()).collect();
    // SAFETY: parallel arrays of `columns.len()` entries and valid strings.
    check(unsafe {
        sys::tt_data_convert(input.as_ptr(), output.as_ptr(), name_ptrs.as_ptr(), types.as_ptr(), types.len())
    })
}

/// Columns collected in Rust and handed to the library by [`TableBuilder::build`], which reports
/// the first error (a NUL byte in a string, a type clash, columns of different lengths).
#[derive(Clone, Debug, Default)]
pub struct TableBuilder {
    columns: Vec<(String, ColumnValues)>,
}

#[derive(Clone, Debug)]
enum ColumnValues {
    Strings(Vec<String>),
    Int64(Vec<i64>),
    Float32(Vec<f32>),
}

impl TableBuilder {
    pub fn strings<S: AsRef<str>>(mut self, column: &str, values: &[S]) -> TableBuilder {
        let values = values.iter().map(|s| s.as_ref().to_owned()).collect();
        self.columns.push((column.to_owned(), ColumnValues::Strings(values)));
        self
    }

    pub fn int64(mut self, column: &str, values: &[i64]) -> TableBuilder {
        self.columns.push((column.to_owned(), ColumnValues::Int64(values.to_vec())));
        self
    }

    pub fn float32(mut self, column: &str, values: &[f32]) -> TableBuilder {
        self.columns.push((column.to_owned(), ColumnValues::Float32(values.to_vec())));
        self
    }

    /// The table, checked with `tt_table_validate` (all columns of one length).
    pub fn build(self) -> Result<Table> {
        let mut table = Table::new()?;
        for (name, values) in &self.columns {
            match values {
                ColumnValues::Strings(v) => table.append_strings(name, v)?,
                ColumnValues::Int64(v) => table.append_i64(name, v)?,
                ColumnValues::Float32(v) => table.append_f32(name, v)?,
            };
        }
        table.validate()?;
        Ok(table)
    }
}

/// MovieLens 100k from its original directory (`u.data`, `u.item`; `SHA256SUMS` verified if
/// present): the ratings {user_id: string, movie_title: string, timestamp: int64, rating: f32}
/// and the catalogue {movie_id: string, movie_title: string}. An empty path means
/// `$TWOTOWER_DATA`.
pub fn load_movielens(dir: impl AsRef<Path>) -> Result<(Table, Table)> {
    crate::ensure_abi()?;
    let dir = c_path(dir.as_ref())?;
    let (mut ratings, mut catalogue) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: a valid string and out-pointers.
    check(unsafe { sys::tt_load_movielens(dir.as_ptr(), &mut ratings, &mut catalogue) })?;
    Ok((Table::adopt(ratings), Table::adopt(catalogue)))
}
