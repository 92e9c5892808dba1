//! What a call is: the one description of a call that every driver fills in (from the JS
//! call object lib/api.mjs builds, field by field) and [`crate::Call::new`] takes.

use std::sync::Arc;

use crate::limits::Limits;
use crate::module_cache::ModuleCache;
use crate::pool::ArenaPool;

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
