//! The Lua allocator: a heap of its own for each Lua state, with the call's memory limit.
//!
//! Every block of a state comes from its heap's chunks, big blocks of memory that the heap
//! owns, so that the whole state lives in memory the core knows: arena.rs copies it out as
//! an image once it is built, and copies the image back to start each call, instead of
//! building a state (see there). For that, everything the allocator knows must be either
//! in that memory or in [`Cursor`], a plain value the image keeps beside it.
//!
//! The allocator is segregated fit: a block's size is rounded up to its size class (16-byte
//! steps up to 1 KiB, then four classes per power of two), and each class has a free list
//! whose links sit in the free blocks themselves; a class with none free carves a new block
//! from the current chunk. No block has a header: Lua says a block's size when it frees or
//! resizes it (`lua_Alloc`'s `osize`). So a block costs what its class rounds to, and a
//! built sandbox (~18 KB of blocks) is an image of ~20 KB.
//!
//! Why not a general-purpose allocator from a crate (rlsf's TLSF, say): they keep a header
//! per block and a minimum block of 32 bytes (Lua's objects are mostly 24 to 64 bytes), which
//! made the image half as big again, and coalescing, which a state that lives for one call
//! does not need. What this gives up is reuse across classes: memory freed in one class
//! serves only that class. So what the heap may take from the system is bounded too, at
//! twice the memory limit plus a chunk ([`Heap::chunk_cap`]): a script that frees and
//! reallocates in ever new sizes meets a memory error there, short of its limit.

use std::alloc::{alloc, dealloc, Layout};
use std::ffi::c_void;
use std::ptr;

/// Lua requires blocks aligned for any C type; sizes are rounded to this.
const ALIGN: usize = 16;
/// Sizes up to this are rounded to 16 bytes, one class each.
const SMALL: usize = 1024;
const SMALL_CLASSES: usize = SMALL / ALIGN;
/// Classes above `SMALL`: four per power of two, up to 2^63.
const STEPS: usize = 4;
const CLASSES: usize = SMALL_CLASSES + (64 - 10) * STEPS;

/// The first chunk of a heap: room for a built sandbox and a small call.
pub(crate) const FIRST_CHUNK: usize = 64 << 10;
/// New chunks double the heap, up to chunks of this size.
const MAX_GROWTH: usize = 8 << 20;

/// The size class of `size` (> 0): its index and the size its blocks have.
fn class_of(size: usize) -> (usize, usize) {
    if size <= SMALL {
        let class = (size - 1) / ALIGN;
        return (class, (class + 1) * ALIGN);
    }
    // 2^b < size <= 2^(b+1), in steps of 2^(b-2).
    let b = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    let step_shift = b - 2;
    let steps = (size - 1 - (1 << b)) >> step_shift;
    let class = SMALL_CLASSES + (b - 10) * STEPS + steps;
    (class, (1 << b) + ((steps + 1) << step_shift))
}

/// Memory the heap carves blocks from, owned by it.
struct Chunk {
    start: *mut u8,
    size: usize,
    /// Natively, chunks of `MAPPED` bytes or more are anonymous mappings of their own,
    /// unmapped when the chunk goes; smaller ones, and all in wasm, come from the global
    /// allocator. Why: glibc's malloc serves big blocks by mmap only until one is freed,
    /// then raises its threshold and serves them from its heaps, which keep what is freed.
    /// Through malloc, 64 calls of ~16 MiB each left the process 310 MiB bigger after they
    /// ended, whatever the pool trimmed.
    #[cfg(not(target_family = "wasm"))]
    mapping: Option<memmap2::MmapMut>,
}

/// Chunks from this size up are mapped natively (glibc's first mmap threshold).
#[cfg(not(target_family = "wasm"))]
const MAPPED: usize = 128 << 10;

impl Chunk {
    fn new(size: usize) -> Option<Chunk> {
        #[cfg(not(target_family = "wasm"))]
        if size >= MAPPED {
            let mut mapping = memmap2::MmapMut::map_anon(size).ok()?;
            return Some(Chunk {
                start: mapping.as_mut_ptr(),
                size,
                mapping: Some(mapping),
            });
        }
        let layout = Layout::from_size_align(size, ALIGN).ok()?;
        // SAFETY: `size` is not zero (the smallest chunk is FIRST_CHUNK).
        let start = unsafe { alloc(layout) };
        (!start.is_null()).then_some(Chunk {
            start,
            size,
            #[cfg(not(target_family = "wasm"))]
            mapping: None,
        })
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        #[cfg(not(target_family = "wasm"))]
        if self.mapping.is_some() {
            return; // (unmapped as the mapping drops)
        }
        // SAFETY: allocated by `Chunk::new` with this layout.
        unsafe {
            dealloc(
                self.start,
                Layout::from_size_align_unchecked(self.size, ALIGN),
            )
        }
    }
}

/// Everything the allocator knows but the memory itself: what an image keeps beside the
/// chunks' bytes, and restores with them.
#[derive(Clone, Copy)]
pub(crate) struct Cursor {
    /// The first free block of each class; each free block begins with the next one's address.
    free: [*mut u8; CLASSES],
    /// The chunk blocks are carved from, and the free part of it.
    chunk: usize,
    bump: *mut u8,
    end: *mut u8,
    /// Bytes Lua holds (what the memory limit counts).
    pub used: usize,
}

impl Cursor {
    /// Where a heap with no chunk stands (an arena's image before it is taken).
    pub const EMPTY: Cursor = Cursor {
        free: [ptr::null_mut(); CLASSES],
        chunk: 0,
        bump: ptr::null_mut(),
        end: ptr::null_mut(),
        used: 0,
    };
}

/// A Lua state's heap: `lua_Alloc`'s `ud`, at a fixed address (a state's global data holds it).
pub(crate) struct Heap {
    pub cursor: Cursor,
    /// The `CallState` of the call the state serves now (call_state.rs reaches it from any
    /// thread of the state, through the state's extra space, which points here).
    pub call: *mut c_void,
    /// Bytes Lua may hold (the call's memory limit).
    pub limit: usize,
    /// Told of every growth (wasm: fuel.rs reads the clock after enough of them, as big
    /// allocations mean long C work that no step of the interpreter interrupts).
    pub on_growth: Option<fn(usize)>,
    /// Chunks `0..=cursor.chunk` are in use; those after it are spares, kept for later calls.
    chunks: Vec<Chunk>,
}

// SAFETY: the raw pointers are into the heap's own chunks, used by one thread at a time.
unsafe impl Send for Heap {}

impl Heap {
    /// A heap with one chunk, or `None` if the system has no memory for it.
    pub fn new() -> Option<Box<Heap>> {
        let first = Chunk::new(FIRST_CHUNK)?;
        let cursor = Cursor {
            free: [ptr::null_mut(); CLASSES],
            chunk: 0,
            bump: first.start,
            // SAFETY: one past the end of the chunk.
            end: unsafe { first.start.add(first.size) },
            used: 0,
        };
        Some(Box::new(Heap {
            cursor,
            call: ptr::null_mut(),
            limit: usize::MAX,
            on_growth: None,
            chunks: vec![first],
        }))
    }

    /// The bytes of the chunks in use, as (start, length carved so far).
    pub fn carved(&self) -> impl Iterator<Item = (*mut u8, usize)> + '_ {
        let current = self.cursor.chunk;
        self.chunks[..=current]
            .iter()
            .enumerate()
            .map(move |(i, chunk)| {
                let length = if i == current {
                    self.cursor.bump as usize - chunk.start as usize
                } else {
                    chunk.size
                };
                (chunk.start, length)
            })
    }

    /// The free blocks (address, size), in no order: memory that is carved but holds
    /// nothing but its free list's link.
    pub fn free_blocks(&self) -> Vec<(usize, usize)> {
        let mut blocks = Vec::new();
        for (class, &head) in self.cursor.free.iter().enumerate() {
            let size = class_size(class);
            let mut block = head;
            while !block.is_null() {
                blocks.push((block as usize, size));
                // SAFETY: a free block begins with the next one's address.
                block = unsafe { (block as *const *mut u8).read() };
            }
        }
        blocks
    }

    /// Bytes of chunks the heap holds, spares included.
    pub fn held(&self) -> usize {
        self.chunks.iter().map(|chunk| chunk.size).sum()
    }

    /// Frees spare chunks, the largest first, until at most `keep` bytes of them remain.
    pub fn trim(&mut self, keep: usize) {
        let first_spare = self.cursor.chunk + 1;
        let mut total: usize = self.chunks[first_spare..]
            .iter()
            .map(|chunk| chunk.size)
            .sum();
        while total > keep {
            let largest = (first_spare..self.chunks.len()).max_by_key(|&i| self.chunks[i].size);
            let Some(largest) = largest else { break };
            total -= self.chunks.swap_remove(largest).size;
        }
    }

    /// What the chunks in use may add up to: twice the limit and a chunk (see the module docs).
    fn chunk_cap(&self) -> usize {
        self.limit.saturating_mul(2).saturating_add(MAX_GROWTH)
    }

    /// A block of class size `size`, carved from the chunks; null when none can be had.
    unsafe fn carve(&mut self, size: usize) -> *mut u8 {
        if (self.cursor.end as usize) - (self.cursor.bump as usize) < size && !self.next_chunk(size)
        {
            return ptr::null_mut();
        }
        let block = self.cursor.bump;
        self.cursor.bump = block.add(size);
        block
    }

    /// Moves on to a chunk with room for `size` bytes: a spare, or a new one. The rest of the
    /// current chunk goes to the free lists.
    unsafe fn next_chunk(&mut self, size: usize) -> bool {
        let next = self.cursor.chunk + 1;
        let found = self.chunks[next..]
            .iter()
            .position(|chunk| chunk.size >= size);
        match found {
            Some(offset) => self.chunks.swap(next, next + offset),
            None => {
                let in_use: usize = self.chunks[..next].iter().map(|chunk| chunk.size).sum();
                let grown = in_use.clamp(FIRST_CHUNK, MAX_GROWTH);
                let Some(wanted) = size.checked_next_multiple_of(FIRST_CHUNK) else {
                    return false;
                };
                let wanted = wanted.max(grown);
                if in_use.saturating_add(wanted) > self.chunk_cap() {
                    return false;
                }
                let Some(chunk) = Chunk::new(wanted) else {
                    return false;
                };
                self.chunks.insert(next, chunk);
            }
        }
        self.free_rest();
        let chunk = &self.chunks[next];
        self.cursor.chunk = next;
        self.cursor.bump = chunk.start;
        self.cursor.end = chunk.start.add(chunk.size);
        true
    }

    /// The uncarved rest of the current chunk, as free blocks of the largest classes that fit.
    unsafe fn free_rest(&mut self) {
        loop {
            let rest = self.cursor.end as usize - self.cursor.bump as usize;
            if rest < ALIGN {
                return;
            }
            // The largest class whose blocks fit in `rest`.
            let (mut class, mut size) = class_of(rest);
            if size > rest {
                class -= 1;
                size = class_size(class);
            }
            let block = self.cursor.bump;
            self.cursor.bump = block.add(size);
            self.push_free(class, block);
        }
    }

    unsafe fn push_free(&mut self, class: usize, block: *mut u8) {
        (block as *mut *mut u8).write(self.cursor.free[class]);
        self.cursor.free[class] = block;
    }

    /// A block of at least `size` bytes, or null.
    unsafe fn allocate(&mut self, size: usize) -> *mut u8 {
        let (class, class_size) = class_of(size);
        let head = self.cursor.free[class];
        if !head.is_null() {
            self.cursor.free[class] = (head as *mut *mut u8).read();
            return head;
        }
        self.carve(class_size)
    }

    unsafe fn release(&mut self, block: *mut u8, size: usize) {
        self.push_free(class_of(size).0, block);
    }

    /// `block` (of `old` bytes) resized to `new` bytes: in place where its class stays the
    /// same or it is the last block carved, else moved. Null if it must grow and cannot; a
    /// shrink never fails (Lua relies on that), at worst keeping the bigger block.
    unsafe fn resize(&mut self, block: *mut u8, old: usize, new: usize) -> *mut u8 {
        let (_, old_size) = class_of(old);
        let (_, new_size) = class_of(new);
        if new_size == old_size {
            return block;
        }
        if block.add(old_size) == self.cursor.bump
            && new_size - old_size.min(new_size)
                <= self.cursor.end as usize - self.cursor.bump as usize
        {
            self.cursor.bump = block.add(new_size);
            return block;
        }
        let moved = self.allocate(new);
        if moved.is_null() {
            return if new < old { block } else { moved };
        }
        ptr::copy_nonoverlapping(block, moved, old.min(new));
        self.release(block, old);
        moved
    }
}

/// The size of class `class`'s blocks.
fn class_size(class: usize) -> usize {
    if class < SMALL_CLASSES {
        return (class + 1) * ALIGN;
    }
    let b = (class - SMALL_CLASSES) / STEPS + 10;
    let steps = (class - SMALL_CLASSES) % STEPS;
    (1 << b) + ((steps + 1) << (b - 2))
}

/// `lua_Alloc` over a [`Heap`] (`ud`), within its limit.
pub unsafe extern "C" fn limited_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    let heap = &mut *(ud as *mut Heap);
    // For a fresh block Lua passes a type tag in `osize`, not a size.
    let old = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        if !ptr.is_null() {
            heap.release(ptr as *mut u8, old);
            heap.cursor.used -= old;
        }
        return ptr::null_mut();
    }
    if nsize > old {
        let grow = nsize - old;
        if heap.cursor.used.saturating_add(grow) > heap.limit || nsize > isize::MAX as usize / 2 {
            // Lua turns this into a memory error after one emergency collection.
            return ptr::null_mut();
        }
        if let Some(on_growth) = heap.on_growth {
            on_growth(grow);
        }
    }
    let block = if ptr.is_null() {
        heap.allocate(nsize)
    } else {
        heap.resize(ptr as *mut u8, old, nsize)
    };
    if !block.is_null() {
        heap.cursor.used = heap.cursor.used - old + nsize;
    }
    block as *mut c_void
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_size_once_and_in_order() {
        let mut last = (0, 0);
        for size in (1..70_000).chain([1 << 20, (1 << 20) + 1, 3 << 30, usize::MAX >> 2]) {
            let (class, class_size) = class_of(size);
            assert!(class_size >= size, "{size}");
            assert!(class < CLASSES);
            assert_eq!(class_size, super::class_size(class), "{size}");
            assert!(class >= last.0 && class_size >= last.1);
            // At most a quarter wasted (16 bytes for small sizes).
            assert!(class_size - size < (size / 4).max(ALIGN), "{size}");
            last = (class, class_size);
        }
    }

    #[test]
    fn blocks_are_reused_by_class_and_moved_when_they_grow() {
        let mut heap = Heap::new().unwrap();
        unsafe {
            let a = heap.allocate(40);
            let b = heap.allocate(40);
            assert_eq!(b as usize - a as usize, 48);
            heap.release(a, 40);
            assert_eq!(heap.allocate(33), a, "same class");
            // The last block carved grows in place; another one moves.
            let c = heap.resize(b, 40, 4000);
            assert_eq!(c, b);
            let d = heap.allocate(16);
            let e = heap.resize(c, 4000, 9000);
            assert_ne!(e, c);
            assert!(!d.is_null());
            // Past the first chunk: a new one.
            let big = heap.allocate(1 << 20);
            assert!(!big.is_null());
            assert_eq!(heap.cursor.chunk, 1);
        }
    }

    #[test]
    fn the_chunks_in_use_stay_within_twice_the_limit() {
        let mut heap = Heap::new().unwrap();
        heap.limit = 1 << 20;
        let mut got = 0;
        unsafe {
            // Ever new sizes, each freed at once: nothing is reused.
            for size in (1..).map(|i| 1024 + i * 4096) {
                let block = heap.allocate(size);
                if block.is_null() {
                    break;
                }
                heap.release(block, size);
                got += size;
            }
        }
        assert!(got > 1 << 20);
        assert!(heap.held() <= 2 * (1 << 20) + MAX_GROWTH + FIRST_CHUNK);
    }
}
