//! The buffer through which a host request's arguments and its reply cross between Rust and
//! JS on the JS thread: one per JS environment, made once, so that a host call creates no
//! buffer (making a Buffer per call cost ~0.3 us, more than the rest of the crossing).
//! Arguments or replies that do not fit take a buffer of their own (host.rs).
//!
//! A call's outcome crosses here too when JS reads it at once (a slice that ended on the JS
//! thread: lib.rs `Settled::now`): its length, then its bytes, which JS decodes in place,
//! copying only the values' bytes (lib/native-backend.mjs). A Buffer per outcome
//! (`napi_create_buffer_copy`: a backing store, an ArrayBuffer and its extension, three
//! mallocs) and a view of its values cost a fifth of a small call: `return 1` 3.09 -> 2.44 us,
//! a call with a triple store 4.51 -> 3.79 us (runSync, medians of 3 alternating runs).

use std::ptr;

use napi::{check_status, sys, Result};

/// Bytes of the scratch buffer.
pub const SCRATCH_BYTES: usize = 64 << 10;

/// A `Uint8Array` of `SCRATCH_BYTES` in JS memory, kept alive by a reference; used on its
/// environment's JS thread only.
pub struct Scratch {
    reference: sys::napi_ref,
    data: *mut u8,
}

// SAFETY: only touched on the JS thread (the channel that holds it is shared with the pool).
unsafe impl Send for Scratch {}

/// The scratch buffer in `slot` (a channel's), made there on first use.
pub unsafe fn made(env: sys::napi_env, slot: &mut Option<Scratch>) -> Result<&mut Scratch> {
    if slot.is_none() {
        *slot = Some(Scratch::new(env)?);
    }
    Ok(slot.as_mut().expect("made above"))
}

impl Scratch {
    unsafe fn new(env: sys::napi_env) -> Result<Scratch> {
        let mut data = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let mut array = ptr::null_mut();
        let mut reference = ptr::null_mut();
        check_status!(sys::napi_create_arraybuffer(
            env,
            SCRATCH_BYTES,
            &mut data,
            &mut buffer
        ))?;
        check_status!(sys::napi_create_typedarray(
            env,
            sys::TypedarrayType::uint8_array,
            SCRATCH_BYTES,
            buffer,
            0,
            &mut array
        ))?;
        check_status!(sys::napi_create_reference(env, array, 1, &mut reference))?;
        Ok(Scratch {
            reference,
            data: data.cast(),
        })
    }

    /// The `Uint8Array`.
    pub unsafe fn value(&self, env: sys::napi_env) -> Result<sys::napi_value> {
        let mut array = ptr::null_mut();
        check_status!(sys::napi_get_reference_value(
            env,
            self.reference,
            &mut array
        ))?;
        Ok(array)
    }

    /// Its bytes (an ArrayBuffer's backing store does not move while it is alive).
    pub fn bytes(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.data, SCRATCH_BYTES) }
    }

    /// Writes `outcome` after its length (four bytes, little-endian); false if it does not fit.
    pub fn put_outcome(&mut self, outcome: &[u8]) -> bool {
        let end = outcome.len() + 4;
        if end > SCRATCH_BYTES {
            return false;
        }
        let bytes = self.bytes();
        bytes[..4].copy_from_slice(&(outcome.len() as u32).to_le_bytes());
        bytes[4..end].copy_from_slice(outcome);
        true
    }

    /// Lets the buffer go, as the environment is torn down.
    pub unsafe fn release(self, env: sys::napi_env) {
        sys::napi_delete_reference(env, self.reference);
    }
}
