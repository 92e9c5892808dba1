//! WebAssembly build of pubwiki-lua: a thin wasm-bindgen wrapper over `pubwiki-lua-core`.
//!
//! The JS side validates arguments; this only converts them and the result. The same
//! module serves two glues (scripts/build-wasm.sh): wasm-bindgen's `web` target for
//! browsers and bundlers, and its `nodejs` target (CommonJS, synchronous load) for Node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use js_sys::{Object, Reflect, Uint8Array};
use pubwiki_lua_core::wire::{Writer, REPLY_ERROR};
use pubwiki_lua_core::{Deadline, Host, Limits, NoHost, Request, Step};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Monotonic milliseconds (browsers, workers and Node >= 16 all have it).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    /// Milliseconds since the Unix epoch.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

fn monotonic_ms() -> f64 {
    performance_now()
}

/// The clocks of C's `clock_gettime` (c/wasi_stubs.c): 0 is the wall clock.
extern "C" fn host_now_ms(clock_id: i32) -> f64 {
    if clock_id == 0 {
        date_now()
    } else {
        performance_now()
    }
}

extern "C" {
    /// wasm-ld's function running the C constructors (wasi-libc has some).
    fn __wasm_call_ctors();
    fn pubwiki_lua_wasm_set_clock(now_ms: extern "C" fn(i32) -> f64);
    /// c/fuel.c: what the interpreter's step counter calls when it runs out.
    fn pubwiki_lua_wasm_set_fuel_handler(handler: extern "C" fn());
}

extern "C" fn fuel_empty() {
    pubwiki_lua_core::fuel_empty();
}

/// Runs when the module is instantiated (the glue calls it; later calls do nothing).
/// Calling `__wasm_call_ctors` here, and so referencing it, stops wasm-ld from wrapping
/// every export in a call to it.
#[wasm_bindgen(start)]
fn start() {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if !STARTED.swap(true, Ordering::Relaxed) {
        unsafe {
            pubwiki_lua_wasm_set_clock(host_now_ms);
            pubwiki_lua_wasm_set_fuel_handler(fuel_empty);
            pubwiki_lua_core::enable_fuel_interrupts();
            __wasm_call_ctors();
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A call's outcome, as the native addon returns it too: `values` in the wire format
 *  (lib/wire.mjs decodes them); `cause`: the host's id of the error that ended the call. */
export type Outcome =
  | { ok: true; output: string; values: Uint8Array }
  | {
      ok: false;
      kind: "syntax" | "runtime" | "memory" | "timeout" | "output";
      message: string;
      output: string;
      traceback: string;
      cause?: number;
    };
"#;

/// Runs `code` as a Lua 5.4 chunk named `script_id` in a fresh sandboxed state, with
/// `globals` (wire bytes from lib/wire.mjs; data only: calls with host functions use
/// `startCall`).
///
/// Limits are bytes and milliseconds; `undefined` keeps the core's default (the JS side
/// checks them). Returns `{ok: true, output, values}` or
/// `{ok: false, kind, message, output, traceback, cause?}`.
#[wasm_bindgen(unchecked_return_type = "Outcome")]
pub fn run(
    code: &str,
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
    globals: Option<Vec<u8>>,
) -> JsValue {
    let mut call = new_call(code.as_bytes(), script_id, memory_limit, time_limit, output_limit, globals);
    finish(call.resume(&mut NoHost, None))
}

/// `run` for code given as bytes.
#[wasm_bindgen(js_name = runBytes, unchecked_return_type = "Outcome")]
pub fn run_bytes(
    code: &[u8],
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
    globals: Option<Vec<u8>>,
) -> JsValue {
    let mut call = new_call(code, script_id, memory_limit, time_limit, output_limit, globals);
    finish(call.resume(&mut NoHost, None))
}

fn new_call(
    code: &[u8],
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
    globals: Option<Vec<u8>>,
) -> pubwiki_lua_core::Call {
    let limits = Limits::with_overrides(memory_limit, time_limit, output_limit);
    let call = pubwiki_lua_core::Call::new(code, script_id, &limits, monotonic_ms);
    match globals {
        Some(globals) => call.with_globals(globals),
        None => call,
    }
}

#[wasm_bindgen]
extern "C" {
    /// The host side of calls with host functions (calls.mjs's `hostBridge` over
    /// lib/bridge.mjs). Bytes cross through this module's memory, as raw offsets: a host
    /// call costs one JS call and no JS object (a `Uint8Array` each way cost half of it).
    pub type Bridge;

    /// Answers host function `function` called with the `args_len` bytes at `args`: writes
    /// the reply at `reply` if it fits in `capacity` bytes, and returns its length either
    /// way, or `BRIDGE_FAILED`. It never throws (calls.mjs catches everything: a JS
    /// exception must not unwind through Lua's frames), so it needs no `catch` wrapper here,
    /// which would cost an arguments array per call.
    #[wasm_bindgen(method)]
    fn request(this: &Bridge, function: u32, args: u32, args_len: u32, reply: u32, capacity: u32) -> u32;

    /// Writes the reply that did not fit at `reply` (which has room for it now); 0, or
    /// `BRIDGE_FAILED`.
    #[wasm_bindgen(method, js_name = copyReply)]
    fn copy_reply(this: &Bridge, reply: u32) -> u32;
}

/// What the core fixes and lib/core-constants.mjs repeats for JS (a test compares them):
/// `{ memoryLimit, timeLimit, outputLimit, maxNesting, hostErrorsKept }`.
#[wasm_bindgen]
pub fn constants() -> JsValue {
    let constants = Object::new();
    set(&constants, "memoryLimit", JsValue::from_f64(Limits::DEFAULT.memory_bytes as f64));
    set(&constants, "timeLimit", JsValue::from_f64(Limits::DEFAULT.time_ms));
    set(&constants, "outputLimit", JsValue::from_f64(Limits::DEFAULT.output_bytes as f64));
    set(&constants, "maxNesting", JsValue::from_f64(pubwiki_lua_core::MAX_NESTING as f64));
    set(&constants, "hostErrorsKept", JsValue::from_f64(pubwiki_lua_core::HOST_ERRORS_KEPT as f64));
    constants.into()
}

/// What the bridge's functions return when they fail.
const BRIDGE_FAILED: u32 = u32::MAX;

/// This module's memory, for the bridge.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A call whose globals hold host functions: it runs by slices (`resumeSync`), and asks
/// its `Bridge` when the script calls one. Between slices it waits for the host, holding
/// nothing but its Lua state.
#[wasm_bindgen]
pub struct Call {
    inner: pubwiki_lua_core::Call,
    bridge: Bridge,
}

/// A runner's compiled modules, shared by its calls (the core's `ModuleCache`).
#[wasm_bindgen]
pub struct ModuleCache {
    inner: Arc<pubwiki_lua_core::ModuleCache>,
}

#[wasm_bindgen]
impl ModuleCache {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> ModuleCache {
        ModuleCache {
            inner: Arc::new(pubwiki_lua_core::ModuleCache::default()),
        }
    }
}

/// Starts a call (see `Call`) of `code`, or, given `invoke_module`, of
/// `require(invoke_module)[invoke_function](...)`, with `arguments` (wire values) as the
/// `...` of either. `synchronous`: the host answers every request at once; `with_state`:
/// the script has `State` (its requests go to the bridge as calls of function `STATE`).
#[wasm_bindgen(js_name = startCall)]
#[allow(clippy::too_many_arguments)]
pub fn start_call(
    code: &str,
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
    globals: Option<Vec<u8>>,
    cache: &ModuleCache,
    bridge: Bridge,
    synchronous: bool,
    invoke_module: Option<String>,
    invoke_function: Option<String>,
    arguments: Option<Vec<u8>>,
    with_state: Option<bool>,
) -> Call {
    let limits = Limits::with_overrides(memory_limit, time_limit, output_limit);
    let mut call = match (&invoke_module, &invoke_function) {
        (Some(module), Some(function)) => pubwiki_lua_core::Call::invoke(module, function, script_id, &limits, monotonic_ms),
        _ => pubwiki_lua_core::Call::new(code.as_bytes(), script_id, &limits, monotonic_ms),
    };
    if let Some(globals) = globals {
        call = call.with_globals(globals);
    }
    if let Some(arguments) = arguments {
        call = call.with_arguments(arguments);
    }
    call = call.with_module_cache(cache.inner.clone());
    if with_state == Some(true) {
        call = call.with_state();
    }
    Call {
        inner: if synchronous { call.synchronous() } else { call },
        bridge,
    }
}

#[wasm_bindgen]
impl Call {
    /// Runs the call until it ends (returns its Outcome) or waits for the host (returns
    /// the milliseconds left until the call's deadline); `reply` answers the request it
    /// waited for (undefined: the host gave up).
    #[wasm_bindgen(js_name = resumeSync, unchecked_return_type = "Outcome | number")]
    pub fn resume_sync(&mut self, reply: Option<Vec<u8>>) -> JsValue {
        let mut host = JsHost {
            bridge: &self.bridge,
        };
        finish(self.inner.resume(&mut host, reply))
    }
}

/// The host, in JS: a request goes to the bridge, on this thread.
struct JsHost<'a> {
    bridge: &'a Bridge,
}

/// Room for a reply before the bridge is asked to copy a bigger one.
const REPLY_CAPACITY: usize = 256;

impl Host for JsHost<'_> {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (function, args, _) = request.as_call();
        let mut reply = Vec::with_capacity(REPLY_CAPACITY);
        let len = self.bridge.request(
            function,
            args.as_ptr() as u32,
            args.len() as u32,
            reply.as_mut_ptr() as u32,
            reply.capacity() as u32,
        );
        if len == BRIDGE_FAILED {
            return bridge_failure();
        }
        let len = len as usize;
        if len > reply.capacity() {
            reply.reserve_exact(len);
            if self.bridge.copy_reply(reply.as_mut_ptr() as u32) == BRIDGE_FAILED {
                return bridge_failure();
            }
        }
        // SAFETY: the bridge wrote `len` bytes at the start of the buffer, within its capacity.
        unsafe { reply.set_len(len) };
        reply
    }
}

/// The reply for a bridge that threw or answered with something else than bytes (a bug).
fn bridge_failure() -> Vec<u8> {
    let mut reply = Writer::new();
    reply.tag(REPLY_ERROR).bytes(b"pubwiki-lua: the host bridge failed").varint(0);
    reply.into_bytes()
}

/// A slice's end for JS: the Outcome, or the milliseconds left while the call waits.
fn finish(step: Step) -> JsValue {
    match step {
        Step::Done(result) => to_outcome(result),
        Step::Waiting { time_left_ms } => JsValue::from_f64(time_left_ms),
    }
}

fn to_outcome(result: Result<pubwiki_lua_core::RunOutput, pubwiki_lua_core::RunError>) -> JsValue {
    let outcome = Object::new();
    match result {
        Ok(out) => {
            set(&outcome, "ok", JsValue::TRUE);
            set(&outcome, "output", JsValue::from_str(&out.output));
            set(&outcome, "values", Uint8Array::from(out.values.as_bytes()).into());
        }
        Err(err) => {
            set(&outcome, "ok", JsValue::FALSE);
            set(&outcome, "kind", JsValue::from_str(err.kind.as_str()));
            set(&outcome, "message", JsValue::from_str(&err.message));
            set(&outcome, "output", JsValue::from_str(&err.output));
            set(&outcome, "traceback", JsValue::from_str(&err.traceback));
            if let Some(cause) = err.cause {
                set(&outcome, "cause", JsValue::from_f64(cause as f64));
            }
        }
    }
    outcome.into()
}

fn set(object: &Object, key: &str, value: JsValue) {
    // Cannot fail: `object` is a plain, extensible object.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value);
}
