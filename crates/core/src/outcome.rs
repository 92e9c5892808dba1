//! What a call produces: its output and return values, or a classified error.

use crate::wire::{Values, Writer};

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
    /// Every kind, in the order of their indexes in an outcome's bytes (`encode_outcome`).
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Syntax,
        ErrorKind::Runtime,
        ErrorKind::Memory,
        ErrorKind::Timeout,
        ErrorKind::Output,
    ];

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

/// A call's result as bytes for JS (lib/call.mjs `decodeOutcome` reads them; see
/// call_spec.rs for why bytes): a success is `0`, the output and the log (length-prefixed),
/// and the wire values to the end; a failure is `1`, the kind's index (`ErrorKind::ALL`),
/// the message, the output, the traceback and the log (each length-prefixed), and the cause
/// plus one (0: none).
pub fn encode_outcome(result: &Result<RunOutput, RunError>) -> Vec<u8> {
    let mut writer = Writer::new();
    match result {
        Ok(out) => {
            writer
                .tag(0)
                .bytes(out.output.as_bytes())
                .bytes(out.log.as_bytes());
            let mut bytes = writer.into_bytes();
            bytes.extend_from_slice(out.values.as_bytes());
            bytes
        }
        Err(error) => {
            let kind = ErrorKind::ALL.iter().position(|&kind| kind == error.kind);
            writer
                .tag(1)
                .tag(kind.unwrap_or(1) as u8)
                .bytes(error.message.as_bytes())
                .bytes(error.output.as_bytes())
                .bytes(error.traceback.as_bytes())
                .bytes(error.log.as_bytes())
                .varint(error.cause.map_or(0, |cause| u64::from(cause) + 1));
            writer.into_bytes()
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}
