//! Native time limits without a permanent count hook.
//!
//! In Lua 5.4 any count hook makes the VM call into the debug machinery on *every*
//! instruction, which doubles the run time of compute-bound scripts. So native calls run
//! with no hook; one watchdog thread sleeps until the earliest deadline and then interrupts
//! the thread running that call, which gets the count hook between two of its own steps
//! (`lua_sethook` is made to be called from a signal handler: Lua's own interpreter does it
//! for Ctrl-C). From then on the call is stopped exactly as in wasm, where the hook is
//! always on.
//!
//! How the thread is interrupted is the one part that differs by system (`os` below):
//! - Unix: a signal, whose handler runs on that thread, finds the call that runs there
//!   (running.rs) and acts only if that call's own deadline has passed, so a late signal
//!   can never touch another call. (A call that runs inside another on the same thread is
//!   the one found until it ends; the outer call, still late, is signalled again.) The
//!   signal is a real-time one on Linux (`SIGRTMIN + 3`: glibc and musl keep the first
//!   ones, and no runtime we know of uses that one). macOS and the BSDs have none: there
//!   it is `SIGURG`, which nothing sends a process unless it asked for it (out-of-band
//!   socket data) and whose default action is to ignore it, so a stray one does no harm.
//! - Windows has no signals: the watchdog suspends the thread (`SuspendThread`, then
//!   `GetThreadContext`, which returns once it is suspended), does there what the handler
//!   does, for the call it watches, and resumes it. The thread is stopped at an arbitrary
//!   point, as a signal would stop it, and the work is the handler's: atomics and
//!   `lua_sethook`, no lock and no allocation (the thread may hold the allocator's).

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
    calls: BTreeMap<(Instant, u64), os::Target>,
    /// When the watchdog wakes next (None: not until notified).
    wake_at: Option<Instant>,
}

/// Interrupt a call that is still running this long after its deadline again (the first
/// interruption may have found it switching coroutines).
const RESIGNAL: Duration = Duration::from_millis(50);

fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        if !os::install() {
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
        for (&(deadline, _), target) in state.calls.iter() {
            if deadline > now {
                wake_at = Some(wake_at.map_or(deadline, |at: Instant| at.min(deadline)));
                break;
            }
            // Still registered (and the lock held), so the thread is inside that call, or
            // just leaving it (the call's own check of its deadline decides). Late calls
            // are interrupted again until they end.
            unsafe { os::interrupt(target) };
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
    let target = os::this_thread(crate::running::current())?;
    let key = (
        deadline,
        NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    );
    let mut state = watchdog.state.lock().unwrap_or_else(|e| e.into_inner());
    state.calls.insert(key, target);
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
        // Once removed, no new interruption targets this call (the call leaves running.rs
        // after).
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

#[cfg(unix)]
mod os {
    use crate::call_state::CallState;

    /// A thread to signal. `pthread_t` is an integer on glibc but a pointer on musl and
    /// macOS, which is not `Send`; the watchdog only passes it to `pthread_kill`.
    pub struct Target(libc::pthread_t);
    unsafe impl Send for Target {}

    #[cfg(target_os = "linux")]
    fn signal() -> libc::c_int {
        libc::SIGRTMIN() + 3
    }

    #[cfg(not(target_os = "linux"))]
    fn signal() -> libc::c_int {
        libc::SIGURG
    }

    /// Installs the signal's handler; false if it cannot be.
    pub fn install() -> bool {
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal(), &action, std::ptr::null_mut()) == 0
        }
    }

    /// The thread that runs `call` (this one). The handler finds the call itself.
    pub fn this_thread(_call: *mut CallState) -> Option<Target> {
        unsafe {
            // Threads may block signals (thread pools often do): this call must get ours.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal());
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            Some(Target(libc::pthread_self()))
        }
    }

    pub unsafe fn interrupt(target: &Target) {
        libc::pthread_kill(target.0, signal());
    }

    extern "C" fn on_signal(_: libc::c_int) {
        let call = crate::running::current();
        if !call.is_null() {
            unsafe { crate::interrupt::interrupt_if_late(call) };
        }
    }
}

#[cfg(windows)]
mod os {
    use windows_sys::Win32::Foundation::{
        CloseHandle, DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE,
    };
    use windows_sys::Win32::System::Diagnostics::Debug::{GetThreadContext, CONTEXT};
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, GetCurrentThread, ResumeThread, SuspendThread,
    };

    use crate::call_state::CallState;

    /// A thread to suspend, and the call it runs (valid while the call is watched).
    pub struct Target {
        thread: HANDLE,
        call: *mut CallState,
    }
    unsafe impl Send for Target {}

    pub fn install() -> bool {
        true
    }

    /// `GetThreadContext` wants its buffer 16-byte aligned.
    #[repr(C, align(16))]
    struct Context(CONTEXT);

    #[cfg(target_arch = "x86_64")]
    const CONTEXT_CONTROL: u32 =
        windows_sys::Win32::System::Diagnostics::Debug::CONTEXT_CONTROL_AMD64;
    #[cfg(target_arch = "aarch64")]
    const CONTEXT_CONTROL: u32 =
        windows_sys::Win32::System::Diagnostics::Debug::CONTEXT_CONTROL_ARM64;
    #[cfg(target_arch = "x86")]
    const CONTEXT_CONTROL: u32 =
        windows_sys::Win32::System::Diagnostics::Debug::CONTEXT_CONTROL_X86;

    /// A real handle of this thread (the current-thread handle is a pseudo handle that means
    /// "the caller"), made once per thread and closed as it ends: an ended thread is never a
    /// target, since its calls were unwatched before.
    struct ThreadHandle(HANDLE);

    impl Drop for ThreadHandle {
        fn drop(&mut self) {
            if !self.0.is_null() {
                unsafe { CloseHandle(self.0) };
            }
        }
    }

    thread_local! {
        static THIS_THREAD: ThreadHandle = unsafe {
            let mut handle = std::ptr::null_mut();
            let made = DuplicateHandle(
                GetCurrentProcess(),
                GetCurrentThread(),
                GetCurrentProcess(),
                &mut handle,
                0,
                0,
                DUPLICATE_SAME_ACCESS,
            );
            ThreadHandle(if made == 0 { std::ptr::null_mut() } else { handle })
        };
    }

    pub fn this_thread(call: *mut CallState) -> Option<Target> {
        // (None while the thread's locals are being destroyed: the hook is then always on.)
        let thread = THIS_THREAD.try_with(|handle| handle.0).ok()?;
        (!thread.is_null() && !call.is_null()).then_some(Target { thread, call })
    }

    pub unsafe fn interrupt(target: &Target) {
        if SuspendThread(target.thread) == u32::MAX {
            return;
        }
        let mut context: Context = std::mem::zeroed();
        context.0.ContextFlags = CONTEXT_CONTROL;
        // Returns once the thread is really suspended (SuspendThread only asks for it).
        if GetThreadContext(target.thread, &mut context.0) != 0 {
            crate::interrupt::interrupt_if_late(target.call);
        }
        ResumeThread(target.thread);
    }
}
