//! Numbers as Lua writes them, without going through a Lua string (which could allocate,
//! and so raise, where raising is not allowed).

use std::ffi::{c_char, c_int};

/// Decimal digits of `value`, as Lua's "%lld" writes them.
pub(crate) fn format_integer(value: i64, digits: &mut [u8; 20]) -> &[u8] {
    let mut magnitude = value.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        digits[start] = b'-';
    }
    &digits[start..]
}

unsafe extern "C" {
    // Lua's C library formats floats with "%.14g" (LUAI_NUMFFORMAT).
    fn snprintf(buf: *mut c_char, size: usize, format: *const c_char, ...) -> c_int;
}

/// `value` as "%.14g" (how `io.write` writes floats).
pub(crate) fn format_float(value: f64, buf: &mut [u8; 64]) -> &[u8] {
    let len = unsafe {
        snprintf(
            buf.as_mut_ptr() as *mut c_char,
            60,
            c"%.14g".as_ptr(),
            value,
        )
    };
    &buf[..len.clamp(0, 59) as usize]
}

/// `value` as Lua's `tostring` writes a float: "%.14g", plus ".0" if that looks like an
/// integer (so `1.0` stays distinguishable from `1`).
pub(crate) fn format_float_like_tostring(value: f64, buf: &mut [u8; 64]) -> &[u8] {
    let len = format_float(value, buf).len();
    if buf[..len].iter().all(|b| b.is_ascii_digit() || *b == b'-') {
        buf[len] = b'.';
        buf[len + 1] = b'0';
        return &buf[..len + 2];
    }
    &buf[..len]
}
