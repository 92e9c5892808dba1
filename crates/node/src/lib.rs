//! Native Node.js binding of `pubwiki-lua-core`. A call crosses as bytes both ways (the
//! core's `CallSpec::decode` and `encode_outcome`; lib/native-backend.mjs writes and reads
//! them), so what is here is what only a native addon has: a thread pool whose calls settle
//! promises on the JS thread (completion.rs), host requests that travel from pool threads
//! to the JS thread and back (host.rs, scratch.rs), and mimalloc. All Lua work and all
//! limits live in the core; lib/bridge.mjs drives calls with a host.

// napi-rs registers the exported functions only outside `cargo test` builds, where they
// would all look unused.
#![cfg_attr(test, allow(dead_code))]

mod completion;
mod host;
mod runner;
mod scratch;

/// mimalloc rather than glibc's malloc: results are made on pool threads and freed on the JS
/// thread, where glibc's per-thread arenas make each such free lock and consolidate the pool
/// thread's arena; and Lua's own state set-up and teardown get faster too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (the 5th of its `mi_option_e`; the Rust
/// binding names no constant for it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Before the addon's first allocation: mimalloc commits its arenas on demand. Committed
/// eagerly (its default on Linux), an arena is one mapping advised for transparent huge
/// pages, and a call's state (~2.5 KB, one per call with a host) often landed on a page
/// mimalloc had just purged: the next call faulted in and zeroed a whole 2 MiB huge page.
/// Calls with arguments, State or host functions then took 16-18 us instead of 10 (runSync,
/// `local base = ... return base`, in about half the processes, by where the heap fell).
#[ctor::ctor(unsafe)]
fn commit_mimalloc_arenas_on_demand() {
    // SAFETY: sets an option, before any allocation of this library's.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use pubwiki_lua_core::{encode_outcome, monotonic_ms, Call, CallSpec, Limits, NoHost, Step};

use crate::completion::Channel;
use crate::runner::Runner;

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

/// How a slice of a call ended, for JS: its outcome's bytes (`encode_outcome`), or the
/// milliseconds left until its deadline while it waits for its host.
pub enum Settled {
    Done(Vec<u8>),
    Waiting(f64),
}

impl ToNapiValue for Settled {
    unsafe fn to_napi_value(env: sys::napi_env, value: Self) -> Result<sys::napi_value> {
        match value {
            Settled::Done(outcome) => WireBytes::to_napi_value(env, WireBytes(outcome)),
            Settled::Waiting(time_left_ms) => f64::to_napi_value(env, time_left_ms),
        }
    }
}

impl Settled {
    /// For JS that reads it before anything else runs (a slice that ended on the JS thread,
    /// returned by the napi function that ran it): an outcome that fits crosses in the
    /// environment's scratch buffer, and JS gets `null` (scratch.rs says why); anything else
    /// as `to_napi_value` makes it. (A promise's value is read later, when the buffer may hold
    /// another call's: completion.rs settles with `to_napi_value`.)
    unsafe fn now(self, env: sys::napi_env, channel: &Channel) -> Result<RawValue> {
        if let Settled::Done(outcome) = &self {
            let mut slot = channel.scratch.lock().unwrap_or_else(|e| e.into_inner());
            if scratch::made(env, &mut slot)?.put_outcome(outcome) {
                let mut null = std::ptr::null_mut();
                check_status!(sys::napi_get_null(env, &mut null))?;
                return Ok(RawValue(null));
            }
        }
        Settled::to_napi_value(env, self).map(RawValue)
    }
}

/// The environment's scratch buffer (scratch.rs), where outcomes returned as `null` are.
#[napi(ts_return_type = "Uint8Array")]
pub fn scratch(env: Env) -> Result<RawValue> {
    let channel = completion::channel(&env)?;
    let mut slot = channel.scratch.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { scratch::made(env.raw(), &mut slot)?.value(env.raw()) }.map(RawValue)
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

/// The call `bytes` describe (call_spec.rs), with `runner`'s modules and arenas.
fn new_call(bytes: &WireInput, runner: &Runner) -> Result<Call> {
    let spec = CallSpec::decode(&bytes.0).map_err(|error| {
        Error::new(
            Status::InvalidArg,
            format!("pubwiki-lua: a malformed call ({error:?})"),
        )
    })?;
    Ok(Call::new(runner.equip(spec), monotonic_ms))
}

/// How long an async call may run on the JS thread before it goes on on the pool. A hop to
/// the pool and back costs ~10 us, twice a small call: a call that ends within this budget
/// is done before a hop could have started it, and one that does not pays the hop on a
/// run at least 25 times as long. The JS thread is held that long at most (and, where Lua
/// cannot yield, until it can: a `table.sort` comparator runs on until the sort ends).
pub const INLINE_BUDGET_MS: f64 = 0.25;

/// Runs a call without a host (no host functions, modules or State): on the JS thread for
/// `INLINE_BUDGET_MS`, then, if it is not over, on the addon's thread pool (completion.rs).
/// Gives its outcome's bytes (`null`: in the scratch buffer), or a promise of them.
#[napi(ts_return_type = "Buffer | null | Promise<Buffer>")]
pub fn run_async(env: Env, call: WireInput, runner: &Runner) -> Result<RawValue> {
    let mut call = new_call(&call, runner)?;
    let first = call.resume_within(&mut NoHost, None, Some(INLINE_BUDGET_MS));
    let outcome = match first {
        Step::Done(result) => encode_outcome(&result),
        Step::Preempted => {
            return completion::spawn(&env, move || {
                Settled::Done(encode_outcome(&call.run_to_end()))
            })
            .map(RawValue)
        }
        // Nothing can wait in a call without a host.
        Step::Waiting { .. } => encode_outcome(&Err(pubwiki_lua_core::RunError::internal())),
    };
    unsafe { Settled::Done(outcome).now(env.raw(), &*completion::channel(&env)?) }
}

/// Runs a call without a host on the calling thread; gives its outcome's bytes (`null`: in
/// the scratch buffer).
#[napi(ts_return_type = "Buffer | null")]
pub fn run_sync(env: Env, call: WireInput, runner: &Runner) -> Result<RawValue> {
    let outcome = encode_outcome(&new_call(&call, runner)?.run_to_end());
    unsafe { Settled::Done(outcome).now(env.raw(), &*completion::channel(&env)?) }
}
