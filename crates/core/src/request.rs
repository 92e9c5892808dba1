//! What a running call asks of its host, and how the host answers: the one way out of the
//! sandbox. A driver (the napi or wasm wrapper, or a Rust embedder) implements [`Host`].
//!
//! A request is answered synchronously with a wire reply (wire.rs): values, an error, or
//! `PENDING` when the answer will come later. Then the call suspends where Lua can wait:
//! [`crate::Call::resume`] returns [`crate::Step::Waiting`], no thread is held, and the
//! driver resumes the call with the answer once it has it. Where Lua cannot wait (inside
//! `table.sort` comparators, `gsub` callbacks, `__tostring` reached from `print`, or in a
//! call made synchronous), a pending answer is a Lua error at the call site instead.

/// A request from a running script.
#[derive(Clone, Copy, Debug)]
pub enum Request<'a> {
    /// The script called the host's function number `function` (as the host numbered it
    /// in the wire values it gave), known as `name` in messages, with these arguments
    /// (wire `values`).
    Call {
        function: u32,
        name: &'a str,
        args: &'a [u8],
        /// Whether the call can wait here. Where it cannot, a `PENDING` reply is a Lua
        /// error; a host must then say `PENDING` for a promise even if it could get the
        /// promise's answer at once, so that the error does not depend on timing.
        can_wait: bool,
    },
    /// `require(name)` wants module `name`'s source: a `VALUES` reply with one string, or
    /// with nil when there is no such module. `args` is `name` as wire `values`.
    Module {
        name: &'a str,
        args: &'a [u8],
        can_wait: bool,
    },
}

/// The function number under which drivers pass `Request::Module` to a host that takes
/// every request as a function call (as lib/bridge.mjs does).
pub const MODULE_SOURCE: u32 = u32::MAX;

/// The function number of `State`'s requests to the host (script_state.rs).
pub const STATE: u32 = u32::MAX - 1;

/// The function number of the triples `State`'s requests to the host (triples_library.rs).
pub const TRIPLES: u32 = u32::MAX - 2;

impl Request<'_> {
    /// The request as a call of a host function: its number (`MODULE_SOURCE` for a
    /// module's source), its wire arguments, and whether the call can wait here.
    pub fn as_call(&self) -> (u32, &[u8], bool) {
        match *self {
            Request::Call {
                function,
                args,
                can_wait,
                ..
            } => (function, args, can_wait),
            Request::Module { args, can_wait, .. } => (MODULE_SOURCE, args, can_wait),
        }
    }
}

/// When the call's time is up, for a host that waits for its answer.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    pub(crate) at: f64,
    pub(crate) clock: crate::Clock,
}

impl Deadline {
    /// Milliseconds left (read from the call's clock only when asked: most hosts answer
    /// at once and never ask).
    pub fn time_left_ms(&self) -> f64 {
        (self.at - (self.clock)()).max(0.0)
    }
}

/// The host side of a call.
pub trait Host {
    /// Answers `request` with a wire reply (wire.rs: `VALUES`, `ERROR` or `PENDING`).
    /// A driver that has to wait for the answer (another thread runs the host's code) must
    /// give up at `deadline` and return an empty reply: the call then ends with a timeout
    /// at the call site.
    fn request(&mut self, request: Request<'_>, deadline: Deadline) -> Vec<u8>;
}

/// The host of calls that were given no host functions and no modules: it has no module
/// (`require` finds only the standard libraries), and no function request can reach it.
pub struct NoHost;

impl Host for NoHost {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let mut reply = crate::wire::Writer::new();
        match request {
            Request::Module { .. } => reply.tag(crate::wire::REPLY_VALUES).count(1).nil(),
            Request::Call { .. } => return crate::wire::error_reply("this call has no host"),
        };
        reply.into_bytes()
    }
}
