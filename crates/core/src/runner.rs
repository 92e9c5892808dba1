//! One call as a resumable task: create a state, install the sandbox and the host's
//! globals, load the chunk, run it until it finishes or waits for its host, resume it
//! with the host's answer, classify the outcome.
//!
//! The chunk runs in a coroutine of the call's state (`CallState::main`), so that a host
//! function can suspend it (host_function.rs): [`Call::resume`] then returns
//! [`Step::Waiting`] and holds no thread; the driver calls it again with the answer. Each
//! resume is a *slice* of the call, watched by the time limit on whichever thread runs it.

use std::ffi::{c_int, c_void, CString};
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mlua::ffi;

use crate::arena::Arena;
use crate::call_spec::{CallSpec, Entry};
use crate::call_state::{call_state, CFunctions, CallState};
use crate::convert::{self, EncodeError, Encoder, Mode, PushError};
use crate::interrupt::{
    limit_message, memory_message, raise_terminated, raise_terminated_from_top, set_hook, terminate,
};
use crate::limits::{Clock, Limits};
use crate::lua::{into_text, lua_string, Lua};
use crate::module_cache::Kind;
use crate::outcome::{ErrorKind, RunError, RunOutput, INTERNAL_ERROR};
use crate::pool::ArenaPool;
use crate::request::{Deadline, Host, Request};
use crate::running::{self, MAX_NESTING};
use crate::wire::{error_reply, Reader, Values, Writer, REPLY_VALUES};
use crate::{host_function, modules, sandbox, state_library, triples_library};

/// What a slice of a call came to.
#[derive(Debug)]
pub enum Step {
    /// The call is over.
    Done(Result<RunOutput, RunError>),
    /// A host function waits for its answer: call [`Call::resume`] with it, or without
    /// one once `time_left_ms` (the rest of the call's time limit) has passed.
    Waiting { time_left_ms: f64 },
    /// The slice used up its budget ([`Call::resume_within`]): call [`Call::resume`] (with
    /// no answer) to go on, on any thread.
    Preempted,
}

/// A call of a Lua chunk, run by slices (see the module docs).
pub struct Call {
    call: Box<CallState>,
    /// Where the call's arena comes from, and goes back to.
    pool: Arc<ArenaPool>,
    /// The arena the call runs in, from its first slice to its end.
    arena: Option<Arena>,
    /// The arena's Lua state: null before the first slice and once the call is over.
    state: Lua,
    phase: Phase,
    /// What the call runs (taken when it starts).
    entry: Entry,
    script_id: String,
    /// Wire globals (a `TABLE` of name -> value), until they are installed.
    globals: Option<Vec<u8>>,
    /// Wire values for the entry's `...`, until they are pushed.
    arguments: Option<Vec<u8>>,
    /// The call's `mw` configuration (mw.rs), until it is given.
    mw: Option<Vec<u8>>,
    /// A panic ran while the call did: its arena is not pooled again.
    poisoned: bool,
}

/// The sandbox's C functions that matter to a wait, for waiting.rs.
static C_FUNCTIONS: CFunctions = CFunctions {
    passes_yields: &[&sandbox::PASSES_YIELDS, &modules::PASSES_YIELDS],
    described: &sandbox::DESCRIBED,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    Started,
    Finished,
}

// SAFETY: a call's Lua state is used by one thread at a time (the one running its slice),
// and nothing in it refers to the thread that made it.
unsafe impl Send for Call {}

/// Why a call failed, before its output and cause are added (`RunError`).
struct Failure {
    kind: ErrorKind,
    message: String,
    traceback: String,
}

impl Failure {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            traceback: String::new(),
        }
    }

    fn memory(call: &CallState) -> Failure {
        Failure::new(ErrorKind::Memory, memory_message(call.memory_limit))
    }

    /// A bug in this crate, reported as the call's error rather than taking the host down.
    fn internal() -> Failure {
        Failure::new(ErrorKind::Runtime, INTERNAL_ERROR)
    }
}

type Outcome = Result<Values, Failure>;

enum Slice {
    Done(Outcome),
    Waiting,
    Preempted,
}

impl Call {
    /// A call as `spec` describes it; its time counts from its first slice, on `clock`.
    pub fn new(spec: CallSpec, clock: Clock) -> Call {
        let mut call = Box::new(CallState::new(clock, &spec.limits, &C_FUNCTIONS));
        call.has_state = spec.state;
        call.has_triples = spec.triples && !spec.state;
        call.host_can_wait = !spec.synchronous;
        call.module_cache = spec.module_cache;
        Call {
            call,
            pool: spec.pool.unwrap_or_else(ArenaPool::shared),
            arena: None,
            state: ptr::null_mut(),
            phase: Phase::New,
            entry: spec.entry,
            script_id: spec.script_id,
            globals: spec.globals,
            arguments: spec.arguments,
            mw: spec.mw,
            poisoned: false,
        }
    }

    /// Runs the call until it finishes or waits for its host. `answer` is the host's reply
    /// to the request the call waits for (an empty or missing one: the host gave up, and
    /// the call ends with a timeout); the first slice takes `None`.
    pub fn resume(&mut self, host: &mut dyn Host, answer: Option<Vec<u8>>) -> Step {
        self.resume_within(host, answer, None)
    }

    /// `resume`, ending the slice with [`Step::Preempted`] once it has run `budget_ms`
    /// (checked every few thousand instructions, where Lua can yield: not inside a C
    /// function that called back into Lua, such as a `table.sort` comparator), so that a
    /// driver may start a call on a thread it must not hold for long and go on elsewhere.
    pub fn resume_within(
        &mut self,
        host: &mut dyn Host,
        answer: Option<Vec<u8>>,
        budget_ms: Option<f64>,
    ) -> Step {
        if self.phase == Phase::Finished {
            return Step::Done(Err(self.error(Failure::internal())));
        }
        // SAFETY: the pointer is cleared below, before `host`'s borrow ends.
        let host: *mut (dyn Host + '_) = host;
        self.call.host =
            Some(unsafe { std::mem::transmute::<*mut (dyn Host + '_), *mut dyn Host>(host) });
        // A bug in this crate must become an error for this call, never take the host down.
        let slice = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
            self.slice(answer, budget_ms)
        }))
        .unwrap_or_else(|_| {
            self.poisoned = true;
            Slice::Done(Err(Failure::internal()))
        });
        self.call.host = None;
        match slice {
            Slice::Preempted => Step::Preempted,
            Slice::Waiting => Step::Waiting {
                time_left_ms: (self.call.deadline - (self.call.clock)()).max(0.0),
            },
            Slice::Done(outcome) => {
                self.close();
                Step::Done(match outcome {
                    Ok(values) => Ok(RunOutput {
                        output: into_text(std::mem::take(&mut self.call.output)),
                        values,
                        log: into_text(std::mem::take(&mut self.call.log)),
                    }),
                    Err(error) => Err(self.error(error)),
                })
            }
        }
    }

    /// Runs a call that has no host (no host functions, modules or State) to its end.
    pub fn run_to_end(mut self) -> Result<RunOutput, RunError> {
        match self.resume(&mut crate::request::NoHost, None) {
            Step::Done(result) => result,
            // Nothing can wait in a call without a host, and `resume` is never preempted.
            Step::Waiting { .. } | Step::Preempted => Err(RunError::internal()),
        }
    }

    fn error(
        &mut self,
        Failure {
            kind,
            message,
            traceback,
        }: Failure,
    ) -> RunError {
        let cause = match kind {
            ErrorKind::Runtime => self
                .call
                .host_errors
                .iter()
                .rev()
                .find(|(raised, _)| *raised == message)
                .map(|&(_, cause)| cause),
            _ => None,
        };
        RunError {
            kind,
            message,
            output: into_text(std::mem::take(&mut self.call.output)),
            traceback,
            cause,
            log: into_text(std::mem::take(&mut self.call.log)),
        }
    }

    unsafe fn slice(&mut self, answer: Option<Vec<u8>>, budget_ms: Option<f64>) -> Slice {
        let call: *mut CallState = &mut *self.call;
        if self.phase == Phase::New {
            self.phase = Phase::Started;
            let arena = match self.pool.take() {
                Some(arena) => Ok(arena),
                None => build_arena(&self.pool, call),
            };
            let mut arena = match arena {
                Ok(arena) => arena,
                Err(failure) => return Slice::Done(Err(failure)),
            };
            arena.restore(call);
            let heap = arena.heap();
            heap.limit = (*call).memory_limit;
            heap.on_growth = watch_growth();
            (*call).heap = heap;
            self.state = arena.state();
            self.arena = Some(arena);
            (*call).start();
        }
        let state = self.state;
        (*call).running.store(state, Ordering::SeqCst);
        let (running, depth) = running::enter(call);
        // The thread the chunk's coroutine continues the C calls of (see running.rs).
        let from = match running.outer() {
            outer if outer.is_null() => state,
            outer => (*outer).running.load(Ordering::SeqCst),
        };
        // A budget for the slice (see `resume_within`), from its start.
        (*call).set_slice_deadline(
            budget_ms.map_or(f64::INFINITY, |budget| ((*call).clock)() + budget),
        );
        // (Natively a guard, kept to the end of the slice; nothing in wasm.)
        #[allow(clippy::let_unit_value)]
        let _watch = watch(&mut *call);
        let status = if (*call).main.is_null() {
            if depth > MAX_NESTING {
                return Slice::Done(Err(Failure::new(ErrorKind::Runtime, too_deep())));
            }
            let nargs = match self.start(state) {
                Ok(nargs) => nargs,
                Err(error) => return Slice::Done(Err(error)),
            };
            self.resume_main(state, from, nargs)
        } else {
            (*call).reply = answer;
            (*call).waiting = false;
            (*call).preempted = false;
            self.resume_main(state, from, 0)
        };
        (*call).set_slice_deadline(f64::INFINITY);
        finish(state, status)
        // Interrupts stop here (the watch is dropped, then the call leaves `running`),
        // before the state can go away.
    }

    /// The state's set-up: sandbox, globals, the chunk's coroutine and what it runs (with
    /// its arguments: their number is returned).
    unsafe fn start(&mut self, state: Lua) -> Result<c_int, Failure> {
        #[cfg(feature = "fault-injection")]
        if self.script_id == "pubwiki-lua:panic" {
            panic!("injected fault");
        }
        let call = call_state(state);
        if (*call.heap).cursor.used > call.memory_limit {
            // The image alone does not fit in the call's memory limit.
            return Err(Failure::memory(call));
        }
        ffi::lua_pushcfunction(state, set_up_call);
        let status = ffi::lua_pcall(state, 0, 0, 0);
        if status != ffi::LUA_OK {
            return Err(set_up_failure(state, status));
        }
        if let Some(globals) = self.globals.take() {
            let status = run_with_bytes(state, install_globals, &globals, 0);
            if status != ffi::LUA_OK {
                return Err(set_up_failure(state, status));
            }
        }
        // The chunk's coroutine, anchored at the bottom of the main thread's stack (made
        // under `lua_pcall`: it allocates, and an image near the memory limit leaves little).
        ffi::lua_pushcfunction(state, new_thread);
        let status = ffi::lua_pcall(state, 0, 1, 0);
        if status != ffi::LUA_OK {
            return Err(set_up_failure(state, status));
        }
        let main = ffi::lua_tothread(state, -1);
        call_state(state).main = main;
        // `mw`'s per-call set-up (mw.rs) leaves the frame of an invoked call (or nil) on top.
        let with_mw = self.mw.is_some();
        if let Some(config) = self.mw.take() {
            let status = run_with_bytes(state, crate::mw::set_up, &config, 1);
            if status != ffi::LUA_OK {
                return Err(set_up_failure(state, status));
            }
        }
        // What it runs goes on its stack, then its arguments.
        let mut nargs = match std::mem::replace(&mut self.entry, Entry::Chunk(Vec::new())) {
            Entry::Chunk(code) => {
                // "=" makes Lua use the name verbatim in messages: `<scriptId>:3: ...`.
                let name = CString::new(format!("={}", self.script_id.replace('\0', "?")))
                    .unwrap_or_default();
                // The runner's compiled copy of this very code under this name, if it has
                // one (module_cache.rs).
                let status = modules::load_compiled(
                    main,
                    Kind::Chunk,
                    self.script_id.as_bytes(),
                    &code,
                    name.as_ptr(),
                );
                call_state(state).module_dump = None;
                drop(code);
                match status {
                    ffi::LUA_OK => 0,
                    ffi::LUA_ERRMEM => return Err(Failure::memory(call_state(state))),
                    _ => {
                        let message = lua_string(main, -1).unwrap_or_default();
                        return Err(Failure::new(ErrorKind::Syntax, message));
                    }
                }
            }
            Entry::Invoke { module, function } => {
                ffi::lua_pushcfunction(main, modules::invoke);
                // The names are made under `lua_pcall` (they allocate), then moved over.
                let names = [module, function];
                let status = run_with_bytes(state, push_names, &names, 2);
                if status != ffi::LUA_OK {
                    return Err(set_up_failure(state, status));
                }
                ffi::lua_xmove(state, main, 2);
                2
            }
        };
        if with_mw {
            // The frame is the invoked function's first argument.
            if ffi::lua_isnil(state, -1) == 0 && nargs == 2 {
                ffi::lua_xmove(state, main, 1);
                nargs += 1;
            } else {
                ffi::lua_pop(state, 1);
            }
        }
        if let Some(arguments) = self.arguments.take() {
            let before = ffi::lua_gettop(state);
            let status = run_with_bytes(state, push_arguments, &arguments, ffi::LUA_MULTRET);
            if status != ffi::LUA_OK {
                return Err(set_up_failure(state, status));
            }
            let count = ffi::lua_gettop(state) - before;
            if ffi::lua_checkstack(main, count + 1) == 0 {
                return Err(Failure::new(ErrorKind::Runtime, "too many arguments"));
            }
            ffi::lua_xmove(state, main, count);
            nargs += count;
        }
        Ok(nargs)
    }

    /// Runs the chunk's coroutine until it returns, fails or waits; it continues the C
    /// calls of `from` (this call's main thread, or the thread of the call it runs inside).
    unsafe fn resume_main(&mut self, state: Lua, from: Lua, nargs: c_int) -> (c_int, c_int) {
        let call = call_state(state);
        let main = call.main;
        call.running.store(main, Ordering::SeqCst);
        crate::preempt::hook_thread(call, main);
        let mut nresults = 0;
        // Lua reads only `from`'s count of C calls (lua_resume, Lua 5.4.6+).
        let status = ffi::lua_resume(main, from, nargs, &mut nresults);
        call_state(state).running.store(state, Ordering::SeqCst);
        (status, nresults)
    }

    /// Gives the arena back as soon as the call is over (its state is left as it is: the
    /// next call restores the image over it), or drops it after a panic.
    fn close(&mut self) {
        self.state = ptr::null_mut();
        if let Some(arena) = self.arena.take() {
            if self.poisoned {
                drop(arena);
            } else {
                self.pool.give_back(arena);
            }
        }
        self.phase = Phase::Finished;
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // A call dropped while it waits: its state goes with it.
        self.close();
    }
}

/// Classifies the outcome of a slice of the chunk's coroutine.
unsafe fn finish(state: Lua, (status, nresults): (c_int, c_int)) -> Slice {
    let call = call_state(state);
    let main = call.main;
    if status == ffi::LUA_YIELD && call.preempted {
        return Slice::Preempted;
    }
    if status == ffi::LUA_YIELD && call.waiting {
        return Slice::Waiting;
    }
    if status == ffi::LUA_YIELD {
        // Scripts cannot yield the chunk's coroutine (sandbox.rs), so this is a bug.
        return Slice::Done(Err(Failure::internal()));
    }
    if let (ffi::LUA_OK, Some(kind)) = (status, call.terminated) {
        // A limit was hit but its error swallowed where scripts cannot see it (e.g. inside
        // a `load` reader): the call still fails.
        ffi::lua_pushcfunction(state, raise_terminated_from_top);
        ffi::lua_pcall(state, 0, 0, 0);
        let message = lua_string(state, -1).unwrap_or_default();
        return Slice::Done(Err(Failure::new(kind, message)));
    }
    if status == ffi::LUA_OK {
        // Inserts still waiting go to the host before it commits (triple_writes.rs).
        if let Err((kind, message)) = triples_library::send_waiting(state) {
            return Slice::Done(Err(Failure::new(kind, message)));
        }
        // The script is done: converting results must not trip the limits.
        (*call.heap).limit = usize::MAX;
        ffi::lua_sethook(main, None, 0, 0);
        return Slice::Done(return_values(main, nresults));
    }
    Slice::Done(Err(failure(state, main, kind_of(call, status))))
}

/// The kind of a failure with Lua status `status`: the limit that ended the call if one
/// did (its error may have been caught or replaced on the way), else a memory error or a
/// runtime one.
fn kind_of(call: &CallState, status: c_int) -> ErrorKind {
    match (call.terminated, status) {
        (Some(kind), _) => kind,
        (None, ffi::LUA_ERRMEM) => ErrorKind::Memory,
        _ => ErrorKind::Runtime,
    }
}

/// A failure while the state is set up (the sandbox, globals, arguments), with status
/// `status` and its error on the main thread's top.
unsafe fn set_up_failure(state: Lua, status: c_int) -> Failure {
    let kind = kind_of(call_state(state), status);
    let message = message_of_limit(state, kind).or_else(|| lua_string(state, -1));
    Failure::new(kind, message.unwrap_or_default())
}

/// The message and traceback of a chunk that failed with `kind`, once its to-be-closed
/// variables are closed.
unsafe fn failure(state: Lua, main: Lua, kind: ErrorKind) -> Failure {
    let call = call_state(state);
    // The traceback while the failing frames are still on the coroutine's stack (Lua keeps
    // them after an error); making it must not fail on a script that used up its memory.
    let traceback = if kind == ErrorKind::Memory {
        String::new()
    } else {
        let limit = (*call.heap).limit;
        (*call.heap).limit = usize::MAX;
        ffi::luaL_traceback(state, main, ptr::null(), 0);
        (*call.heap).limit = limit;
        let traceback = lua_string(state, -1).unwrap_or_default();
        ffi::lua_pop(state, 1);
        traceback
    };
    // The failed chunk's to-be-closed variables: their handlers run in its coroutine, under
    // the limits, and a failing one replaces the error (as in a `pcall`); not once a limit
    // ended the call (see `close_coroutine`).
    let mut kind = kind;
    if sandbox::close_coroutine(state, main) == Some(ffi::LUA_ERRMEM) {
        kind = ErrorKind::Memory;
    }
    // Handlers may have hit a limit, which then ends the call.
    let kind = call_state(state).terminated.unwrap_or(kind);
    let message = match message_of_limit(state, kind) {
        Some(message) => message,
        None => {
            ffi::lua_xmove(main, state, 1);
            if call_state(state).hook_everywhere.load(Ordering::SeqCst) {
                set_hook(state);
            }
            // May run the error object's `__tostring`, which may hit a limit itself.
            sandbox::push_error_message(state, -1);
            let message =
                lua_string(state, -1).unwrap_or_else(|| "(error object is not a string)".into());
            match call_state(state).terminated {
                Some(limit) if limit != kind => {
                    let message = message_of_limit(state, limit).unwrap_or(message);
                    return Failure {
                        kind: limit,
                        message,
                        traceback,
                    };
                }
                _ => message,
            }
        }
    };
    Failure {
        kind,
        message,
        traceback,
    }
}

/// The message of the limit that ended the call: the limit's own error, even where a
/// failing `__close` handler replaced it. `None` for other errors.
unsafe fn message_of_limit(state: Lua, kind: ErrorKind) -> Option<String> {
    let call = call_state(state);
    match (kind, call.terminated_message.take()) {
        (ErrorKind::Memory, _) => Some(memory_message(call.memory_limit)),
        (ErrorKind::Runtime | ErrorKind::Syntax, _) => None,
        (_, Some(message)) => Some(message),
        // The limit's error was never raised where its message could be kept.
        (_, None) => Some(limit_message(call, kind)),
    }
}

/// The chunk's return values (the top `n` of its coroutine's stack) in the wire format.
unsafe fn return_values(main: Lua, n: c_int) -> Outcome {
    let mut writer = Writer::new();
    writer.count(n as usize);
    let first = ffi::lua_gettop(main) - n + 1;
    let limit = call_state(main).memory_limit;
    let mut encoder = Encoder::new(&mut writer, Mode::Host, limit);
    for idx in first..first + n {
        let number = idx - first + 1;
        match encoder.value(main, idx) {
            Ok(()) => {}
            Err(EncodeError::Invalid(why)) => {
                let why = why.to_string_lossy();
                let message = format!("return value #{number} cannot be converted: {why}");
                return Err(Failure::new(ErrorKind::Runtime, message));
            }
            Err(EncodeError::TooBig) => {
                let message = format!(
                    "return value #{number} cannot be converted: {}",
                    convert::too_big(limit)
                );
                return Err(Failure::new(ErrorKind::Memory, message));
            }
        }
    }
    Ok(Values(writer.into_bytes()))
}

/// Pushes wire `values` (light userdata 1 points to their bytes) and returns them. Runs
/// under `lua_pcall`: making the values may raise a memory error.
unsafe extern "C-unwind" fn push_arguments(state: Lua) -> c_int {
    let bytes = &*(ffi::lua_touserdata(state, 1) as *const Vec<u8>);
    let mut reader = Reader::new(bytes);
    ffi::lua_settop(state, 0);
    let pushed = reader.length().map_err(PushError::from).and_then(|n| {
        (0..n).try_for_each(|_| {
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err(PushError::Malformed(crate::wire::WireError(
                    "too many arguments",
                )));
            }
            convert::push(state, &mut reader, host_function::call)
        })
    });
    match pushed {
        Ok(()) => ffi::lua_gettop(state),
        Err(PushError::Oversized) => {
            terminate(state, ErrorKind::Memory);
            raise_terminated(state, 1)
        }
        Err(PushError::Malformed(_)) => ffi::luaL_error(
            state,
            c"pubwiki-lua: malformed arguments from the host".as_ptr(),
        ),
    }
}

/// Installs wire globals (a `TABLE`; light userdata 1 points to its bytes) into `_G`.
/// Runs under `lua_pcall`: making the values may raise a memory error.
unsafe extern "C-unwind" fn install_globals(state: Lua) -> c_int {
    let bytes = &*(ffi::lua_touserdata(state, 1) as *const Vec<u8>);
    let mut reader = Reader::new(bytes);
    ffi::lua_pushglobaltable(state);
    let globals = ffi::lua_gettop(state);
    let installed = match reader.u8() {
        Ok(crate::wire::TABLE) => reader.length().map_err(PushError::from).and_then(|n| {
            (0..n).try_for_each(|_| {
                convert::push(state, &mut reader, host_function::call)?;
                convert::push(state, &mut reader, host_function::call)?;
                if ffi::lua_type(state, -2) != ffi::LUA_TSTRING {
                    return Err(PushError::Malformed(crate::wire::WireError(
                        "global name is not a string",
                    )));
                }
                ffi::lua_rawset(state, globals);
                Ok(())
            })
        }),
        Ok(crate::wire::OVERSIZED) => Err(PushError::Oversized),
        _ => Err(PushError::Malformed(crate::wire::WireError(
            "globals are not a table",
        ))),
    };
    match installed {
        Ok(()) => 0,
        Err(PushError::Oversized) => {
            terminate(state, ErrorKind::Memory);
            raise_terminated(state, 1)
        }
        Err(PushError::Malformed(_)) => ffi::luaL_error(
            state,
            c"pubwiki-lua: malformed globals from the host".as_ptr(),
        ),
    }
}

/// What a call sets up in its restored state before its globals (see arena.rs): its own
/// `math.random` seed, and `State` (key/value or triples). Runs under `lua_pcall` (it allocates).
unsafe extern "C-unwind" fn set_up_call(state: Lua) -> c_int {
    let call = call_state(state);
    sandbox::reseed(state, call_seed(call.clock));
    if call.has_state {
        ffi::lua_pushglobaltable(state);
        state_library::open(state);
        ffi::lua_pop(state, 1);
    } else if call.has_triples {
        ffi::lua_pushglobaltable(state);
        triples_library::open(state);
        ffi::lua_pop(state, 1);
    }
    0
}

/// A seed for a call's `math.random`: no two calls in a process share one (a counter), and
/// it is not predictable from another call's (mixed with the clock, and natively with a
/// per-process secret).
fn call_seed(clock: Clock) -> [i64; 2] {
    use std::sync::atomic::AtomicU64;
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let count = CALLS.fetch_add(1, Ordering::Relaxed);
    let first = mix(process_secret() ^ count);
    [first as i64, mix(first ^ clock().to_bits()) as i64]
}

/// splitmix64's finalizer: every bit of `x` reaches every bit of the result.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Random bits chosen once per process (std's hash keys come from the system's randomness).
#[cfg(not(target_family = "wasm"))]
fn process_secret() -> u64 {
    use std::hash::BuildHasher;
    use std::sync::OnceLock;
    static SECRET: OnceLock<u64> = OnceLock::new();
    *SECRET.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64))
}

/// A wasm instance has no source of randomness of its own: the clock of its first call.
#[cfg(target_family = "wasm")]
fn process_secret() -> u64 {
    0
}

/// A new arena for `pool`, built while `call` starts (arena.rs): the sandbox, and the
/// pool's preloaded modules.
unsafe fn build_arena(pool: &ArenaPool, call: *mut CallState) -> Result<Arena, Failure> {
    if pool.preload.is_empty() {
        let mut arena = Arena::new(call).ok_or_else(|| Failure::memory(&*call))?;
        let state = arena.state();
        ffi::lua_pushcfunction(state, sandbox::open);
        if ffi::lua_pcall(state, 0, 0, 0) != ffi::LUA_OK {
            return Err(Failure::memory(&*call));
        }
        if pool.mw {
            ffi::lua_pushcfunction(state, crate::mw::open);
            let status = ffi::lua_pcall(state, 0, 0, 0);
            if status != ffi::LUA_OK {
                return Err(set_up_failure(state, status));
            }
        }
        arena.snapshot();
        return Ok(arena);
    }
    // The preloaded modules load in a call of their own, under the pool's limits, with a
    // host that has their sources and nothing else; the count hook watches its time.
    let mut builder = CallState::new((*call).clock, &pool.limits, &C_FUNCTIONS);
    builder.host_can_wait = false;
    builder.hook_everywhere.store(true, Ordering::SeqCst);
    let mut host = PreloadHost(&pool.preload);
    let host: *mut (dyn Host + '_) = &mut host;
    // SAFETY: the builder, and with it the pointer, is gone before `host` is.
    builder.host = Some(std::mem::transmute::<*mut (dyn Host + '_), *mut dyn Host>(
        host,
    ));
    let builder: *mut CallState = &mut builder;
    let mut arena = Arena::new(builder).ok_or_else(|| Failure::memory(&*builder))?;
    let state = arena.state();
    let heap = arena.heap();
    heap.limit = pool.limits.memory_bytes;
    (*builder).heap = heap;
    (*builder).start();
    set_hook(state);
    ffi::lua_pushcfunction(state, preload);
    ffi::lua_pushlightuserdata(state, &pool.preload as *const _ as *mut c_void);
    ffi::lua_pushboolean(state, pool.mw as c_int);
    let status = ffi::lua_pcall(state, 2, 0, 0);
    if status != ffi::LUA_OK {
        let failure = set_up_failure(state, status);
        return Err(Failure::new(
            failure.kind,
            format!("preload: {}", failure.message),
        ));
    }
    ffi::lua_sethook(state, None, 0, 0);
    arena.heap().limit = usize::MAX;
    arena.snapshot();
    Ok(arena)
}

/// Opens the sandbox (and `mw` if argument 2 is true) and requires each preloaded module
/// (light userdata 1: the pool's list), keeping them in `package.loaded`. Runs under
/// `lua_pcall`.
unsafe extern "C-unwind" fn preload(state: Lua) -> c_int {
    let modules = &*(ffi::lua_touserdata(state, 1) as *const Vec<(String, Vec<u8>)>);
    let with_mw = ffi::lua_toboolean(state, 2) != 0;
    ffi::lua_settop(state, 0);
    sandbox::open(state);
    if with_mw {
        crate::mw::open(state);
    }
    for (name, _) in modules {
        ffi::lua_getglobal(state, c"require".as_ptr());
        ffi::lua_pushlstring(state, name.as_ptr() as *const _, name.len());
        ffi::lua_call(state, 1, 0);
    }
    0
}

/// The host of preloaded modules as they load: their sources, and nothing else.
struct PreloadHost<'a>(&'a [(String, Vec<u8>)]);

impl Host for PreloadHost<'_> {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        match request {
            Request::Module { name, .. } => match self.0.iter().find(|(n, _)| n == name) {
                Some((_, source)) => {
                    let mut reply = Writer::new();
                    reply.tag(REPLY_VALUES).count(1).string(source);
                    reply.into_bytes()
                }
                None => error_reply(&format!(
                    "module '{name}' is not preloaded (a preloaded module may require only preloaded modules)"
                )),
            },
            Request::Call { name, .. } => error_reply(&format!(
                "a preloaded module may not call host functions ('{name}') while it loads"
            )),
        }
    }
}

/// Runs `function` under `lua_pcall`, with light userdata 1 pointing to `data`; keeps
/// `nresults` of its results. Returns Lua's status.
unsafe fn run_with_bytes<T>(
    state: Lua,
    function: ffi::lua_CFunction,
    data: &T,
    nresults: c_int,
) -> c_int {
    ffi::lua_pushcfunction(state, function);
    ffi::lua_pushlightuserdata(state, data as *const T as *mut c_void);
    ffi::lua_pcall(state, 1, nresults, 0)
}

/// Pushes a new thread. Runs under `lua_pcall`.
unsafe extern "C-unwind" fn new_thread(state: Lua) -> c_int {
    ffi::lua_newthread(state);
    1
}

/// Pushes the two strings light userdata 1 points to. Runs under `lua_pcall`.
unsafe extern "C-unwind" fn push_names(state: Lua) -> c_int {
    let names = &*(ffi::lua_touserdata(state, 1) as *const [String; 2]);
    for name in names {
        ffi::lua_pushlstring(state, name.as_ptr() as *const _, name.len());
    }
    2
}

/// The message of a call refused because it would nest too deep (running.rs).
pub fn too_deep() -> String {
    format!("calls nested too deep: at most {MAX_NESTING} may run inside each other (through host functions that run scripts)")
}

/// Native: a watchdog interrupts the call at its deadline, so no hook slows it down before
/// (see watchdog.rs). Elsewhere, or if the watchdog cannot run, the hook is always on.
#[cfg(not(target_family = "wasm"))]
fn watch(call: &mut CallState) -> Option<crate::watchdog::Watch> {
    let remaining = (call.deadline - (call.clock)()).max(0.0) / 1000.0;
    let deadline = std::time::Duration::try_from_secs_f64(remaining)
        .ok()
        .and_then(|remaining| std::time::Instant::now().checked_add(remaining));
    let watch = deadline.and_then(crate::watchdog::watch_call);
    if watch.is_none() && deadline.is_some() {
        call.hook_everywhere.store(true, Ordering::SeqCst);
    }
    watch
}

/// Wasm: the interpreter's step counter interrupts the call (see fuel.rs), or, where Lua
/// was built without one, the hook is always on.
#[cfg(target_family = "wasm")]
fn watch(call: &mut CallState) {
    if !crate::fuel::counts_steps() {
        call.hook_everywhere.store(true, Ordering::SeqCst);
    }
}

/// Natively the watchdog's timer needs no help from the allocator.
#[cfg(not(target_family = "wasm"))]
fn watch_growth() -> Option<fn(usize)> {
    None
}

/// Wasm: a single-threaded instance has no watchdog, and big allocations mean long C work.
#[cfg(target_family = "wasm")]
fn watch_growth() -> Option<fn(usize)> {
    Some(crate::fuel::note_allocation)
}

/// Runs `code` as a text chunk named `script_id` in a fresh sandboxed state, with no host.
pub fn run_with_clock(
    code: &[u8],
    script_id: &str,
    limits: &Limits,
    clock: Clock,
) -> Result<RunOutput, RunError> {
    let spec = CallSpec::chunk(code, script_id).limits(limits.clone());
    Call::new(spec, clock).run_to_end()
}
