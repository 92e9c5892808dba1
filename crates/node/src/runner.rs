//! What a runner shares between its calls: its compiled modules (the core's `ModuleCache`)
//! and its arenas (the core's `ArenaPool`: the shared one, or one whose image holds the
//! runner's preloaded modules).

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pubwiki_lua_core::{ArenaPool, CallSpec, Limits, ModuleCache};

#[napi]
pub struct Runner {
    cache: Arc<ModuleCache>,
    pool: Arc<ArenaPool>,
}

/// A runner's state: `names` and `sources` (as many) are the modules to preload, which load
/// under the limits given (undefined: the core's defaults); `mw`: its image has Scribunto's
/// `mw` library.
#[napi]
pub fn new_runner(
    names: Vec<String>,
    sources: Vec<String>,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    mw: Option<bool>,
) -> Result<Runner> {
    if names.len() != sources.len() {
        return Err(Error::new(
            Status::InvalidArg,
            "a source for each preloaded module",
        ));
    }
    let preload = names
        .into_iter()
        .zip(sources.into_iter().map(String::into_bytes))
        .collect();
    let limits = Limits::with_overrides(memory_limit, time_limit, None);
    let pool = ArenaPool::for_runner(preload, limits, mw == Some(true));
    Ok(Runner {
        cache: Arc::new(ModuleCache::default()),
        pool,
    })
}

impl Runner {
    /// `spec` runs with this runner's modules and arenas.
    pub fn equip(&self, mut spec: CallSpec) -> CallSpec {
        spec.module_cache = Some(self.cache.clone());
        spec.pool = Some(self.pool.clone());
        spec
    }
}
