//! Native Node.js binding: argument conversion, thread-pool plumbing and result mapping.
//! All Lua work and all limits live in `pubwiki-lua-core`; `index.js` validates arguments
//! and turns failed results into `LuaError`s.

mod completion;

/// mimalloc rather than glibc's malloc: results are made on pool threads and freed on the JS
/// thread, where glibc's per-thread arenas make each such free lock and consolidate the pool
/// thread's arena; and Lua's own state set-up and teardown get faster too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use pubwiki_lua_core::{run, Limits, RunError, RunOutput};

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
      },
      Err(error) => Outcome {
        ok: false,
        output: error.output,
        values: None,
        kind: Some(error.kind.as_str().to_string()),
        message: Some(error.message),
        traceback: Some(error.traceback),
        cause: error.cause,
      },
    }
  }
}

impl Outcome {
  fn internal_error() -> Self {
    Outcome {
      ok: false,
      output: String::new(),
      values: None,
      kind: Some("runtime".into()),
      message: Some("internal error in pubwiki-lua".into()),
      traceback: Some(String::new()),
      cause: None,
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

/// A value napi already made (the promise of an async call).
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
  unsafe fn to_napi_value(_env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
    Ok(value.0)
  }
}

/// Runs on the addon's thread pool (see completion.rs); resolves to an `Outcome`.
#[napi(ts_return_type = "Promise<Outcome>")]
pub fn run_async(
  env: Env,
  code: String,
  script_id: String,
  memory_limit: Option<f64>,
  time_limit: Option<f64>,
  output_limit: Option<f64>,
) -> Result<RawValue> {
  let limits = Limits::with_overrides(memory_limit, time_limit, output_limit);
  completion::spawn(&env, move || run(code.as_bytes(), &script_id, &limits).into()).map(RawValue)
}

/// Runs on the calling thread.
#[napi]
pub fn run_sync(
  code: String,
  script_id: String,
  memory_limit: Option<f64>,
  time_limit: Option<f64>,
  output_limit: Option<f64>,
) -> Outcome {
  run(code.as_bytes(), &script_id, &Limits::with_overrides(memory_limit, time_limit, output_limit)).into()
}

