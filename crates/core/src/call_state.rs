//! Per-call state: everything one call owns, reachable from every C function through the
//! Lua state's extra space. Every module that runs inside a call reads it; it reads only
//! the plain types it holds (lua, alloc, limits, module_cache, outcome, request,
//! triple_writes).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

use mlua::ffi;

use crate::lua::Lua;

use crate::alloc::Heap;
use crate::limits::Clock;
use crate::module_cache::ModuleCache;
use crate::outcome::ErrorKind;
use crate::request::Host;
use crate::triple_writes::TripleWrites;

/// The sandbox's C functions that matter to a wait (waiting.rs), which the runner, knowing
/// them all, hands down here.
pub(crate) struct CFunctions {
    /// Those that call Lua with a continuation, so that a wait passes through them.
    pub passes_yields: &'static [&'static [ffi::lua_CFunction]],
    /// Readable names for those that are not library fields.
    pub described: &'static [(ffi::lua_CFunction, &'static str)],
}

/// How many of the latest host errors a call remembers, to tell whether the error that
/// ended it was one of them (`RunError::cause`).
pub const HOST_ERRORS_KEPT: usize = 4;

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
    /// The heap of the call's state, whose limit is the call's (arena.rs), once it started.
    pub heap: *mut Heap,
    /// The Lua thread (main or coroutine) running now: where an interrupt puts the hook.
    pub running: AtomicPtr<ffi::lua_State>,
    /// How many calls deep the running slice is nested on its thread (running.rs).
    pub nesting: usize,
    /// Set once every running thread must carry the count hook (the deadline has passed, a
    /// limit was hit, or the platform has no watchdog).
    pub hook_everywhere: AtomicBool,
    /// The running slice may be preempted once this time has passed (`INFINITY`: it may
    /// not): the slice hook then yields the chunk's coroutine where it can (preempt.rs).
    /// An f64's bits ([`Self::slice_deadline`]).
    slice_deadline: AtomicU64,
    /// The slice ended because it was preempted (it goes on in the next slice).
    pub preempted: bool,
    /// C functions called from C loops since the clock was last read (wasm only; see
    /// `check_before_c_call`).
    #[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
    pub unchecked_calls: u32,
    /// Host calls since the clock was last read after one (wasm only; host_function.rs).
    #[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
    pub unchecked_host_calls: u32,

    // The host bridge (host_function.rs).
    /// The host of the running slice of the call (set by `Call::resume` for its duration).
    pub host: Option<*mut dyn Host>,
    /// Whether the host can answer later (`PENDING`): false for synchronous calls.
    pub host_can_wait: bool,
    /// The coroutine that runs the chunk: a host wait suspends it; a script's own
    /// `coroutine.yield` may not.
    pub main: Lua,
    /// The threads that resumed the running one, outermost first (the running thread's
    /// resumer last): a host wait must pass through every one of them.
    pub resumers: Vec<Lua>,
    /// A host function is suspended waiting for its answer: coroutine switches pass the
    /// yield on to the driver instead of returning it to the script.
    pub waiting: bool,
    /// The host's reply being turned into Lua values (kept here, not on a Rust stack that a
    /// Lua error could longjmp over), or the answer a suspended call was resumed with.
    pub reply: Option<Vec<u8>>,
    /// The latest errors raised for host functions: their full message and the host's id.
    pub host_errors: VecDeque<(String, u32)>,
    pub c_functions: &'static CFunctions,

    // Modules (modules.rs).
    /// The runner's compiled modules.
    pub module_cache: Option<Arc<ModuleCache>>,
    /// A compiled module being loaded (kept here while Lua reads it).
    pub module_dump: Option<Arc<[u8]>>,
    /// The names of the modules being loaded, outermost first.
    pub loading: Vec<Vec<u8>>,
    /// Whether the script gets `State` (script_state.rs).
    pub has_state: bool,
    /// Whether the script gets `State` as RDF triples (triples_library.rs).
    pub has_triples: bool,
    /// `State.insert`s not sent to the host yet (triples_library.rs).
    pub triple_writes: TripleWrites,
    /// What `mw.log` and its kin wrote (mw.rs).
    pub log: Vec<u8>,
    /// `tostring` and `print` write floats as Lua 5.1 does (mw.rs).
    pub numbers51: bool,
    /// The long string mw.ustring last checked (ustring.rs).
    pub ustring: crate::known_text::Known,
}

impl CallState {
    /// The state of a call that has not started: its time counts from `start`.
    pub fn new(
        clock: Clock,
        limits: &crate::Limits,
        c_functions: &'static CFunctions,
    ) -> CallState {
        CallState {
            output: Vec::new(),
            output_limit: limits.output_bytes,
            clock,
            started: 0.0,
            deadline: f64::INFINITY,
            time_limit_ms: limits.time_ms,
            memory_limit: limits.memory_bytes,
            terminated: None,
            terminated_message: None,
            heap: std::ptr::null_mut(),
            running: AtomicPtr::new(std::ptr::null_mut()),
            nesting: 0,
            hook_everywhere: AtomicBool::new(false),
            slice_deadline: AtomicU64::new(f64::INFINITY.to_bits()),
            preempted: false,
            unchecked_calls: 0,
            unchecked_host_calls: 0,
            host: None,
            host_can_wait: true,
            main: std::ptr::null_mut(),
            resumers: Vec::new(),
            waiting: false,
            reply: None,
            host_errors: VecDeque::with_capacity(HOST_ERRORS_KEPT),
            c_functions,
            module_cache: None,
            module_dump: None,
            loading: Vec::new(),
            has_state: false,
            has_triples: false,
            triple_writes: TripleWrites::default(),
            log: Vec::new(),
            numbers51: false,
            ustring: Default::default(),
        }
    }
}

impl CallState {
    /// The call starts now: its time limit counts from here.
    pub fn start(&mut self) {
        self.started = (self.clock)();
        self.deadline = self.started + self.time_limit_ms;
    }

    /// When the running slice may be preempted (`INFINITY`: never).
    pub fn slice_deadline(&self) -> f64 {
        f64::from_bits(self.slice_deadline.load(Ordering::SeqCst))
    }

    /// A slice starts that may be preempted at `deadline` (`INFINITY`: never), or the
    /// slice ends (`INFINITY`).
    pub fn set_slice_deadline(&self, deadline: f64) {
        self.slice_deadline
            .store(deadline.to_bits(), Ordering::SeqCst);
    }
}

/// The call's state. Borrows must stay short: any Lua API call may re-enter. Every thread
/// of a state reaches its heap through its extra space (arena.rs), and the heap the call
/// it serves now.
#[allow(clippy::mut_from_ref)]
pub(crate) unsafe fn call_state<'a>(state: Lua) -> &'a mut CallState {
    let heap = *(ffi::lua_getextraspace(state) as *mut *mut Heap);
    &mut *((*heap).call as *mut CallState)
}
