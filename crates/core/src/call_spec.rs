//! What a call is: the one description of a call that [`crate::Call::new`] takes, and the
//! bytes it crosses from JS in ([`CallSpec::decode`]; lib/call.mjs `encodeCall` writes
//! them from the call object lib/api.mjs builds). One buffer each way, the outcome coming
//! back as bytes too (outcome.rs), because each crossing costs: reading the call object's
//! eleven fields one by one and building the outcome object field by field took ~1.5 us of
//! a 6 us call natively, and more in wasm, where every field is a JS call and a string.
//!
//! The bytes (varints and length-prefixed strings as in wire.rs, floats as 8 bytes LE):
//! - `flags`: a byte, `INVOKE`, `STATE`, `TRIPLES`, `SYNCHRONOUS`, and which of the three
//!   limits follow (`MEMORY`, `TIME`, `OUTPUT`);
//! - the limits given, each a float, in that order;
//! - the script id; then the code, or (`INVOKE`) the module and the function name;
//! - the globals, the arguments and the `mw` configuration (a wire table: mw.rs), each a
//!   varint of its length plus one (0: none) and its wire bytes.

use std::sync::Arc;

use crate::limits::Limits;
use crate::module_cache::ModuleCache;
use crate::pool::ArenaPool;
use crate::wire::{Reader, WireError};

/// The flags of a call's bytes (see the module docs).
pub mod flags {
    pub const INVOKE: u8 = 1;
    pub const STATE: u8 = 2;
    pub const TRIPLES: u8 = 4;
    pub const SYNCHRONOUS: u8 = 8;
    pub const MEMORY: u8 = 16;
    pub const TIME: u8 = 32;
    pub const OUTPUT: u8 = 64;
}

/// What a call runs.
#[derive(Clone, Debug)]
pub enum Entry {
    /// A chunk of Lua source text (binary chunks are refused).
    Chunk(Vec<u8>),
    /// `require(module)[function](...)` (Scribunto's #invoke); a missing module or function
    /// is a runtime error.
    Invoke { module: String, function: String },
}

/// One call: its entry, name, limits and what its host gives it.
#[derive(Clone)]
pub struct CallSpec {
    pub entry: Entry,
    /// The chunk's name in messages (`Module:Page:3: ...`) and the scope of its `State`.
    pub script_id: String,
    pub limits: Limits,
    /// Globals for the script, as a wire `TABLE` of names to values; functions in it are the
    /// host's (request.rs). They are copied into the call's state, under its limits.
    pub globals: Option<Vec<u8>>,
    /// The entry's `...`, as wire `values` (functions in them are the host's, as in globals).
    pub arguments: Option<Vec<u8>>,
    /// The script gets `State`, whose requests its host answers (state_library.rs).
    pub state: bool,
    /// The script gets `State` as RDF triples (triples_library.rs), whose requests its host
    /// answers; never with `state` (both are `State`).
    pub triples: bool,
    /// The host answers every request at once: a `PENDING` reply is a Lua error.
    pub synchronous: bool,
    /// The runner's compiled modules, shared by its calls (module_cache.rs).
    pub module_cache: Option<Arc<ModuleCache>>,
    /// The arenas of the runner's image (pool.rs); `None`: the process's shared pool.
    pub pool: Option<Arc<ArenaPool>>,
    /// The call's `mw` configuration, as a wire table (mw.rs); its runner's image must
    /// have `mw` (`ArenaPool::with_mw`).
    pub mw: Option<Vec<u8>>,
}

impl CallSpec {
    /// A call of `code` named `script_id`, with default limits and nothing from its host.
    pub fn chunk(code: impl Into<Vec<u8>>, script_id: &str) -> CallSpec {
        CallSpec::new(Entry::Chunk(code.into()), script_id)
    }

    /// A call of `require(module)[function](...)` named `script_id`.
    pub fn invoke(module: &str, function: &str, script_id: &str) -> CallSpec {
        let entry = Entry::Invoke {
            module: module.to_string(),
            function: function.to_string(),
        };
        CallSpec::new(entry, script_id)
    }

    fn new(entry: Entry, script_id: &str) -> CallSpec {
        CallSpec {
            entry,
            script_id: script_id.to_string(),
            limits: Limits::DEFAULT,
            globals: None,
            arguments: None,
            state: false,
            triples: false,
            synchronous: false,
            module_cache: None,
            pool: None,
            mw: None,
        }
    }

    pub fn limits(mut self, limits: Limits) -> CallSpec {
        self.limits = limits;
        self
    }

    pub fn globals(mut self, globals: Vec<u8>) -> CallSpec {
        self.globals = Some(globals);
        self
    }

    pub fn arguments(mut self, arguments: Vec<u8>) -> CallSpec {
        self.arguments = Some(arguments);
        self
    }

    pub fn with_state(mut self) -> CallSpec {
        self.state = true;
        self
    }

    pub fn with_triples(mut self) -> CallSpec {
        self.triples = true;
        self
    }

    pub fn synchronous(mut self) -> CallSpec {
        self.synchronous = true;
        self
    }

    pub fn module_cache(mut self, cache: Arc<ModuleCache>) -> CallSpec {
        self.module_cache = Some(cache);
        self
    }

    pub fn pool(mut self, pool: Arc<ArenaPool>) -> CallSpec {
        self.pool = Some(pool);
        self
    }

    pub fn mw(mut self, config: Vec<u8>) -> CallSpec {
        self.mw = Some(config);
        self
    }
}

impl CallSpec {
    /// The call that `bytes` describe (see the module docs).
    pub fn decode(bytes: &[u8]) -> Result<CallSpec, WireError> {
        let mut reader = Reader::new(bytes);
        let flags = reader.u8()?;
        let mut limit = |flag: u8| -> Result<Option<f64>, WireError> {
            if flags & flag == 0 {
                return Ok(None);
            }
            reader.f64().map(Some)
        };
        let limits = Limits::with_overrides(
            limit(flags::MEMORY)?,
            limit(flags::TIME)?,
            limit(flags::OUTPUT)?,
        );
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let script_id = text(reader.bytes()?);
        let entry = if flags & flags::INVOKE != 0 {
            let module = text(reader.bytes()?);
            let function = text(reader.bytes()?);
            Entry::Invoke { module, function }
        } else {
            Entry::Chunk(reader.bytes()?.to_vec())
        };
        let globals = reader.optional_bytes()?.map(<[u8]>::to_vec);
        let arguments = reader.optional_bytes()?.map(<[u8]>::to_vec);
        let mw = reader.optional_bytes()?.map(<[u8]>::to_vec);
        Ok(CallSpec {
            entry,
            script_id,
            limits,
            globals,
            arguments,
            state: flags & flags::STATE != 0,
            triples: flags & flags::TRIPLES != 0,
            synchronous: flags & flags::SYNCHRONOUS != 0,
            module_cache: None,
            pool: None,
            mw,
        })
    }
}
