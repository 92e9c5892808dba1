//! The preemption and run tests again, with the watchdog off (fault injection): every call
//! then has the time limit's count hook on from its start, as where no watchdog can run
//! (runner.rs `watch`). Slices must still be preempted, and limits hold.

#[ctor::ctor(unsafe)]
fn watchdog_off() {
    pubwiki_lua_core::WATCHDOG_OFF.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[path = "preempt.rs"]
mod preempt;

#[path = "run.rs"]
mod run;
