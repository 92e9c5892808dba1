//! The Lua allocator with a hard byte limit.
//!
//! mlua has a limited allocator too, but only behind its `Lua` handle; the core drives the
//! C API directly (see lib.rs), so it supplies this small `lua_Alloc` itself.

use std::alloc::{alloc, dealloc, realloc, Layout};
use std::ffi::c_void;

/// Lua requires allocations aligned for any C type.
const ALIGN: usize = 16;

pub struct Budget {
    pub used: usize,
    pub limit: usize,
    /// Told of every growth (wasm: fuel.rs reads the clock after enough of them, as big
    /// allocations mean long C work that no step of the interpreter interrupts).
    pub on_growth: Option<fn(usize)>,
}

fn layout(size: usize) -> Layout {
    // Size is bounded by the limit check before any allocation, so this cannot fail for
    // sizes Lua actually asks for; Lua itself never requests more than isize::MAX.
    Layout::from_size_align(size, ALIGN).unwrap_or_else(|_| Layout::new::<u8>())
}

/// `lua_Alloc` over Rust's global allocator. `ud` points to the call's `Budget`.
pub unsafe extern "C" fn limited_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    let budget = &mut *(ud as *mut Budget);
    // For a fresh block Lua passes a type tag in `osize`, not a size.
    let old = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        if !ptr.is_null() {
            dealloc(ptr as *mut u8, layout(old));
            budget.used -= old;
        }
        return std::ptr::null_mut();
    }
    if nsize > old {
        let grow = nsize - old;
        if budget.used.saturating_add(grow) > budget.limit || nsize > isize::MAX as usize / 2 {
            // Lua turns this into a memory error after one emergency collection.
            return std::ptr::null_mut();
        }
        if let Some(on_growth) = budget.on_growth {
            on_growth(grow);
        }
    }
    let new = if ptr.is_null() {
        alloc(layout(nsize))
    } else {
        realloc(ptr as *mut u8, layout(old), nsize)
    };
    if !new.is_null() {
        budget.used = budget.used - old + nsize;
    }
    new as *mut c_void
}
