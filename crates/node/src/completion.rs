//! Async calls: each runs on the addon's own thread pool and settles its promise through one
//! threadsafe function per JS environment (the main thread, or a worker thread).
//!
//! Written against napi's C API rather than with napi-rs's `AsyncTask` or `JsDeferred`:
//! `AsyncTask` queues on libuv's pool, whose threads park the moment they run out of work,
//! and waking a parked thread takes ~25 us on a virtual machine whose idle CPU has halted
//! (a whole fresh-state call takes ~20 us); rayon's threads look for more work for a while
//! before they park. `JsDeferred` creates a threadsafe function (a libuv handle) for every
//! promise; one per environment, held open while calls are in flight, costs nothing per call.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys, Env, Result};

use crate::Outcome;

/// The way back to one JS environment.
struct Channel {
  /// `None` once the environment is torn down: results that finish later are dropped.
  tsfn: Mutex<Option<Tsfn>>,
  /// Calls started and not yet settled; while non-zero the channel keeps the event loop alive.
  /// Changed on the JS thread only (atomic because the channel is shared with the pool).
  in_flight: AtomicUsize,
}

struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: a threadsafe function is made to be called from any thread; the other functions
// on it are called on the JS thread only.
unsafe impl Send for Tsfn {}

/// A finished call on its way to its promise.
struct Completion {
  deferred: Deferred,
  outcome: Outcome,
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
pub fn spawn(env: &Env, work: impl FnOnce() -> Outcome + Send + 'static) -> Result<sys::napi_value> {
  let channel = channel(env)?;
  let mut deferred = ptr::null_mut();
  let mut promise = ptr::null_mut();
  check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
  if channel.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
    channel.with_tsfn(|tsfn| unsafe { sys::napi_ref_threadsafe_function(env.raw(), tsfn) });
  }
  let deferred = Deferred(deferred);
  pool().spawn(move || {
    // The core turns its own panics into errors; this covers the conversion to `Outcome`.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
      .unwrap_or_else(|_| Outcome::internal_error());
    channel.send(Box::new(Completion { deferred, outcome }));
  });
  Ok(promise)
}

impl Channel {
  fn with_tsfn(&self, f: impl FnOnce(sys::napi_threadsafe_function) -> sys::napi_status) {
    if let Some(tsfn) = &*self.tsfn.lock().unwrap_or_else(|e| e.into_inner()) {
      f(tsfn.0);
    }
  }

  fn send(&self, completion: Box<Completion>) {
    let completion = Box::into_raw(completion);
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
    }
  }
}

/// This environment's channel, made on first use.
fn channel(env: &Env) -> Result<Arc<Channel>> {
  if let Some(channel) = env.get_instance_data::<Arc<Channel>>()? {
    return Ok(channel.clone());
  }
  let channel = Arc::new(Channel {
    tsfn: Mutex::new(None),
    in_flight: AtomicUsize::new(0),
  });
  let mut name = ptr::null_mut();
  check_status!(unsafe {
    sys::napi_create_string_utf8(env.raw(), c"pubwiki-lua".as_ptr(), "pubwiki-lua".len() as isize, &mut name)
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
  env.add_env_cleanup_hook((), move |()| {
    if let Some(tsfn) = closing.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take() {
      unsafe { sys::napi_release_threadsafe_function(tsfn.0, sys::ThreadsafeFunctionReleaseMode::abort) };
    }
  })?;
  env.set_instance_data(channel.clone(), (), |_| {})?;
  Ok(channel)
}

unsafe extern "C" fn release_channel(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  drop(Arc::from_raw(data as *const Channel));
}

/// On the JS thread: resolves a finished call's promise (or, with no `env`, as the
/// environment is torn down, only frees the completion).
unsafe extern "C" fn settle(env: sys::napi_env, _js_callback: sys::napi_value, context: *mut c_void, data: *mut c_void) {
  let completion = Box::from_raw(data as *mut Completion);
  if env.is_null() {
    return;
  }
  let channel = &*(context as *const Channel);
  if channel.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
    channel.with_tsfn(|tsfn| sys::napi_unref_threadsafe_function(env, tsfn));
  }
  let Completion { deferred: Deferred(deferred), outcome } = *completion;
  match Outcome::to_napi_value(env, outcome) {
    Ok(value) => {
      sys::napi_resolve_deferred(env, deferred, value);
    }
    Err(error) => {
      let mut message = ptr::null_mut();
      let text = format!("pubwiki-lua: cannot convert the result: {}", error.reason);
      sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut message);
      let mut rejection = ptr::null_mut();
      sys::napi_create_error(env, ptr::null_mut(), message, &mut rejection);
      sys::napi_reject_deferred(env, deferred, rejection);
    }
  }
}
