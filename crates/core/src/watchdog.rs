//! Native time limits without a permanent count hook.
//!
//! In Lua 5.4 any count hook makes the VM call into the debug machinery on *every*
//! instruction, which doubles the run time of compute-bound scripts. So native calls run
//! with no hook; one watchdog thread sleeps until the earliest deadline and then signals the
//! thread running that call. The signal handler runs on that thread, between two of its
//! own steps, and installs the count hook there (`lua_sethook` is made to be called from a
//! signal handler: Lua's own interpreter does it for Ctrl-C). From then on the call is
//! stopped exactly as in wasm, where the hook is always on.
//!
//! The handler finds the call that runs on its thread (running.rs), and acts only if that
//! call's own deadline has passed, so a late signal can never touch another call. (A call
//! that runs inside another on the same thread is the one found until it ends; the outer
//! call, still late, is signalled again.)
//!
//! The signal is a real-time one on Linux (`SIGRTMIN + 3`: glibc and musl keep the first
//! ones, and no runtime we know of uses that one). macOS and the BSDs have none: there it
//! is `SIGURG`, which nothing sends a process unless it asked for it (out-of-band socket
//! data) and whose default action is to ignore it, so a stray one does no harm either way.
//! Windows has no signals, and no watchdog: there the hook is always on (runner.rs).

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// While alive, the call is watched: after `deadline` its thread gets the hook.
pub struct Watch {
    key: (Instant, u64),
}

struct Watchdog {
    state: Mutex<Watched>,
    changed: Condvar,
}

struct Watched {
    /// Watched calls by (deadline, id) -> the thread running them.
    calls: BTreeMap<(Instant, u64), Thread>,
    /// When the watchdog wakes next (None: not until notified).
    wake_at: Option<Instant>,
}

/// A thread to signal. `pthread_t` is an integer on glibc but a pointer on musl and macOS,
/// which is not `Send`; the watchdog only passes it to `pthread_kill`.
#[derive(Clone, Copy)]
struct Thread(libc::pthread_t);
unsafe impl Send for Thread {}

/// Re-signal a call that is still running this long after its deadline (the first signal
/// may have found it switching coroutines).
const RESIGNAL: Duration = Duration::from_millis(50);

#[cfg(target_os = "linux")]
fn signal() -> libc::c_int {
    libc::SIGRTMIN() + 3
}

#[cfg(not(target_os = "linux"))]
fn signal() -> libc::c_int {
    libc::SIGURG
}

fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
    *WATCHDOG.get_or_init(|| unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal(), &action, std::ptr::null_mut()) != 0 {
            return None;
        }
        let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            state: Mutex::new(Watched {
                calls: BTreeMap::new(),
                wake_at: None,
            }),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("pubwiki-lua-watchdog".into())
            .spawn(move || watch(watchdog))
            .ok()
            .map(|_| watchdog)
    })
}

fn watch(watchdog: &Watchdog) {
    let mut state = watchdog.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        let mut wake_at = None;
        for (&(deadline, _), &thread) in state.calls.iter() {
            if deadline > now {
                wake_at = Some(wake_at.map_or(deadline, |at: Instant| at.min(deadline)));
                break;
            }
            // Still registered, so the thread is inside that call (or just leaving it:
            // the handler checks). Late calls are signalled again until they end.
            unsafe { libc::pthread_kill(thread.0, signal()) };
            wake_at = Some(now + RESIGNAL);
        }
        state.wake_at = wake_at;
        state = match wake_at {
            Some(at) => {
                let timeout = at.saturating_duration_since(now);
                watchdog
                    .changed
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => watchdog
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner()),
        };
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    let call = crate::running::current();
    if !call.is_null() {
        unsafe { crate::interrupt::interrupt_if_late(call) };
    }
}

/// Test builds only: no call is watched, as where no watchdog can run, so that
/// tests/without_watchdog.rs runs the time-limit and preemption tests that way here.
#[cfg(feature = "fault-injection")]
pub static WATCHDOG_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts watching the call that runs on this thread (running.rs) until the returned
/// `Watch` is dropped. `None` when no watchdog can run: use a permanent hook.
pub fn watch_call(deadline: Instant) -> Option<Watch> {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    #[cfg(feature = "fault-injection")]
    if WATCHDOG_OFF.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let watchdog = watchdog()?;
    unsafe {
        // Threads may block signals (thread pools often do): this call must get ours.
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    let key = (
        deadline,
        NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    );
    let mut state = watchdog.state.lock().unwrap_or_else(|e| e.into_inner());
    state
        .calls
        .insert(key, Thread(unsafe { libc::pthread_self() }));
    // Wake the watchdog only if it would sleep past this deadline.
    let sooner = state.wake_at.is_none_or(|at| deadline < at);
    drop(state);
    if sooner {
        watchdog.changed.notify_one();
    }
    Some(Watch { key })
}

impl Drop for Watch {
    fn drop(&mut self) {
        // Once removed, no new signal targets this call (the call leaves running.rs after).
        if let Some(watchdog) = watchdog() {
            watchdog
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .calls
                .remove(&self.key);
        }
    }
}
