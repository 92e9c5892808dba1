//! Compiled modules, kept across the calls of one runner so that a call does not parse a
//! big module again (`require` of a 100 KB module: parsing is most of its cost).
//!
//! An entry is keyed by the module's name and holds its source and its compiled form, a
//! `lua_dump` made by this crate from that source: only a module whose source is exactly
//! the same gets it, and only `require` loads it (binary chunks stay refused everywhere a
//! script can reach). Shared between threads (a runner's calls run on any pool thread).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// What a cache may hold by default: sources plus compiled forms, in bytes.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

pub struct ModuleCache {
    limit_bytes: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_name: HashMap<Vec<u8>, Compiled>,
    /// Names in the order they were stored, for evicting the oldest.
    order: VecDeque<Vec<u8>>,
    bytes: usize,
}

struct Compiled {
    source: Vec<u8>,
    dump: Arc<[u8]>,
}

impl Compiled {
    fn bytes(&self) -> usize {
        self.source.len() + self.dump.len()
    }
}

impl Default for ModuleCache {
    fn default() -> Self {
        ModuleCache::new(DEFAULT_CACHE_BYTES)
    }
}

impl ModuleCache {
    /// A cache of at most `limit_bytes` of sources and compiled forms (the oldest entries
    /// go first).
    pub fn new(limit_bytes: usize) -> ModuleCache {
        ModuleCache {
            limit_bytes,
            inner: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Modules held.
    pub fn len(&self) -> usize {
        self.entries().by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The compiled form of module `name` if it was compiled from exactly `source`.
    pub(crate) fn get(&self, name: &[u8], source: &[u8]) -> Option<Arc<[u8]>> {
        let entries = self.entries();
        let compiled = entries.by_name.get(name)?;
        (compiled.source == source).then(|| compiled.dump.clone())
    }

    pub(crate) fn insert(&self, name: &[u8], source: &[u8], dump: Vec<u8>) {
        let compiled = Compiled {
            source: source.to_vec(),
            dump: dump.into(),
        };
        if compiled.bytes() > self.limit_bytes {
            return;
        }
        let mut entries = self.entries();
        entries.bytes += compiled.bytes();
        match entries.by_name.insert(name.to_vec(), compiled) {
            Some(old) => entries.bytes -= old.bytes(),
            None => entries.order.push_back(name.to_vec()),
        }
        while entries.bytes > self.limit_bytes {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some(old) = entries.by_name.remove(&oldest) {
                entries.bytes -= old.bytes();
            }
        }
    }
}
