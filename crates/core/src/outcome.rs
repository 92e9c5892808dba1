//! What a call produces: its output and return values, or a classified error.

use crate::wire::Values;

/// What a successful call produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// Everything printed, with invalid UTF-8 replaced by U+FFFD.
    pub output: String,
    /// The chunk's return values, in the wire format (`Values::decode` gives Rust data).
    pub values: Values,
    /// What `mw.log` and its kin wrote (empty without `mw`), as `output`.
    pub log: String,
}

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Syntax,
    Runtime,
    Memory,
    Timeout,
    Output,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Runtime => "runtime",
            ErrorKind::Memory => "memory",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Output => "output",
        }
    }
}

/// A failed call: the error and everything printed before it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunError {
    pub kind: ErrorKind,
    /// Readable message, e.g. `page:3: attempt to call a nil value (global 'f')`.
    pub message: String,
    /// Everything printed before the error.
    pub output: String,
    /// Lua stack traceback at the error (empty for syntax and memory errors).
    pub traceback: String,
    /// The host's id of the error its function raised, when that error ended the call.
    pub cause: Option<u32>,
    /// What `mw.log` and its kin wrote before the error.
    pub log: String,
}

impl RunError {
    /// A bug in pubwiki-lua (the core or a driver), reported as the call's error.
    pub fn internal() -> RunError {
        RunError {
            kind: ErrorKind::Runtime,
            message: INTERNAL_ERROR.to_string(),
            output: String::new(),
            traceback: String::new(),
            cause: None,
            log: String::new(),
        }
    }
}

/// The message of an internal error (a bug in pubwiki-lua).
pub const INTERNAL_ERROR: &str = "internal error in pubwiki-lua";

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}
