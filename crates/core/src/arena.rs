//! Arenas: a Lua state in memory of its own, and the pristine image a call starts from.
//!
//! Building a sandboxed state (allocating it, opening and trimming the libraries, replacing
//! what the sandbox replaces) is ~150,000 instructions, ~95% of a small call; copying back
//! the ~20 KB a built state occupies is a few hundred nanoseconds. So a state is built once
//! per arena, in the arena's heap (alloc.rs), and its bytes are kept as the arena's image;
//! a call restores the image (memcpy) and starts there, and when it ends its arena goes back
//! to the pool (pool.rs) as it is, with nothing to free: the next restore overwrites it.
//!
//! Why a restored state is as isolated as a new one: the image is taken before any call
//! runs, and restored whole before each (every byte the state had then, and the allocator's
//! `Cursor`), so nothing a call wrote into the state survives it: globals, metatables of
//! strings and other types, the registry, `package.loaded`, coroutines and upvalues all live
//! in the heap. The state keeps no pointer out of the heap but to the code's own functions
//! and statics, and to its `Heap` (a fixed address, which the arena keeps): the call a C
//! function serves is reached through the heap's `call` slot, set for each call. What each
//! call must differ in is set after the restore (runner.rs): its limits and output (in its
//! `CallState`), the `State` library, its globals and arguments, and `math.random`'s seed.
//! The string hash seed is Lua's `luai_makeseed` of when the arena was built, shared by
//! the calls that arena serves; a script that learned it could slow its own calls only.
//!
//! An arena whose state may be inconsistent (a panic while a call ran in it, or while it
//! was built) is never pooled again: the pool drops it (its memory goes with it) and builds
//! another.

use std::ffi::c_void;
use std::ptr;

use mlua::ffi;

use crate::alloc::{limited_alloc, Cursor, Heap};
use crate::call_state::CallState;
use crate::lua::Lua;

/// A built state, its heap, and its image.
pub(crate) struct Arena {
    heap: Box<Heap>,
    /// The state's main thread, at the same address after every restore.
    state: Lua,
    image: Image,
}

/// The bytes of the chunks a built state occupied, and the allocator's cursor then. Free
/// blocks are left out but for their first word (the link of their free list): building a
/// state leaves garbage (a module's source, the parser's buffers), and a collected state
/// with a 100 KB module is ~650 KB of blocks in ~1.2 MB carved.
struct Image {
    /// Where each run of kept bytes goes, and its length (in `bytes`, one after the other).
    runs: Vec<(*mut u8, usize)>,
    bytes: Box<[u8]>,
    cursor: Cursor,
}

/// Free blocks smaller than this are copied whole (a run of their own would cost more).
const SKIP_FREE: usize = 256;

// SAFETY: the state is used by one thread at a time (the one running the call that holds
// the arena), and nothing in it refers to the thread that made it.
unsafe impl Send for Arena {}

impl Arena {
    /// A new, empty state in a heap of its own, serving `call`, to be built and then taken
    /// as the image (`snapshot`). `None` when the system has no memory for it. Dropped
    /// before that, nothing of it is used again: its memory goes with its heap.
    pub unsafe fn new(call: *mut CallState) -> Option<Arena> {
        let mut heap = Heap::new()?;
        let ud = &mut *heap as *mut Heap as *mut c_void;
        let state = ffi::lua_newstate(limited_alloc, ud);
        if state.is_null() {
            return None;
        }
        // The extra space reaches the heap, for good: the call goes in the heap's slot.
        *(ffi::lua_getextraspace(state) as *mut *mut Heap) = &mut *heap;
        heap.call = call.cast();
        Some(Arena {
            heap,
            state,
            image: Image {
                runs: Vec::new(),
                bytes: Box::new([]),
                cursor: Cursor::EMPTY,
            },
        })
    }

    /// Takes the state as it is now (its stack empty, garbage collected) as the image.
    pub unsafe fn snapshot(&mut self) {
        ffi::lua_settop(self.state, 0);
        ffi::lua_gc(self.state, ffi::LUA_GCCOLLECT, 0);
        let carved: Vec<(*mut u8, usize)> = self.heap.carved().collect();
        // The free blocks worth leaving out, marked in a bitmap of 16-byte granules per chunk
        // (addresses in order without sorting), each with its size written in its second
        // word (a word the image leaves out).
        let mut marks: Vec<Vec<u64>> = carved
            .iter()
            .map(|&(_, length)| vec![0; length / 1024 + 1])
            .collect();
        for (block, size) in self.heap.free_blocks() {
            let chunk = carved.iter().position(|&(start, length)| {
                (start as usize..start as usize + length).contains(&block)
            });
            if let (true, Some(chunk)) = (size >= SKIP_FREE, chunk) {
                let granule = (block - carved[chunk].0 as usize) / 16;
                marks[chunk][granule / 64] |= 1 << (granule % 64);
                (block as *mut usize).add(1).write(size);
            }
        }
        let mut runs = Vec::new();
        for (&(start, length), marks) in carved.iter().zip(&marks) {
            let (mut at, end) = (start as usize, start as usize + length);
            for (word_index, &word) in marks.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    let granule = word_index * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    let block = start as usize + granule * 16;
                    let size = (block as *const usize).add(1).read();
                    // Its link is kept, the rest left out.
                    runs.push((at as *mut u8, block + std::mem::size_of::<usize>() - at));
                    at = block + size;
                }
            }
            runs.push((at as *mut u8, end - at));
        }
        runs.retain(|&(_, length)| length > 0);
        let mut bytes = Vec::with_capacity(runs.iter().map(|&(_, length)| length).sum());
        for &(start, length) in &runs {
            bytes.extend_from_slice(std::slice::from_raw_parts(start, length));
        }
        self.image = Image {
            runs,
            bytes: bytes.into_boxed_slice(),
            cursor: self.heap.cursor,
        };
    }

    /// The state as the image has it, for `call`.
    pub unsafe fn restore(&mut self, call: *mut CallState) {
        self.heap.cursor = self.image.cursor;
        let mut from = self.image.bytes.as_ptr();
        for &(start, length) in &self.image.runs {
            ptr::copy_nonoverlapping(from, start, length);
            from = from.add(length);
        }
        self.heap.call = call.cast();
    }

    /// Its call is over: the memory the call grew beyond the image is spare, and at most
    /// `keep` bytes of it are kept (the state is left as it is until the next restore).
    pub fn trim(&mut self, keep: usize) {
        self.heap.cursor = self.image.cursor;
        self.heap.trim(keep);
    }

    pub fn state(&self) -> Lua {
        self.state
    }

    pub fn heap(&mut self) -> &mut Heap {
        &mut self.heap
    }

    /// Bytes of memory the arena holds: its heap's chunks and its image.
    pub fn held(&self) -> usize {
        self.heap.held() + self.image.bytes.len()
    }
}
