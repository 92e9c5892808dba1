//! Async calls: each runs on the addon's own thread pool and settles its promise through one
//! threadsafe function per JS environment (the main thread, or a worker thread). The same
//! threadsafe function carries a pool thread's other messages for the JS thread: the host
//! requests of calls with host functions (host.rs).
//!
//! A call hands off twice, to a pool thread and back, and waking a sleeping thread takes
//! ~25 us on a virtual machine whose idle CPU has halted: longer than a whole fresh-state
//! call (~20 us). So neither side sleeps between short calls:
//! - the pool is rayon's, whose threads look for more work for a while before they park
//!   (libuv's, behind napi-rs's `AsyncTask`, park at once);
//! - while calls are in flight, and one started or ended in the last `POLL`, an idle handle
//!   keeps the event loop polling instead of sleeping in epoll, yielding its CPU on every
//!   turn. (A `setImmediate` loop in JS would do the same but allocates an object per turn,
//!   which grew V8's young generation by ~15 MiB.) A long call lets the loop sleep after
//!   `POLL`.
//!
//! Written against napi's C API rather than with napi-rs's `JsDeferred`, which creates a
//! threadsafe function (a libuv handle) for every promise; one per environment, held open
//! while calls are in flight, costs nothing per call.

use std::alloc::Layout;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys, Env, Result};

use crate::scratch::Scratch;
use pubwiki_lua_core::{encode_outcome, RunError};

use crate::Settled;

/// The way back to one JS environment.
pub struct Channel {
    /// `None` once the environment is torn down: results that finish later are dropped.
    tsfn: Mutex<Option<Tsfn>>,
    /// Calls started and not yet settled; while non-zero the channel keeps the event loop alive.
    /// This and the fields below are used on the JS thread only (atomic because the channel is
    /// shared with the pool).
    in_flight: AtomicUsize,
    /// The idle handle that keeps the loop polling (see the top of this file).
    idle: *mut c_void,
    polling: AtomicBool,
    /// When a call last started or ended (`nanos_since_epoch`).
    last_event: AtomicU64,
    /// Where host requests cross on the JS thread (scratch.rs), made on first use; locked on
    /// the JS thread only.
    pub scratch: Mutex<Option<Scratch>>,
}

// SAFETY: `idle` is only touched on the JS thread.
unsafe impl Send for Channel {}
unsafe impl Sync for Channel {}

/// How long the loop keeps polling after a call starts or ends.
const POLL: Duration = Duration::from_millis(1);

// libuv, as Node exports it to addons (napi_get_uv_event_loop hands out the loop for this).
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_idle_init(event_loop: *mut sys::uv_loop_s, idle: *mut c_void) -> c_int;
    fn uv_idle_start(idle: *mut c_void, callback: unsafe extern "C" fn(*mut c_void)) -> c_int;
    fn uv_idle_stop(idle: *mut c_void) -> c_int;
    fn uv_unref(handle: *mut c_void);
    fn uv_close(handle: *mut c_void, callback: Option<unsafe extern "C" fn(*mut c_void)>);
}

/// `UV_IDLE` of libuv's `uv_handle_type` (stable across libuv 1.x).
const UV_IDLE: c_int = 6;

fn nanos_since_epoch() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Channel {
    /// On the JS thread, when a call starts or ends.
    fn note_event(&self) {
        self.last_event
            .store(nanos_since_epoch(), Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) > 0 && !self.polling.swap(true, Ordering::Relaxed)
        {
            unsafe { uv_idle_start(self.idle, keep_polling) };
        }
    }
}

/// Runs once per turn of the event loop while the idle handle is active.
unsafe extern "C" fn keep_polling(idle: *mut c_void) {
    // The handle's first field is libuv's public `data` pointer: the channel.
    let channel = &**(idle as *const *const Channel);
    let quiet = nanos_since_epoch().saturating_sub(channel.last_event.load(Ordering::Relaxed));
    if channel.in_flight.load(Ordering::Relaxed) == 0 || quiet > POLL.as_nanos() as u64 {
        uv_idle_stop(idle);
        channel.polling.store(false, Ordering::Relaxed);
    } else {
        // A polling loop is always runnable, so the scheduler would share this CPU evenly
        // between it and a pool thread running a call; yielding lets the call go first
        // (measured, 2 cores: 2 streams 1.4x -> 1.7x the sequential rate, 4 streams +40%).
        std::thread::yield_now();
    }
}

fn idle_layout() -> Layout {
    Layout::from_size_align(unsafe { uv_handle_size(UV_IDLE) }, 16).expect("libuv handle size")
}

/// A new idle handle on the loop, kept from keeping the loop alive by itself.
unsafe fn new_idle(event_loop: *mut sys::uv_loop_s) -> *mut c_void {
    let idle = std::alloc::alloc_zeroed(idle_layout()) as *mut c_void;
    if idle.is_null() {
        std::alloc::handle_alloc_error(idle_layout());
    }
    uv_idle_init(event_loop, idle);
    uv_unref(idle);
    idle
}

/// The close callback of the idle handle: releases its channel and its memory.
unsafe extern "C" fn free_idle(idle: *mut c_void) {
    drop(Arc::from_raw(*(idle as *const *const Channel)));
    std::alloc::dealloc(idle as *mut u8, idle_layout());
}

struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: a threadsafe function is made to be called from any thread; the other functions
// on it are called on the JS thread only.
unsafe impl Send for Tsfn {}

/// What a pool thread sends to the JS thread.
enum Message {
    /// A finished slice of a call on its way to its promise, with what must live until the
    /// JS thread has it (`spawn_keeping`).
    Completion {
        deferred: Deferred,
        outcome: Settled,
        keep: Box<dyn Send>,
    },
    /// Work for the JS thread; it gets a null `env` when the environment is torn down.
    JsTask(Box<dyn FnOnce(sys::napi_env) + Send>),
}

struct Deferred(sys::napi_deferred);

// SAFETY: the deferred travels with its call and is used back on the JS thread that made it.
unsafe impl Send for Deferred {}

/// The threads that run async calls: as many as libuv's pool has by default, or more on
/// bigger machines, so that a few long calls do not hold up the short ones.
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores.max(4))
            .thread_name(|i| format!("pubwiki-lua-{i}"))
            // As libuv's threads: scripts may recurse through C as deep as Lua allows.
            .stack_size(8 << 20)
            // rayon aborts the process on a panic in a job unless a handler is set; `spawn`
            // catches panics itself, so none should reach here.
            .panic_handler(|_| {})
            .build()
            .expect("pubwiki-lua: cannot start the thread pool")
    })
}

/// Runs `work` on the pool; returns a promise of its outcome.
pub fn spawn(
    env: &Env,
    work: impl FnOnce() -> Settled + Send + 'static,
) -> Result<sys::napi_value> {
    spawn_keeping(env, (), work)
}

/// `spawn`, keeping `keep` alive until the JS thread settles the promise, and dropping it
/// there (for JS-thread-only resources a slice relies on; at teardown it is leaked, as
/// nothing may touch the environment then).
pub fn spawn_keeping(
    env: &Env,
    keep: impl Send + 'static,
    work: impl FnOnce() -> Settled + Send + 'static,
) -> Result<sys::napi_value> {
    let keep: Box<dyn Send> = Box::new(keep);
    let channel = channel(env)?;
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
    if channel.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
        channel.with_tsfn(|tsfn| unsafe { sys::napi_ref_threadsafe_function(env.raw(), tsfn) });
    }
    channel.note_event();
    let deferred = Deferred(deferred);
    pool().spawn(move || {
        // The core turns its own panics into errors; this covers the outcome's encoding.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
            .unwrap_or_else(|_| Settled::Done(encode_outcome(&Err(RunError::internal()))));
        channel.send(Box::new(Message::Completion {
            deferred,
            outcome,
            keep,
        }));
    });
    Ok(promise)
}

impl Channel {
    fn with_tsfn(&self, f: impl FnOnce(sys::napi_threadsafe_function) -> sys::napi_status) {
        if let Some(tsfn) = &*self.tsfn.lock().unwrap_or_else(|e| e.into_inner()) {
            f(tsfn.0);
        }
    }

    /// Sends `message` to the JS thread; false (and the message dropped) once its
    /// environment is gone.
    fn send(&self, message: Box<Message>) -> bool {
        let completion = Box::into_raw(message);
        let mut status = sys::Status::napi_closing;
        self.with_tsfn(|tsfn| {
            status = unsafe {
                sys::napi_call_threadsafe_function(
                    tsfn,
                    completion.cast(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
            status
        });
        if status != sys::Status::napi_ok {
            // The environment is gone, and the promise with it.
            drop(unsafe { Box::from_raw(completion) });
            return false;
        }
        true
    }

    /// Runs `task` on the JS thread (with a null `env` if the environment is torn down
    /// first); false if it is gone already, and `task` dropped unrun.
    pub fn run_on_js_thread(&self, task: Box<dyn FnOnce(sys::napi_env) + Send>) -> bool {
        self.send(Box::new(Message::JsTask(task)))
    }
}

/// This environment's channel, made on first use.
pub fn channel(env: &Env) -> Result<Arc<Channel>> {
    if let Some(channel) = env.get_instance_data::<Arc<Channel>>()? {
        return Ok(channel.clone());
    }
    let idle = unsafe { new_idle(env.get_uv_event_loop()?) };
    let channel = Arc::new(Channel {
        tsfn: Mutex::new(None),
        in_flight: AtomicUsize::new(0),
        idle,
        polling: AtomicBool::new(false),
        last_event: AtomicU64::new(0),
        scratch: Mutex::new(None),
    });
    // The handle's `data` (its first field) owns a reference to the channel.
    unsafe { *(idle as *mut *const Channel) = Arc::into_raw(channel.clone()) };
    let mut name = ptr::null_mut();
    check_status!(unsafe {
        sys::napi_create_string_utf8(
            env.raw(),
            c"pubwiki-lua".as_ptr(),
            "pubwiki-lua".len() as isize,
            &mut name,
        )
    })?;
    let mut tsfn = ptr::null_mut();
    // The threadsafe function owns one reference to the channel, released by its finalizer.
    let owned = Arc::into_raw(channel.clone()) as *mut c_void;
    check_status!(unsafe {
        sys::napi_create_threadsafe_function(
            env.raw(),
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            owned,
            Some(release_channel),
            owned,
            Some(settle),
            &mut tsfn,
        )
    })?;
    // Idle until a call starts.
    check_status!(unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) })?;
    *channel.tsfn.lock().unwrap_or_else(|e| e.into_inner()) = Some(Tsfn(tsfn));
    // Registered after the threadsafe function, so it runs before Node finalizes it (cleanup
    // hooks run in reverse order): from then on, pool threads drop their results.
    let closing = channel.clone();
    let raw_env = env.raw();
    env.add_env_cleanup_hook((), move |()| {
        if let Some(tsfn) = closing
            .tsfn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            unsafe {
                sys::napi_release_threadsafe_function(
                    tsfn.0,
                    sys::ThreadsafeFunctionReleaseMode::abort,
                )
            };
        }
        if let Some(scratch) = closing
            .scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            unsafe { scratch.release(raw_env) };
        }
        unsafe { uv_close(closing.idle, Some(free_idle)) };
    })?;
    env.set_instance_data(channel.clone(), (), |_| {})?;
    Ok(channel)
}

unsafe extern "C" fn release_channel(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(Arc::from_raw(data as *const Channel));
}

/// On the JS thread: resolves a finished call's promise, or runs a task (or, with no `env`,
/// as the environment is torn down, only frees the completion and lets the task know).
unsafe extern "C" fn settle(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    data: *mut c_void,
) {
    let message = Box::from_raw(data as *mut Message);
    // `_keep` lives until the promise is settled (see `spawn_keeping`).
    let (deferred, outcome, _keep) = match *message {
        Message::JsTask(task) => {
            if !env.is_null() {
                (*(context as *const Channel)).note_event();
            }
            return task(env);
        }
        Message::Completion {
            deferred: Deferred(deferred),
            outcome,
            keep,
        } => {
            if env.is_null() {
                std::mem::forget(keep);
                return;
            }
            (deferred, outcome, keep)
        }
    };
    let channel = &*(context as *const Channel);
    if channel.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
        channel.with_tsfn(|tsfn| sys::napi_unref_threadsafe_function(env, tsfn));
    }
    channel.note_event();
    match Settled::to_napi_value(env, outcome) {
        Ok(value) => {
            sys::napi_resolve_deferred(env, deferred, value);
        }
        Err(error) => {
            let mut message = ptr::null_mut();
            let text = format!("pubwiki-lua: cannot convert the result: {}", error.reason);
            sys::napi_create_string_utf8(
                env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut message,
            );
            let mut rejection = ptr::null_mut();
            sys::napi_create_error(env, ptr::null_mut(), message, &mut rejection);
            sys::napi_reject_deferred(env, deferred, rejection);
        }
    }
}
