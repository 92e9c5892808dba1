//! Arenas ready for calls (arena.rs), pooled by the image they restore: the process's
//! default one (the sandbox alone), and one per runner that preloads modules into its
//! image.
//!
//! A call takes an idle arena, or, with none idle, the runner builds a new one (runner.rs);
//! it holds it until it ends, waits for its host included, and then gives it back. So the
//! pool grows to as many arenas as calls run or wait at once, and shrinks again as they
//! end: it keeps at most [`MAX_IDLE`] idle arenas and frees the others, and an arena comes
//! back with at most [`SPARE_BYTES`] of the memory its call grew beyond the image (the rest
//! goes back to the system).

use std::sync::{Arc, Mutex, OnceLock};

use crate::arena::Arena;
use crate::limits::Limits;

/// Idle arenas a pool keeps.
pub const MAX_IDLE: usize = 16;

/// Memory beyond its image an idle arena keeps for the next call.
pub const SPARE_BYTES: usize = 1 << 20;

/// Arenas with one kind of image (see the module docs).
pub struct ArenaPool {
    /// Modules run into the image, in order: (name, source).
    pub(crate) preload: Vec<(String, Vec<u8>)>,
    /// The limits the preloaded modules load under.
    pub(crate) limits: Limits,
    /// The image has Scribunto's `mw` library (mw.rs), opened before the modules load.
    pub(crate) mw: bool,
    idle: Mutex<Vec<Arena>>,
}

impl ArenaPool {
    /// A pool whose image also holds `preload`'s modules (name, source), each required in
    /// order under `limits`, as pure code: no host function, no `State`, and no `require`
    /// of a module that is not in `preload`.
    pub fn with_preload(preload: Vec<(String, Vec<u8>)>, limits: Limits) -> ArenaPool {
        ArenaPool {
            preload,
            limits,
            mw: false,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The same pool, whose image also has the `mw` library.
    pub fn with_mw(mut self) -> ArenaPool {
        self.mw = true;
        self
    }

    /// The pool of calls whose runner has `mw` and preloads nothing.
    pub fn shared_with_mw() -> Arc<ArenaPool> {
        static SHARED: OnceLock<Arc<ArenaPool>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                Arc::new(ArenaPool::with_preload(Vec::new(), Limits::DEFAULT).with_mw())
            })
            .clone()
    }

    /// The pool of calls whose runner preloads nothing.
    pub fn shared() -> Arc<ArenaPool> {
        static SHARED: OnceLock<Arc<ArenaPool>> = OnceLock::new();
        SHARED
            .get_or_init(|| Arc::new(ArenaPool::with_preload(Vec::new(), Limits::DEFAULT)))
            .clone()
    }

    /// The pool of a runner that preloads `preload` (name, source; see `with_preload`)
    /// under `limits`, with `mw` or without: one of the two shared pools when it preloads
    /// nothing (their images are the same for every such runner), else a pool of its own.
    pub fn for_runner(preload: Vec<(String, Vec<u8>)>, limits: Limits, mw: bool) -> Arc<ArenaPool> {
        match (preload.is_empty(), mw) {
            (true, false) => ArenaPool::shared(),
            (true, true) => ArenaPool::shared_with_mw(),
            (false, _) => {
                let pool = ArenaPool::with_preload(preload, limits);
                Arc::new(if mw { pool.with_mw() } else { pool })
            }
        }
    }

    /// An idle arena, if there is one (its state is the last call's until restored).
    pub(crate) fn take(&self) -> Option<Arena> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// `arena`'s call is over: it waits for the next one, or goes.
    pub(crate) fn give_back(&self, mut arena: Arena) {
        arena.trim(SPARE_BYTES);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(arena);
        }
    }

    /// How many arenas are idle, and the bytes their heaps hold (for tests and measurements).
    pub fn idle(&self) -> (usize, usize) {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        (idle.len(), idle.iter().map(Arena::held).sum())
    }
}
