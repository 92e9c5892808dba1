//! Calls with host functions: `NativeCall`, driven by lib/bridge.mjs one slice at a time.
//!
//! A slice runs on the JS thread (`resumeSync`; and `resume` for its first
//! `INLINE_BUDGET_MS`) or on the pool (the rest of a `resume` slice that outlasts that).
//! When the script calls a host function, the core asks its `Host` for a reply:
//! - on the JS thread, the request goes straight to the bridge's `request` function;
//! - on the pool, the request travels to the JS thread (completion.rs's channel), the
//!   bridge answers it there, and the pool thread waits for the reply bytes. That wait is as
//!   short as the JS function itself: one that returns a promise is answered `PENDING` at
//!   once, the core suspends the call, the slice ends, and the thread is free. So no pool
//!   thread ever waits for a promise, and calls that wait for each other cannot deadlock.
//!   The wait spins briefly before it parks (waking a parked thread costs ~25 us here, the
//!   JS function usually takes a few), and gives up at the call's deadline.
//!
//! Arguments and replies cross through the environment's scratch buffer (scratch.rs).
//!
//! Ownership: a call's first slice runs inside the napi call that starts it
//! (`run_with_host`), which reads the bridge's functions as values of that call: most calls
//! end there, and nothing outlives it. A call that waits or is preempted gets a
//! `NativeCall` (a JS object the bridge keeps while it drives the call), whose napi
//! references (`BridgeRefs`) hold the bridge's functions as long as it lives and during each
//! slice on the pool (until its end reaches the JS thread; its requests reach it before).
//! The core's `Call` sits in the `NativeCall` between slices and travels with the slice to
//! the pool thread.

use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;
use pubwiki_lua_core::wire::{error_reply, REPLY_PENDING};
use pubwiki_lua_core::{encode_outcome, Call, Deadline, Host, Request, Step};

use crate::completion::{self, Channel};
use crate::runner::Runner;
use crate::scratch::{self, SCRATCH_BYTES};
use crate::{RawValue, Settled, WireInput, INLINE_BUDGET_MS};

/// How long a pool thread spins for a host reply before it parks.
const SPIN: Duration = Duration::from_micros(50);

/// A call with a host (see the module docs).
#[napi]
pub struct NativeCall {
    /// The core's call between slices; `None` while a slice runs, and once it is over.
    call: Arc<Mutex<Option<Call>>>,
    bridge: Arc<BridgeRefs>,
    channel: Arc<Channel>,
}

/// lib/bridge.mjs's functions that requests call: `request(function, bytes, argsStart,
/// replyStart, capacity) -> length`, `takeSpill() -> replyBytes` and `deliverSoon(deliver)`.
/// Held until the call's outcome has reached JS (`NativeCall::release`) or, failing that,
/// until the last `Arc` goes. Not until the `NativeCall` is finalized: Node runs napi
/// finalizers from the event loop, and a loop of awaited calls that each end on the JS
/// thread never turns it, so every call's bridge (its host functions, globals, State
/// session) was kept until the loop yielded: 1.5 KB a call, 88 MiB over 100k calls.
struct BridgeRefs {
    env: sys::napi_env,
    /// `request`, `takeSpill` and `deliverSoon`; `None` once released.
    functions: Mutex<Option<[sys::napi_ref; 3]>>,
}

const FUNCTION_NAMES: [&std::ffi::CStr; 3] = [c"request", c"takeSpill", c"deliverSoon"];
const REQUEST: usize = 0;
const TAKE_SPILL: usize = 1;
const DELIVER_SOON: usize = 2;

// SAFETY: the references are made, read and deleted on the JS thread only. Pool threads
// hold the `Arc` but touch no reference: they hand it back to the JS thread inside the
// messages that use it. And the last `Arc` goes on the JS thread: the `NativeCall` holding
// one is finalized there, and each slice on the pool keeps one until its end reaches the
// JS thread (completion.rs `spawn_keeping`).
unsafe impl Send for BridgeRefs {}
unsafe impl Sync for BridgeRefs {}

impl BridgeRefs {
    /// References to `bridge`'s functions.
    unsafe fn new(env: sys::napi_env, bridge: sys::napi_value) -> Result<BridgeRefs> {
        let refs = BridgeRefs {
            env,
            functions: Mutex::new(Some([ptr::null_mut(); 3])),
        };
        for (index, name) in FUNCTION_NAMES.into_iter().enumerate() {
            let mut function = ptr::null_mut();
            check_status!(sys::napi_get_named_property(
                env,
                bridge,
                name.as_ptr(),
                &mut function
            ))?;
            let mut guard = refs.functions.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &mut guard.as_mut().expect("not yet released")[index];
            // Any of them made before a failure is deleted with `refs`.
            check_status!(sys::napi_create_reference(env, function, 1, slot))?;
        }
        Ok(refs)
    }

    /// Function `index` (`REQUEST`, `TAKE_SPILL`, `DELIVER_SOON`), as a value of the
    /// current scope.
    unsafe fn function(&self, env: sys::napi_env, index: usize) -> Result<sys::napi_value> {
        let gone = || {
            Error::new(
                Status::GenericFailure,
                "pubwiki-lua: the host bridge is gone",
            )
        };
        let reference = self
            .functions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ok_or_else(gone)?[index];
        let mut value = ptr::null_mut();
        check_status!(sys::napi_get_reference_value(env, reference, &mut value))?;
        if value.is_null() {
            return Err(gone());
        }
        Ok(value)
    }

    /// Deletes the references (on the JS thread); later requests find the bridge gone.
    fn release(&self) {
        let taken = self
            .functions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        for reference in taken.into_iter().flatten() {
            if !reference.is_null() {
                unsafe { sys::napi_delete_reference(self.env, reference) };
            }
        }
    }
}

impl Drop for BridgeRefs {
    fn drop(&mut self) {
        self.release();
    }
}

/// Runs a call with a host (host functions, modules, arguments or State) on this thread:
/// `call` is the JS call object's bytes, `runner` its runner's modules and arenas, `bridge`
/// lib/bridge.mjs's `Bridge`, which answers its requests. A `synchronous` call runs to its
/// end; another runs for `INLINE_BUDGET_MS` (see there), then goes on on the pool.
///
/// Most calls end in this first slice: then this gives the outcome's bytes (`null`: in the
/// scratch buffer, `Settled::now`), and nothing was made to hold the call or the bridge (a
/// `NativeCall` with its napi references was a third of the cost of a small call with
/// arguments). A call that outlives the slice gives
/// `[nativeCall, slice]`: the `NativeCall` that holds it from then on, and how the slice
/// ended (the milliseconds left while the call waits, or a promise of the rest of a
/// preempted slice).
#[napi(ts_return_type = "Buffer | null | [NativeCall, number | Promise<Buffer | number>]")]
pub fn run_with_host(
    env: Env,
    call: WireInput,
    runner: &Runner,
    bridge: Unknown,
    synchronous: bool,
) -> Result<RawValue> {
    let mut call = crate::new_call(&call, runner)?;
    let channel = completion::channel(&env)?;
    let bridge_value = bridge.raw();
    let mut request = ptr::null_mut();
    check_status!(unsafe {
        sys::napi_get_named_property(
            env.raw(),
            bridge_value,
            FUNCTION_NAMES[REQUEST].as_ptr(),
            &mut request,
        )
    })?;
    let mut host = JsThreadHost {
        env: env.raw(),
        bridge: BridgeOnJsThread::Value {
            bridge: bridge_value,
            request,
        },
        channel: &channel,
    };
    let budget = (!synchronous).then_some(INLINE_BUDGET_MS);
    let step = call.resume_within(&mut host, None, budget);
    if let Step::Done(result) = step {
        return unsafe { Settled::Done(encode_outcome(&result)).now(env.raw(), &channel) };
    }
    let native = NativeCall {
        call: Arc::new(Mutex::new(None)),
        bridge: Arc::new(unsafe { BridgeRefs::new(env.raw(), bridge_value) }?),
        channel,
    };
    let slice = match step {
        Step::Waiting { time_left_ms } => {
            native.keep(call);
            unsafe { f64::to_napi_value(env.raw(), time_left_ms) }?
        }
        _ => native.go_on_in_pool(env, call)?.0,
    };
    unsafe {
        let native = NativeCall::to_napi_value(env.raw(), native)?;
        let mut pair = ptr::null_mut();
        check_status!(sys::napi_create_array_with_length(env.raw(), 2, &mut pair))?;
        check_status!(sys::napi_set_element(env.raw(), pair, 0, native))?;
        check_status!(sys::napi_set_element(env.raw(), pair, 1, slice))?;
        Ok(RawValue(pair))
    }
}

#[napi]
impl NativeCall {
    /// Runs the next slice, on this thread for `INLINE_BUDGET_MS` and then on the pool:
    /// gives its outcome's bytes (`null`: in the scratch buffer) or (while the call waits for
    /// its host) the milliseconds left until its deadline, or a promise of either.
    #[napi(ts_return_type = "Buffer | null | number | Promise<Buffer | number>")]
    pub fn resume(&self, env: Env, reply: Option<WireInput>) -> Result<RawValue> {
        let mut call = self.take()?;
        // On this thread first, its host's requests plain calls of the bridge, until the
        // slice's budget is spent (see INLINE_BUDGET_MS).
        let mut host = JsThreadHost {
            env: env.raw(),
            bridge: BridgeOnJsThread::Held(&self.bridge),
            channel: &self.channel,
        };
        let settled = match call.resume_within(
            &mut host,
            reply.map(|reply| reply.0),
            Some(INLINE_BUDGET_MS),
        ) {
            Step::Done(result) => Settled::Done(encode_outcome(&result)),
            Step::Waiting { time_left_ms } => {
                self.keep(call);
                Settled::Waiting(time_left_ms)
            }
            Step::Preempted => return self.go_on_in_pool(env, call),
        };
        unsafe { settled.now(env.raw(), &self.channel) }
    }

    /// Runs the next slice on this thread; returns the outcome's bytes (`null`: in the scratch
    /// buffer), or (while the call waits) the milliseconds left until its deadline.
    #[napi(ts_return_type = "Buffer | null | number")]
    pub fn resume_sync(&self, env: Env, reply: Option<WireInput>) -> Result<RawValue> {
        let mut call = self.take()?;
        let mut host = JsThreadHost {
            env: env.raw(),
            bridge: BridgeOnJsThread::Held(&self.bridge),
            channel: &self.channel,
        };
        let settled = match call.resume(&mut host, reply.map(|reply| reply.0)) {
            Step::Done(result) => Settled::Done(encode_outcome(&result)),
            Step::Waiting { time_left_ms } => {
                self.keep(call);
                Settled::Waiting(time_left_ms)
            }
            // (`resume` is never preempted.)
            Step::Preempted => {
                Settled::Done(encode_outcome(&Err(pubwiki_lua_core::RunError::internal())))
            }
        };
        unsafe { settled.now(env.raw(), &self.channel) }
    }

    /// Lets go of the bridge once the call's outcome has reached JS (lib/native-backend.mjs
    /// calls it): see `BridgeRefs`.
    #[napi]
    pub fn release(&self) {
        self.bridge.release();
    }
}

impl NativeCall {
    /// The rest of a preempted slice, on the pool; a promise of its end.
    fn go_on_in_pool(&self, env: Env, mut call: Call) -> Result<RawValue> {
        let slot = self.call.clone();
        let mut host = PoolHost {
            channel: self.channel.clone(),
            bridge: self.bridge.clone(),
        };
        completion::spawn_keeping(&env, self.bridge.clone(), move || {
            match call.resume(&mut host, None) {
                Step::Done(result) => Settled::Done(encode_outcome(&result)),
                Step::Waiting { time_left_ms } => {
                    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(call);
                    Settled::Waiting(time_left_ms)
                }
                // (`resume` is never preempted.)
                Step::Preempted => {
                    Settled::Done(encode_outcome(&Err(pubwiki_lua_core::RunError::internal())))
                }
            }
        })
        .map(RawValue)
    }

    /// Holds `call` until its next slice.
    fn keep(&self, call: Call) {
        *self.call.lock().unwrap_or_else(|e| e.into_inner()) = Some(call);
    }

    fn take(&self) -> Result<Call> {
        self.call
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| {
                Error::new(
                    Status::GenericFailure,
                    "pubwiki-lua: this call is running or over",
                )
            })
    }
}

/// The host of a slice on the JS thread: requests are plain calls of the bridge.
struct JsThreadHost<'a> {
    env: sys::napi_env,
    bridge: BridgeOnJsThread<'a>,
    channel: &'a Channel,
}

/// Where a slice on the JS thread finds the bridge's functions.
enum BridgeOnJsThread<'a> {
    /// The bridge itself and its `request`, values of the napi call that runs the call's
    /// first slice (valid until that call returns, so in every request of the slice;
    /// `request` is read once, not per request: each read makes a V8 string of its name).
    Value {
        bridge: sys::napi_value,
        request: sys::napi_value,
    },
    /// The references of a call that outlived its first slice.
    Held(&'a BridgeRefs),
}

impl BridgeOnJsThread<'_> {
    /// Function `index` (`REQUEST`, `TAKE_SPILL`), as a value of the current scope.
    unsafe fn function(&self, env: sys::napi_env, index: usize) -> Result<sys::napi_value> {
        match self {
            BridgeOnJsThread::Held(refs) => refs.function(env, index),
            BridgeOnJsThread::Value { request, .. } if index == REQUEST => Ok(*request),
            BridgeOnJsThread::Value { bridge, .. } => {
                let mut function = ptr::null_mut();
                check_status!(sys::napi_get_named_property(
                    env,
                    *bridge,
                    FUNCTION_NAMES[index].as_ptr(),
                    &mut function
                ))?;
                Ok(function)
            }
        }
    }
}

impl Host for JsThreadHost<'_> {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (function, args, _) = request.as_call();
        unsafe { ask_bridge(self.env, self.channel, &self.bridge, function, args) }
    }
}

/// The host of a slice on a pool thread: requests go to the JS thread and back.
struct PoolHost {
    channel: Arc<Channel>,
    bridge: Arc<BridgeRefs>,
}

impl Host for PoolHost {
    fn request(&mut self, request: Request<'_>, deadline: Deadline) -> Vec<u8> {
        let (function, args, can_wait) = request.as_call();
        let reply = Arc::new(ReplySlot::new());
        let (answer, args, bridge, channel) = (
            reply.clone(),
            args.to_vec(),
            self.bridge.clone(),
            self.channel.clone(),
        );
        let sent = self.channel.run_on_js_thread(Box::new(move |env| {
            if env.is_null() {
                return answer.fill(error_reply("pubwiki-lua: the JS environment is gone"));
            }
            let held = BridgeOnJsThread::Held(&bridge);
            let bytes = unsafe { ask_bridge(env, &channel, &held, function, &args) };
            // A promise: its answer may come with the microtasks that run right after this, so
            // the reply waits for them (see the bridge's `deliverSoon`).
            if can_wait
                && bytes == [REPLY_PENDING]
                && unsafe { deliver_after_microtasks(env, &bridge, &answer) }.is_ok()
            {
                return;
            }
            answer.fill(bytes);
        }));
        if !sent {
            return error_reply("pubwiki-lua: the JS environment is gone");
        }
        reply.wait(deadline.time_left_ms())
    }
}

/// Has the bridge fill `slot` once the current microtasks have run: hands it a `deliver`
/// function that owns a reference to the slot (released by the function's finalizer, which
/// also answers for a bridge that never calls it, as the environment is torn down).
unsafe fn deliver_after_microtasks(
    env: sys::napi_env,
    bridge: &BridgeRefs,
    slot: &Arc<ReplySlot>,
) -> Result<()> {
    let deliver_soon = bridge.function(env, DELIVER_SOON)?;
    let data = Arc::into_raw(slot.clone()) as *mut std::ffi::c_void;
    let mut deliver = ptr::null_mut();
    let made = sys::napi_create_function(
        env,
        c"deliver".as_ptr(),
        7,
        Some(deliver_reply),
        data,
        &mut deliver,
    );
    if made != sys::Status::napi_ok {
        drop(Arc::from_raw(data as *const ReplySlot));
        return Err(Error::new(
            Status::GenericFailure,
            "pubwiki-lua: cannot make a function",
        ));
    }
    check_status!(sys::napi_add_finalizer(
        env,
        deliver,
        data,
        Some(release_slot),
        ptr::null_mut(),
        ptr::null_mut()
    ))?;
    let mut undefined = ptr::null_mut();
    let mut result = ptr::null_mut();
    check_status!(sys::napi_get_undefined(env, &mut undefined))?;
    let called = sys::napi_call_function(env, undefined, deliver_soon, 1, &deliver, &mut result);
    if called != sys::Status::napi_ok {
        let mut exception = ptr::null_mut();
        sys::napi_get_and_clear_last_exception(env, &mut exception);
        return Err(Error::new(
            Status::GenericFailure,
            "pubwiki-lua: deliverSoon failed",
        ));
    }
    Ok(())
}

/// `deliver(replyBytes)`: fills its slot.
unsafe extern "C" fn deliver_reply(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 1;
    let mut argv = [ptr::null_mut(); 1];
    let mut data = ptr::null_mut();
    sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        argv.as_mut_ptr(),
        ptr::null_mut(),
        &mut data,
    );
    let slot = &*(data as *const ReplySlot);
    let bytes = if argc >= 1 {
        WireInput::from_napi_value(env, argv[0])
            .map(|bytes| bytes.0)
            .ok()
    } else {
        None
    };
    slot.fill(bytes.unwrap_or_else(|| error_reply("pubwiki-lua: the host bridge failed")));
    ptr::null_mut()
}

unsafe extern "C" fn release_slot(
    _env: sys::napi_env,
    data: *mut std::ffi::c_void,
    _hint: *mut std::ffi::c_void,
) {
    let slot = Arc::from_raw(data as *const ReplySlot);
    if !slot.ready.load(Ordering::Acquire) {
        slot.fill(error_reply("pubwiki-lua: the JS environment is gone"));
    }
}

/// A reply on its way from the JS thread to a waiting pool thread.
struct ReplySlot {
    ready: AtomicBool,
    bytes: Mutex<Option<Vec<u8>>>,
    waiter: Thread,
}

impl ReplySlot {
    fn new() -> ReplySlot {
        ReplySlot {
            ready: AtomicBool::new(false),
            bytes: Mutex::new(None),
            waiter: std::thread::current(),
        }
    }

    fn fill(&self, bytes: Vec<u8>) {
        *self.bytes.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes);
        self.ready.store(true, Ordering::Release);
        self.waiter.unpark();
    }

    /// The reply, or an empty one (the core's "gave up") after `time_left_ms`.
    fn wait(&self, time_left_ms: f64) -> Vec<u8> {
        let started = Instant::now();
        let deadline = Duration::try_from_secs_f64(time_left_ms.max(0.0) / 1000.0)
            .map_or(started, |left| started + left);
        while !self.ready.load(Ordering::Acquire) {
            let now = Instant::now();
            if now >= deadline {
                return Vec::new();
            }
            if now - started < SPIN {
                std::thread::yield_now();
            } else {
                std::thread::park_timeout(deadline - now);
            }
        }
        self.bytes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}

/// Asks the bridge on the JS thread: the arguments go into the environment's scratch
/// buffer (or a buffer of their own if they do not fit), the reply comes back in the same
/// buffer (or through `takeSpill` if it does not fit there).
unsafe fn ask_bridge(
    env: sys::napi_env,
    channel: &Channel,
    bridge: &BridgeOnJsThread<'_>,
    function: u32,
    args: &[u8],
) -> Vec<u8> {
    // A scope per request: a synchronous call's requests all run inside one napi call, whose
    // scope would otherwise hold every handle of every request until the call ends (GC
    // then took half of a host call's time).
    let mut scope = ptr::null_mut();
    if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
        return error_reply("pubwiki-lua: cannot open a handle scope");
    }
    let reply = ask_bridge_in_scope(env, channel, bridge, function, args);
    sys::napi_close_handle_scope(env, scope);
    reply
}

unsafe fn ask_bridge_in_scope(
    env: sys::napi_env,
    channel: &Channel,
    bridge: &BridgeOnJsThread<'_>,
    function: u32,
    args: &[u8],
) -> Vec<u8> {
    let Ok(request) = bridge.function(env, REQUEST) else {
        return error_reply("pubwiki-lua: the host bridge is gone");
    };
    let mut guard = channel.scratch.lock().unwrap_or_else(|e| e.into_inner());
    let Ok(scratch) = scratch::made(env, &mut guard) else {
        return error_reply("pubwiki-lua: cannot make the scratch buffer");
    };
    // The bytes the bridge reads and writes: the scratch buffer, or a buffer of the
    // arguments' own (the scratch buffer is left unlocked meanwhile: the host's code may run
    // a nested call that uses it).
    let (buffer, data, capacity) = if args.len() <= SCRATCH_BYTES {
        scratch.bytes()[..args.len()].copy_from_slice(args);
        match scratch.value(env) {
            Ok(value) => (value, scratch.bytes().as_mut_ptr(), SCRATCH_BYTES),
            Err(_) => return error_reply("pubwiki-lua: the scratch buffer is gone"),
        }
    } else {
        let (mut data, mut value) = (ptr::null_mut(), ptr::null_mut());
        if sys::napi_create_buffer_copy(
            env,
            args.len(),
            args.as_ptr().cast(),
            &mut data,
            &mut value,
        ) != sys::Status::napi_ok
        {
            return error_reply("pubwiki-lua: cannot pass the arguments");
        }
        (value, data as *mut u8, args.len())
    };
    drop(guard);
    let mut argv = [ptr::null_mut(); 5];
    argv[1] = buffer;
    let mut undefined = ptr::null_mut();
    let mut result = ptr::null_mut();
    let mut length = 0u32;
    let asked = sys::napi_create_uint32(env, function, &mut argv[0]) == sys::Status::napi_ok
        && sys::napi_create_uint32(env, 0, &mut argv[2]) == sys::Status::napi_ok
        && sys::napi_create_uint32(env, 0, &mut argv[3]) == sys::Status::napi_ok
        && sys::napi_create_uint32(env, capacity as u32, &mut argv[4]) == sys::Status::napi_ok
        && sys::napi_get_undefined(env, &mut undefined) == sys::Status::napi_ok
        && sys::napi_call_function(env, undefined, request, 5, argv.as_ptr(), &mut result)
            == sys::Status::napi_ok
        && sys::napi_get_value_uint32(env, result, &mut length) == sys::Status::napi_ok;
    if !asked {
        return failed(env);
    }
    let length = length as usize;
    if length <= capacity {
        return std::slice::from_raw_parts(data, length).to_vec();
    }
    // Too long for the buffer: the bridge kept it.
    let Ok(take_spill) = bridge.function(env, TAKE_SPILL) else {
        return error_reply("pubwiki-lua: the host bridge is gone");
    };
    if sys::napi_call_function(env, undefined, take_spill, 0, ptr::null(), &mut result)
        != sys::Status::napi_ok
    {
        return failed(env);
    }
    WireInput::from_napi_value(env, result)
        .map(|bytes| bytes.0)
        .unwrap_or_else(|_| error_reply("pubwiki-lua: the host bridge failed"))
}

/// The bridge never throws; should it, its exception must not reach the event loop.
unsafe fn failed(env: sys::napi_env) -> Vec<u8> {
    let mut exception = ptr::null_mut();
    sys::napi_get_and_clear_last_exception(env, &mut exception);
    error_reply("pubwiki-lua: the host bridge failed")
}
