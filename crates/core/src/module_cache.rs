//! Compiled modules, kept across the calls of one runner so that a call does not parse a
//! big module again (`require` of a 100 KB module: parsing is most of its cost).
//!
//! An entry is keyed by the module's name and holds its source and its compiled form, a
//! `lua_dump` made by this crate from that source: only a module whose source is exactly
//! the same gets it, and only `require` loads it (binary chunks stay refused everywhere a
//! script can reach). Shared between threads (a runner's calls run on any pool thread).
//!
//! The chunks of calls are kept the same way, keyed by their script id: a small call spends
//! a good part of its time parsing its chunk (2.6 us of a 60 us call that makes 10 triple
//! queries), and hosts run the same few chunks again and again. A chunk is kept the second
//! time its code is seen under its script id (a host that runs new code in every call pays
//! no `lua_dump` for it: 0.7 us a call), within a budget of its own, so that such a host
//! never evicts its modules.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// What a cache may hold of modules by default: sources plus compiled forms, in bytes.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// What it may hold of calls' chunks.
pub const DEFAULT_CHUNK_CACHE_BYTES: usize = 4 << 20;

/// Names of chunks seen once that are remembered (then forgotten all at once).
const SEEN_NAMES: usize = 4096;

/// What an entry is: its name is a module's name, or a call's script id.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Module,
    Chunk,
}

pub struct ModuleCache {
    modules: Mutex<Entries>,
    chunks: Mutex<Entries>,
}

struct Entries {
    limit_bytes: usize,
    /// Chunks: a hash of the code last seen under each name that is not kept (yet).
    seen: HashMap<Vec<u8>, u64>,
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

impl Entries {
    fn new(limit_bytes: usize) -> Mutex<Entries> {
        Mutex::new(Entries {
            limit_bytes,
            seen: HashMap::new(),
            by_name: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
        })
    }

    fn insert(&mut self, name: &[u8], compiled: Compiled) {
        if compiled.bytes() > self.limit_bytes {
            return;
        }
        self.bytes += compiled.bytes();
        match self.by_name.insert(name.to_vec(), compiled) {
            Some(old) => self.bytes -= old.bytes(),
            None => self.order.push_back(name.to_vec()),
        }
        while self.bytes > self.limit_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(old) = self.by_name.remove(&oldest) {
                self.bytes -= old.bytes();
            }
        }
    }
}

impl ModuleCache {
    /// A cache of at most `limit_bytes` of modules' sources and compiled forms (the oldest
    /// entries go first), and `DEFAULT_CHUNK_CACHE_BYTES` of calls' chunks.
    pub fn new(limit_bytes: usize) -> ModuleCache {
        ModuleCache {
            modules: Entries::new(limit_bytes),
            chunks: Entries::new(DEFAULT_CHUNK_CACHE_BYTES.min(limit_bytes)),
        }
    }

    fn entries(&self, kind: Kind) -> std::sync::MutexGuard<'_, Entries> {
        match kind {
            Kind::Module => &self.modules,
            Kind::Chunk => &self.chunks,
        }
        .lock()
        .unwrap_or_else(|e| e.into_inner())
    }

    /// Modules and chunks held.
    pub fn len(&self) -> usize {
        self.entries(Kind::Module).by_name.len() + self.entries(Kind::Chunk).by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The compiled form of `name` if it was compiled from exactly `source`.
    pub(crate) fn get(&self, kind: Kind, name: &[u8], source: &[u8]) -> Option<Arc<[u8]>> {
        let entries = self.entries(kind);
        let compiled = entries.by_name.get(name)?;
        (compiled.source == source).then(|| compiled.dump.clone())
    }

    /// Whether `source`, just compiled as `name`, is worth keeping: a module always is, a
    /// chunk once its code is seen the second time under that name.
    pub(crate) fn worth_keeping(&self, kind: Kind, name: &[u8], source: &[u8]) -> bool {
        if let Kind::Module = kind {
            return true;
        }
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(source);
        let mut entries = self.entries(kind);
        if entries.seen.get(name) == Some(&hash) {
            entries.seen.remove(name);
            return true;
        }
        if entries.seen.len() >= SEEN_NAMES {
            entries.seen.clear();
        }
        entries.seen.insert(name.to_vec(), hash);
        false
    }

    pub(crate) fn insert(&self, kind: Kind, name: &[u8], source: &[u8], dump: Vec<u8>) {
        let compiled = Compiled {
            source: source.to_vec(),
            dump: dump.into(),
        };
        self.entries(kind).insert(name, compiled);
    }
}
