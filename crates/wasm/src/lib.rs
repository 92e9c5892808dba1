//! WebAssembly build of pubwiki-lua: a thin wasm-bindgen wrapper over `pubwiki-lua-core`.
//!
//! A call crosses as bytes both ways (the core's `CallSpec::decode` and `encode_outcome`;
//! lib/wasm-backend.mjs writes and reads them), one copy into and out of this module's
//! memory instead of a JS call per field. What only the wasm build has:
//! the C runtime's clock and the interpreter's step counter (`start`), and a host bridge
//! whose bytes cross through this module's memory as raw offsets (`Bridge`). Everything
//! runs on the calling thread: a call waits for its host by returning, and is resumed by
//! the JS side (lib/wasm-backend.mjs). One glue (wasm-bindgen's `web` target made a factory of
//! instances by scripts/wasm-glue-factory.mjs) serves browsers, bundlers and Node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use js_sys::{Object, Reflect, Uint8Array};
use pubwiki_lua_core::wire::error_reply;
use pubwiki_lua_core::{
    encode_outcome, ArenaPool, CallSpec, Deadline, Host, Limits, Request, RunError, Step,
};
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

/// mw.ustring's normalizations, by JavaScript's `String.prototype.normalize` (the core is
/// built without Unicode's tables here).
fn normalize(text: &str, form: pubwiki_lua_core::NormalForm) -> String {
    js_sys::JsString::from(text).normalize(form.as_str()).into()
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
            pubwiki_lua_core::set_normalizer(normalize);
            __wasm_call_ctors();
        }
    }
}

/// The call `bytes` describe (call_spec.rs), with `runner`'s modules and arenas.
fn new_call(bytes: &[u8], runner: &Runner) -> Result<pubwiki_lua_core::Call, JsError> {
    let spec =
        CallSpec::decode(bytes).map_err(|_| JsError::new("pubwiki-lua: a malformed call"))?;
    Ok(pubwiki_lua_core::Call::new(
        runner.equip(spec),
        monotonic_ms,
    ))
}

/// Runs a call without a host (no host functions, modules, arguments or State) to its end;
/// returns its outcome's bytes (`encode_outcome`).
#[wasm_bindgen]
pub fn run(call: &[u8], runner: &Runner) -> Result<Vec<u8>, JsError> {
    Ok(encode_outcome(&new_call(call, runner)?.run_to_end()))
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
    fn request(
        this: &Bridge,
        function: u32,
        args: u32,
        args_len: u32,
        reply: u32,
        capacity: u32,
    ) -> u32;

    /// Writes the reply that did not fit at `reply` (which has room for it now); 0, or
    /// `BRIDGE_FAILED`.
    #[wasm_bindgen(method, js_name = copyReply)]
    fn copy_reply(this: &Bridge, reply: u32) -> u32;
}

/// What the core fixes and lib/core-constants.mjs repeats for JS (a test compares them):
/// `{ memoryLimit, timeLimit, outputLimit, maxNesting, hostErrorsKept, internalError, tooDeep }`.
#[wasm_bindgen]
pub fn constants() -> JsValue {
    let constants = Object::new();
    set(
        &constants,
        "memoryLimit",
        JsValue::from_f64(Limits::DEFAULT.memory_bytes as f64),
    );
    set(
        &constants,
        "timeLimit",
        JsValue::from_f64(Limits::DEFAULT.time_ms),
    );
    set(
        &constants,
        "outputLimit",
        JsValue::from_f64(Limits::DEFAULT.output_bytes as f64),
    );
    set(
        &constants,
        "maxNesting",
        JsValue::from_f64(pubwiki_lua_core::MAX_NESTING as f64),
    );
    set(
        &constants,
        "hostErrorsKept",
        JsValue::from_f64(pubwiki_lua_core::HOST_ERRORS_KEPT as f64),
    );
    set(
        &constants,
        "internalError",
        JsValue::from_str(pubwiki_lua_core::INTERNAL_ERROR),
    );
    set(
        &constants,
        "tooDeep",
        JsValue::from_str(&pubwiki_lua_core::too_deep()),
    );
    constants.into()
}

/// What the bridge's functions return when they fail.
const BRIDGE_FAILED: u32 = u32::MAX;

/// This module's memory, for the bridge.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A call with a host that outlived its first slice (`runWithHost`): it runs by slices
/// (`resumeSync`), and asks its `Bridge` when the script calls a host function. Between
/// slices it waits for the host, holding nothing but its Lua state.
#[wasm_bindgen]
pub struct Call {
    inner: pubwiki_lua_core::Call,
    bridge: Bridge,
}

/// What a runner shares between its calls: its compiled modules (the core's
/// `ModuleCache`) and its arenas (the core's `ArenaPool`: the shared one, or one whose image
/// holds the runner's preloaded modules).
#[wasm_bindgen]
pub struct Runner {
    cache: Arc<pubwiki_lua_core::ModuleCache>,
    pool: Arc<ArenaPool>,
}

#[wasm_bindgen]
impl Runner {
    /// `names` and `sources` (as many) are the modules to preload, which load under the
    /// limits given (undefined: the core's defaults); `mw`: the image has Scribunto's `mw`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        names: Vec<String>,
        sources: Vec<String>,
        memory_limit: Option<f64>,
        time_limit: Option<f64>,
        mw: Option<bool>,
    ) -> Result<Runner, JsError> {
        if names.len() != sources.len() {
            return Err(JsError::new("a source for each preloaded module"));
        }
        let preload = names
            .into_iter()
            .zip(sources.into_iter().map(String::into_bytes))
            .collect();
        let limits = Limits::with_overrides(memory_limit, time_limit, None);
        let pool = ArenaPool::for_runner(preload, limits, mw == Some(true));
        Ok(Runner {
            cache: Arc::new(pubwiki_lua_core::ModuleCache::default()),
            pool,
        })
    }
}

impl Runner {
    /// `spec` runs with this runner's modules and arenas.
    fn equip(&self, mut spec: CallSpec) -> CallSpec {
        spec.module_cache = Some(self.cache.clone());
        spec.pool = Some(self.pool.clone());
        spec
    }
}

/// Starts a call with a host (see `Call`) and runs its first slice: `call` are its bytes,
/// `runner` its runner's modules and arenas, `bridge` the host side of its requests.
/// Returns the outcome's bytes when the call ends in that slice (most calls: no `Call`
/// object is made for them, whose JS wrapper costs a `FinalizationRegistry` entry), else
/// `[call, msLeft]` while it waits for its host.
#[wasm_bindgen(js_name = runWithHost, unchecked_return_type = "Uint8Array | [Call, number]")]
pub fn run_with_host(call: &[u8], runner: &Runner, bridge: Bridge) -> Result<JsValue, JsError> {
    let mut call = Call {
        inner: new_call(call, runner)?,
        bridge,
    };
    let step = call.inner.resume(
        &mut JsHost {
            bridge: &call.bridge,
        },
        None,
    );
    Ok(match step {
        Step::Waiting { time_left_ms } => {
            js_sys::Array::of2(&JsValue::from(call), &JsValue::from_f64(time_left_ms)).into()
        }
        ended => finish(ended),
    })
}

#[wasm_bindgen]
impl Call {
    /// Runs the call until it ends (returns its outcome's bytes) or waits for the host (returns
    /// the milliseconds left until the call's deadline); `reply` answers the request it
    /// waited for (undefined: the host gave up).
    #[wasm_bindgen(js_name = resumeSync, unchecked_return_type = "Uint8Array | number")]
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
            return error_reply("pubwiki-lua: the host bridge failed");
        }
        let len = len as usize;
        if len > reply.capacity() {
            reply.reserve_exact(len);
            if self.bridge.copy_reply(reply.as_mut_ptr() as u32) == BRIDGE_FAILED {
                return error_reply("pubwiki-lua: the host bridge failed");
            }
        }
        // SAFETY: the bridge wrote `len` bytes at the start of the buffer, within its capacity.
        unsafe { reply.set_len(len) };
        reply
    }
}

/// A slice's end for JS: the outcome's bytes, or the milliseconds left while the call waits.
fn finish(step: Step) -> JsValue {
    match step {
        Step::Done(result) => Uint8Array::from(&encode_outcome(&result)[..]).into(),
        Step::Waiting { time_left_ms } => JsValue::from_f64(time_left_ms),
        // Slices here have no budget (everything runs on this thread), so none is preempted.
        Step::Preempted => Uint8Array::from(&encode_outcome(&Err(RunError::internal()))[..]).into(),
    }
}

fn set(object: &Object, key: &str, value: JsValue) {
    // Cannot fail: `object` is a plain, extensible object.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value);
}
