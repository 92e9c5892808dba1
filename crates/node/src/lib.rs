//! Native Node.js binding of `pubwiki-lua-core`: the JS call object read into a `CallSpec`
//! (call.rs), outcomes made into JS objects (here), and what only a native addon has: a
//! thread pool whose calls settle promises on the JS thread (completion.rs), host requests
//! that travel from pool threads to the JS thread and back (host.rs, scratch.rs), and
//! mimalloc. All Lua work and all limits live in the core; lib/call.mjs builds and checks
//! the call object, lib/wire.mjs encodes and decodes values (they cross as bytes), and
//! lib/bridge.mjs drives calls with a host.

// napi-rs registers the exported functions only outside `cargo test` builds, where they
// would all look unused.
#![cfg_attr(test, allow(dead_code))]

mod call;
mod completion;
mod host;
mod runner;
mod scratch;

/// mimalloc rather than glibc's malloc: results are made on pool threads and freed on the JS
/// thread, where glibc's per-thread arenas make each such free lock and consolidate the pool
/// thread's arena; and Lua's own state set-up and teardown get faster too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use pubwiki_lua_core::{monotonic_ms, Call, Limits, RunError, RunOutput};

use crate::call::JsCall;
use crate::runner::Runner;

/// A call's outcome as one plain object: `{ ok: true, output, values }` or
/// `{ ok: false, kind, message, output, traceback, cause }`. `values` are wire bytes
/// (lib/wire.mjs decodes them); `cause` is the host's id of the error that ended the call.
#[napi(object, object_from_js = false)]
pub struct Outcome {
    pub ok: bool,
    pub output: String,
    pub values: Option<WireBytes>,
    pub kind: Option<String>,
    pub message: Option<String>,
    pub traceback: Option<String>,
    pub cause: Option<u32>,
    /// What `mw.log` wrote, when it wrote anything.
    pub log: Option<String>,
}

impl From<std::result::Result<RunOutput, RunError>> for Outcome {
    fn from(result: std::result::Result<RunOutput, RunError>) -> Self {
        match result {
            Ok(done) => Outcome {
                ok: true,
                output: done.output,
                values: Some(WireBytes(done.values.0)),
                kind: None,
                message: None,
                traceback: None,
                cause: None,
                log: Some(done.log).filter(|log| !log.is_empty()),
            },
            Err(error) => Outcome {
                ok: false,
                output: error.output,
                values: None,
                kind: Some(error.kind.as_str().to_string()),
                message: Some(error.message),
                traceback: Some(error.traceback),
                cause: error.cause,
                log: Some(error.log).filter(|log| !log.is_empty()),
            },
        }
    }
}

/// Wire bytes on their way to JS, as a Buffer holding a copy (values are small, and a copy
/// needs no finalizer, unlike a Buffer over the Vec).
pub struct WireBytes(Vec<u8>);

impl TypeName for WireBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for WireBytes {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        check_status!(sys::napi_create_buffer_copy(
            env,
            value.0.len(),
            value.0.as_ptr().cast(),
            &mut data,
            &mut buffer
        ))?;
        Ok(buffer)
    }
}

/// How a slice of a call ended, for JS: its Outcome, or the milliseconds left until its
/// deadline while it waits for its host.
pub enum Settled {
    Done(Outcome),
    Waiting(f64),
}

impl ToNapiValue for Settled {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        match value {
            Settled::Done(outcome) => Outcome::to_napi_value(env, outcome),
            Settled::Waiting(time_left_ms) => f64::to_napi_value(env, time_left_ms),
        }
    }
}

/// Wire bytes from JS (a Uint8Array or Buffer), copied: they may go to another thread.
pub struct WireInput(Vec<u8>);

impl TypeName for WireInput {
    fn type_name() -> &'static str {
        "Uint8Array"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for WireInput {}

impl FromNapiValue for WireInput {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut kind = 0;
        let mut length = 0;
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        let mut offset = 0;
        check_status!(
            sys::napi_get_typedarray_info(
                env,
                value,
                &mut kind,
                &mut length,
                &mut data,
                &mut buffer,
                &mut offset
            ),
            "expected a Uint8Array of wire bytes"
        )?;
        if kind != sys::TypedarrayType::uint8_array {
            return Err(Error::new(
                Status::InvalidArg,
                "expected a Uint8Array of wire bytes",
            ));
        }
        let bytes = if length == 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(data as *const u8, length).to_vec()
        };
        Ok(WireInput(bytes))
    }
}

/// A value napi already made (the promise of an async call).
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        Ok(value.0)
    }
}

/// What the core fixes and lib/core-constants.mjs repeats for JS (a test compares them).
#[napi(object, object_from_js = false)]
pub struct Constants {
    pub memory_limit: f64,
    pub time_limit: f64,
    pub output_limit: f64,
    pub max_nesting: u32,
    pub host_errors_kept: u32,
    pub internal_error: String,
    pub too_deep: String,
}

#[napi]
pub fn constants() -> Constants {
    Constants {
        memory_limit: Limits::DEFAULT.memory_bytes as f64,
        time_limit: Limits::DEFAULT.time_ms,
        output_limit: Limits::DEFAULT.output_bytes as f64,
        max_nesting: pubwiki_lua_core::MAX_NESTING as u32,
        host_errors_kept: pubwiki_lua_core::HOST_ERRORS_KEPT as u32,
        internal_error: pubwiki_lua_core::INTERNAL_ERROR.to_string(),
        too_deep: pubwiki_lua_core::too_deep(),
    }
}

/// Runs a call without a host (no host functions, modules or State) on the addon's thread
/// pool (completion.rs); resolves to an `Outcome`.
#[napi(ts_return_type = "Promise<Outcome>")]
pub fn run_async(env: Env, call: JsCall, runner: &Runner) -> Result<RawValue> {
    let call = Call::new(runner.equip(call.0), monotonic_ms);
    completion::spawn(&env, move || Settled::Done(call.run_to_end().into())).map(RawValue)
}

/// Runs a call without a host on the calling thread (`runner`: its runner's arenas).
#[napi]
pub fn run_sync(call: JsCall, runner: &Runner) -> Outcome {
    Call::new(runner.equip(call.0), monotonic_ms)
        .run_to_end()
        .into()
}
