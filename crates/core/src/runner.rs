//! One call: create a state, install the sandbox, load and run the chunk, classify the outcome.

use std::ffi::{c_int, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use mlua::ffi;

use crate::alloc::{limited_alloc, Budget};
use crate::{convert, sandbox, Clock, ErrorKind, Limits, RunError, RunOutput};

/// The count hook checks the clock every this many VM instructions.
const HOOK_INSTRUCTIONS: c_int = 1000;

/// Per-call state reachable from every C function through the state's extra space.
pub(crate) struct CallState {
    pub output: Vec<u8>,
    pub output_limit: usize,
    pub clock: Clock,
    pub started: f64,
    pub deadline: f64,
    pub time_limit_ms: f64,
    pub memory_limit: usize,
    /// Set once a limit is hit; from then on the call can only end, never recover.
    pub terminated: Option<ErrorKind>,
    /// The error that first ended a terminated call (a failing `__close` handler may replace
    /// it on the stack as the call unwinds).
    pub terminated_message: Option<String>,
    pub traceback: String,
    pub budget: *mut Budget,
    /// The Lua thread (main or coroutine) running now: where an interrupt puts the hook.
    pub running: AtomicPtr<ffi::lua_State>,
    /// Set once every running thread must carry the count hook (the deadline has passed, a
    /// limit was hit, or the platform has no watchdog).
    pub hook_everywhere: AtomicBool,
    /// C functions called from C loops since the clock was last read (wasm only; see
    /// `check_before_c_call`).
    #[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
    pub unchecked_calls: u32,
}

/// The call's state. Borrows must stay short: any Lua API call may re-enter.
#[allow(clippy::mut_from_ref)]
pub(crate) unsafe fn call_state<'a>(state: *mut ffi::lua_State) -> &'a mut CallState {
    &mut **(ffi::lua_getextraspace(state) as *mut *mut CallState)
}

/// Runs `code` as a text chunk named `script_id` in a fresh sandboxed state.
pub fn run_with_clock(
    code: &[u8],
    script_id: &str,
    limits: &Limits,
    clock: Clock,
) -> Result<RunOutput, RunError> {
    let started = clock();
    let mut budget = Box::new(Budget {
        used: 0,
        limit: limits.memory_bytes,
    });
    let mut call = Box::new(CallState {
        output: Vec::new(),
        output_limit: limits.output_bytes,
        clock,
        started,
        deadline: started + limits.time_ms,
        time_limit_ms: limits.time_ms,
        memory_limit: limits.memory_bytes,
        terminated: None,
        terminated_message: None,
        traceback: String::new(),
        budget: &mut *budget,
        running: AtomicPtr::new(ptr::null_mut()),
        hook_everywhere: AtomicBool::new(false),
        unchecked_calls: 0,
    });
    // A bug in this crate must become an error for this call, never take the host down.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        #[cfg(feature = "fault-injection")]
        if script_id == "pubwiki-lua:panic" {
            panic!("injected fault");
        }
        let state = ffi::lua_newstate(limited_alloc, &mut *budget as *mut Budget as *mut c_void);
        if state.is_null() {
            return Err((ErrorKind::Memory, memory_message(limits.memory_bytes)));
        }
        *(ffi::lua_getextraspace(state) as *mut *mut CallState) = &mut *call;
        call.running.store(state, Ordering::SeqCst);
        let outcome = {
            let _watch = watch(&mut call);
            execute(state, code, script_id, &mut *call)
            // Interrupts stop here, before the state goes away.
        };
        ffi::lua_close(state);
        outcome
    }))
    .unwrap_or_else(|_| {
        Err((
            ErrorKind::Runtime,
            "internal error in pubwiki-lua".to_string(),
        ))
    });
    let output = into_text(std::mem::take(&mut call.output));
    match outcome {
        Ok(values) => Ok(RunOutput { output, values }),
        Err((kind, message)) => Err(RunError {
            kind,
            message,
            output,
            traceback: std::mem::take(&mut call.traceback),
        }),
    }
}

type Outcome = Result<Vec<crate::LuaValue>, (ErrorKind, String)>;

unsafe fn execute(
    state: *mut ffi::lua_State,
    code: &[u8],
    script_id: &str,
    call: *mut CallState,
) -> Outcome {
    ffi::lua_pushcfunction(state, sandbox::open);
    if ffi::lua_pcall(state, 0, 0, 0) != ffi::LUA_OK {
        return Err((ErrorKind::Memory, memory_message((*call).memory_limit)));
    }
    if (*call).hook_everywhere.load(Ordering::SeqCst) {
        set_hook(state);
    }

    ffi::lua_pushcfunction(state, message_handler);
    let handler = ffi::lua_gettop(state);
    // "=" makes Lua use the name verbatim in messages: `<scriptId>:3: ...`.
    let name = CString::new(format!("={}", script_id.replace('\0', "?"))).unwrap_or_default();
    let status = ffi::luaL_loadbufferx(
        state,
        code.as_ptr() as *const _,
        code.len(),
        name.as_ptr(),
        c"t".as_ptr(),
    );
    if status != ffi::LUA_OK {
        let kind = if status == ffi::LUA_ERRMEM {
            ErrorKind::Memory
        } else {
            ErrorKind::Syntax
        };
        return Err(error_outcome(state, kind, call));
    }
    let status = ffi::lua_pcall(state, 0, ffi::LUA_MULTRET, handler);
    if let (ffi::LUA_OK, Some(kind)) = (status, (*call).terminated) {
        // A limit was hit but its error swallowed where scripts cannot see it (e.g. inside
        // a `load` reader): the call still fails.
        ffi::lua_settop(state, handler);
        ffi::lua_pushcfunction(state, raise_terminated_from_top);
        ffi::lua_pcall(state, 0, 0, 0);
        return Err((kind, lua_string(state, -1).unwrap_or_default()));
    }
    if status != ffi::LUA_OK {
        let kind = match ((*call).terminated, status) {
            (Some(kind), _) => kind,
            (None, ffi::LUA_ERRMEM) => ErrorKind::Memory,
            _ => ErrorKind::Runtime,
        };
        return Err(error_outcome(state, kind, call));
    }
    // The script is done: converting results must not trip the limits.
    (*(*call).budget).limit = usize::MAX;
    ffi::lua_sethook(state, None, 0, 0);
    convert::values(state, handler + 1, ffi::lua_gettop(state))
        .map_err(|message| (ErrorKind::Runtime, message))
}

unsafe fn error_outcome(
    state: *mut ffi::lua_State,
    kind: ErrorKind,
    call: *mut CallState,
) -> (ErrorKind, String) {
    let message = match (kind, (*call).terminated_message.take()) {
        (ErrorKind::Memory, _) => memory_message((*call).memory_limit),
        // The limit's own error, even where a failing `__close` handler replaced it.
        (_, Some(message)) => message,
        _ => lua_string(state, -1).unwrap_or_else(|| "(error object is not a string)".into()),
    };
    (kind, message)
}

fn memory_message(limit: usize) -> String {
    format!("not enough memory (memory limit is {limit} bytes)")
}

/// The string at `idx`, if it is one (numbers are not converted, which could allocate).
pub(crate) unsafe fn lua_string(state: *mut ffi::lua_State, idx: c_int) -> Option<String> {
    if ffi::lua_type(state, idx) != ffi::LUA_TSTRING {
        return None;
    }
    let mut len = 0;
    let ptr = ffi::lua_tolstring(state, idx, &mut len);
    Some(into_text(
        std::slice::from_raw_parts(ptr as *const u8, len).to_vec(),
    ))
}

/// Output bytes as text: invalid UTF-8 becomes U+FFFD, NUL bytes stay.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Native: a watchdog interrupts the call at its deadline, so no hook slows it down before
/// (see watchdog.rs). Elsewhere, or if the watchdog cannot run, the hook is always on.
#[cfg(not(target_family = "wasm"))]
fn watch(call: &mut CallState) -> Option<crate::watchdog::Watch> {
    let remaining = (call.deadline - (call.clock)()).max(0.0) / 1000.0;
    let deadline = std::time::Duration::try_from_secs_f64(remaining)
        .ok()
        .and_then(|remaining| std::time::Instant::now().checked_add(remaining));
    let watch = deadline.and_then(|deadline| crate::watchdog::watch_call(call, deadline));
    if watch.is_none() && deadline.is_some() {
        call.hook_everywhere.store(true, Ordering::SeqCst);
    }
    watch
}

/// Wasm: the interpreter's step counter interrupts the call (see fuel.rs), or, where Lua
/// was built without one, the hook is always on.
#[cfg(target_family = "wasm")]
fn watch(call: &mut CallState) -> Option<crate::fuel::Watch> {
    let watch = crate::fuel::watch_call(call);
    if watch.is_none() {
        call.hook_everywhere.store(true, Ordering::SeqCst);
    }
    watch
}

/// Puts the count hook on `state` (a main thread or coroutine) unless it is there already:
/// setting it again would restart its count, and a loop that switches coroutines could
/// then run forever between two hook calls.
pub(crate) unsafe fn set_hook(state: *mut ffi::lua_State) {
    let current = ffi::lua_gethook(state).map(|hook| hook as *const () as usize);
    if current != Some(count_hook as *const () as usize) {
        ffi::lua_sethook(
            state,
            Some(count_hook),
            ffi::LUA_MASKCOUNT,
            HOOK_INSTRUCTIONS,
        );
    }
}

/// From the watchdog's signal (or, in wasm, the interpreter's step counter), on the call's
/// own thread: once the deadline has passed, the hook goes on the running Lua thread (and,
/// through the coroutine functions, on every thread that runs later). Only
/// async-signal-safe work here: atomics and `lua_sethook`.
pub(crate) unsafe fn interrupt_if_late(call: *mut CallState) {
    let call = &*call;
    if (call.clock)() < call.deadline {
        return;
    }
    call.hook_everywhere.store(true, Ordering::SeqCst);
    let running = call.running.load(Ordering::SeqCst);
    if !running.is_null() {
        ffi::lua_sethook(running, Some(count_hook), ffi::LUA_MASKCOUNT, 1);
    }
}

/// Ends the call for good: records why and hooks the running thread so that the script
/// cannot continue even where the error is swallowed.
pub(crate) unsafe fn terminate(state: *mut ffi::lua_State, kind: ErrorKind) {
    let call = call_state(state);
    call.terminated.get_or_insert(kind);
    call.hook_everywhere.store(true, Ordering::SeqCst);
    set_hook(state);
}

/// Once the call's time is up (or it was terminated), marks the call terminated and
/// returns true. For C loops the count hook cannot reach (pattern matching, table functions).
#[cold]
pub(crate) fn time_is_up(state: *mut ffi::lua_State) -> bool {
    // SAFETY: every state this crate runs carries its CallState.
    let call = unsafe { call_state(state) };
    if call.terminated.is_none() && (call.clock)() < call.deadline {
        return false;
    }
    // Also hooks the running thread, so a script that swallows the error cannot go on.
    unsafe { terminate(state, ErrorKind::Timeout) };
    true
}

/// Wasm reads the clock before every this many C functions called from C loops.
#[cfg(target_family = "wasm")]
const CHECK_CALLS: u32 = 16;

/// For C loops that call C functions (`load` readers, `gsub` replacements, `table.sort`
/// comparators): those run no instruction for the count hook, and one call can be long
/// (`collectgarbage` on a big heap), so the loop ends the call itself once its time is up.
/// Natively the watchdog's signal sets `hook_everywhere` at the deadline, so before it this
/// costs one atomic load. In wasm, where nothing interrupts a C loop (the step counter is
/// the interpreter's), the clock is read every `CHECK_CALLS` calls.
pub(crate) unsafe fn check_before_c_call(state: *mut ffi::lua_State) {
    let call = call_state(state);
    #[cfg(not(target_family = "wasm"))]
    if !call.hook_everywhere.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(target_family = "wasm")]
    {
        call.unchecked_calls += 1;
        if call.unchecked_calls < CHECK_CALLS {
            return;
        }
        call.unchecked_calls = 0;
    }
    if time_is_up(state) {
        raise_terminated(state, 1);
    }
}

/// Ends the call once its time is up. After a limit is hit it fires again every
/// `HOOK_INSTRUCTIONS`, so a script that catches the error cannot keep running.
unsafe extern "C-unwind" fn count_hook(state: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    let call = call_state(state);
    if call.terminated.is_none() {
        if (call.clock)() < call.deadline {
            return;
        }
        call.terminated = Some(ErrorKind::Timeout);
    }
    raise_terminated(state, 0);
}

/// Raises the error that ends a terminated call, positioned at stack `level`
/// (0 in a hook: the running Lua function; 1 in a C function: its Lua caller).
pub(crate) unsafe fn raise_terminated(state: *mut ffi::lua_State, level: c_int) -> c_int {
    let call = call_state(state);
    ffi::luaL_where(state, level);
    match call.terminated {
        Some(ErrorKind::Output) => {
            let limit = call.output_limit as ffi::lua_Integer;
            ffi::lua_pushfstring(state, c"output limit exceeded (%I bytes)".as_ptr(), limit)
        }
        Some(ErrorKind::Memory) => {
            let limit = call.memory_limit as ffi::lua_Integer;
            ffi::lua_pushfstring(
                state,
                c"not enough memory (memory limit is %I bytes)".as_ptr(),
                limit,
            )
        }
        _ => {
            let limit = call.time_limit_ms as ffi::lua_Integer;
            ffi::lua_pushfstring(state, c"time limit exceeded (%I ms)".as_ptr(), limit)
        }
    };
    ffi::lua_concat(state, 2);
    let call = call_state(state);
    if call.terminated_message.is_none() {
        call.terminated_message = lua_string(state, -1);
    }
    ffi::lua_error(state)
}

unsafe extern "C-unwind" fn raise_terminated_from_top(state: *mut ffi::lua_State) -> c_int {
    raise_terminated(state, 1)
}

/// Top-level message handler: turns any error value into a readable message and records
/// the traceback while the failing frames are still on the stack.
unsafe extern "C-unwind" fn message_handler(state: *mut ffi::lua_State) -> c_int {
    sandbox::push_error_message(state, 1);
    // Building the traceback must not itself fail on a script that used up its memory.
    let budget = call_state(state).budget;
    let limit = (*budget).limit;
    (*budget).limit = usize::MAX;
    ffi::luaL_traceback(state, state, ptr::null(), 1);
    (*budget).limit = limit;
    let traceback = lua_string(state, -1).unwrap_or_default();
    call_state(state).traceback = traceback;
    ffi::lua_pop(state, 1);
    1
}
