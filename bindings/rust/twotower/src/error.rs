//! `Error`: a C status and the message the library gave for it.
use std::ffi::{CStr, CString};
use std::fmt;

use twotower_sys as sys;

/// The C API's status codes (`tt_status`), without `TT_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A bad argument or option, an unknown column, a model used before training; also, from
    /// this binding, a string with an interior NUL byte or mismatched lengths.
    InvalidArgument,
    /// A file could not be opened, read or written.
    Io,
    /// Malformed text input: CSV/TSV, MovieLens files, a JSON spec.
    Parse,
    /// A damaged or truncated model file or buffer.
    Corrupt,
    /// Valid input this build cannot handle (a newer model format; a native library of another
    /// ABI version).
    Unsupported,
    /// The progress closure asked to stop.
    Cancelled,
    /// A bug, or a failure inside a dependency.
    Internal,
    OutOfMemory,
    /// A status this binding does not know (from a newer library).
    Unknown(i32),
}

impl Status {
    pub(crate) fn from_raw(status: sys::tt_status) -> Status {
        match status {
            sys::TT_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::TT_ERR_IO => Status::Io,
            sys::TT_ERR_PARSE => Status::Parse,
            sys::TT_ERR_CORRUPT => Status::Corrupt,
            sys::TT_ERR_UNSUPPORTED => Status::Unsupported,
            sys::TT_ERR_CANCELLED => Status::Cancelled,
            sys::TT_ERR_INTERNAL => Status::Internal,
            sys::TT_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            other => Status::Unknown(other),
        }
    }

    /// The C value (`TT_ERR_IO` is 2, ...).
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => sys::TT_ERR_INVALID_ARGUMENT,
            Status::Io => sys::TT_ERR_IO,
            Status::Parse => sys::TT_ERR_PARSE,
            Status::Corrupt => sys::TT_ERR_CORRUPT,
            Status::Unsupported => sys::TT_ERR_UNSUPPORTED,
            Status::Cancelled => sys::TT_ERR_CANCELLED,
            Status::Internal => sys::TT_ERR_INTERNAL,
            Status::OutOfMemory => sys::TT_ERR_OUT_OF_MEMORY,
            Status::Unknown(code) => code,
        }
    }

    /// The C name: "TT_ERR_IO", ... ("TT_ERR_UNKNOWN" for values the library does not know).
    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidArgument => "TT_ERR_INVALID_ARGUMENT",
            Status::Io => "TT_ERR_IO",
            Status::Parse => "TT_ERR_PARSE",
            Status::Corrupt => "TT_ERR_CORRUPT",
            Status::Unsupported => "TT_ERR_UNSUPPORTED",
            Status::Cancelled => "TT_ERR_CANCELLED",
            Status::Internal => "TT_ERR_INTERNAL",
            Status::OutOfMemory => "TT_ERR_OUT_OF_MEMORY",
            Status::Unknown(_) => "TT_ERR_UNKNOWN",
        }
    }
}

/// A failed call: its status and the library's message, which names the file, line, field or
/// argument at fault (e.g. `tt_model_load_v2: model.tt: no such file`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Turns a status into a Result. Must run right after the call that returned `status`, on the
/// same thread, before any other twotower call: tt_last_error() is per thread and lasts only
/// until the next call.
pub(crate) fn check(status: sys::tt_status) -> Result<()> {
    if status == sys::TT_OK {
        return Ok(());
    }
    // SAFETY: tt_last_error never returns NULL and its text stays valid until the next call.
    let message = unsafe { CStr::from_ptr(sys::tt_last_error()) }.to_string_lossy().into_owned();
    Err(Error::new(Status::from_raw(status), message))
}

/// A C string for the library, or InvalidArgument naming `what` if `text` holds a NUL byte.
pub(crate) fn c_string(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|e| {
        Error::new(
            Status::InvalidArgument,
            format!("{what} contains a NUL byte at position {}: {text:?}", e.nul_position()),
        )
    })
}

/// A path as a C string (its bytes on Unix), or InvalidArgument if it holds a NUL byte.
pub(crate) fn c_path(path: &std::path::Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().into_owned().into_bytes();
    CString::new(bytes).map_err(|e| {
        Error::new(
            Status::InvalidArgument,
            format!("path {} contains a NUL byte at position {}", path.display(), e.nul_position()),
        )
    })
}

/// A string owned by the library, which must outlive `'a`.
///
/// # Safety
/// `ptr` must be a valid NUL-terminated string that lives at least as long as `'a`.
pub(crate) unsafe fn borrowed_str<'a>(ptr: *const std::ffi::c_char, what: &str) -> Result<&'a str> {
    let bytes = CStr::from_ptr(ptr).to_bytes();
    std::str::from_utf8(bytes).map_err(|e| Error::new(Status::Internal, format!("{what} is not valid UTF-8 ({e})")))
}
