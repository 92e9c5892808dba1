//! The buffer through which a host request's arguments and its reply cross between Rust and
//! JS on the JS thread: one per JS environment, made once, so that a host call creates no
//! buffer (making a Buffer per call cost ~0.3 us, more than the rest of the crossing).
//! Arguments or replies that do not fit take a buffer of their own (host.rs).

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

impl Scratch {
    pub unsafe fn new(env: sys::napi_env) -> Result<Scratch> {
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

    /// Lets the buffer go, as the environment is torn down.
    pub unsafe fn release(self, env: sys::napi_env) {
        sys::napi_delete_reference(env, self.reference);
    }
}
