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
    // Lua's C library formats floats with "%.14g" (LUAI_NUMFFORMAT) and reads them with
    // strtod: the C library's, which every build links anyway. (Rust's own float formatting
    // and parsing would add ~30 KB to the gzipped wasm.)
    fn snprintf(buf: *mut c_char, size: usize, format: *const c_char, ...) -> c_int;
    fn strtod(text: *const c_char, end: *mut *mut c_char) -> f64;
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

/// A finite `value` as JavaScript's `String(value)` writes it (the fewest significant
/// digits that read back as it; exponents from 1e21 and below 1e-6), but with no `+` in an
/// exponent and with `.0` where it would look like an integer (`3.0`, `0.1`, `1e21`,
/// `1.5e-7`): the form lib/triples.mjs writes too, so that a float is one lexical form
/// whichever side wrote it.
pub(crate) fn write_float_like_js(value: f64, out: &mut Vec<u8>) {
    if value == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    // The significant digits and the decimal exponent, from C's "%.*e" with as few digits as
    // read back as `value` (17 always do). A normal double's shortest form of up to 15 digits
    // is what 15 digits give, trailing zeros dropped; a subnormal's may be shorter still.
    let mut buf = [0u8; 64];
    let (mut digits, mut exponent) = (Vec::new(), 0i32);
    let fewest = if value.abs() < f64::MIN_POSITIVE {
        1
    } else {
        15
    };
    for precision in fewest..=17 {
        let len = unsafe {
            snprintf(
                buf.as_mut_ptr() as *mut c_char,
                60,
                c"%.*e".as_ptr(),
                (precision - 1) as c_int,
                value,
            )
        }
        .clamp(0, 59) as usize;
        let text = &buf[..len];
        let e = text.iter().position(|&b| b == b'e').unwrap_or(len);
        digits = text[..e]
            .iter()
            .filter(|b| b.is_ascii_digit())
            .copied()
            .collect();
        exponent = std::str::from_utf8(&text[(e + 1).min(len)..])
            .ok()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        if parse_float(text) == Some(value) {
            break;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if value < 0.0 {
        out.push(b'-');
    }
    // ECMAScript's Number::toString: `n` is where the decimal point goes.
    let (k, n) = (digits.len() as i32, exponent + 1);
    if k <= n && n <= 21 {
        out.extend_from_slice(&digits);
        out.extend(std::iter::repeat_n(b'0', (n - k) as usize));
        out.extend_from_slice(b".0");
    } else if 0 < n && n <= 21 {
        out.extend_from_slice(&digits[..n as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-n) as usize));
        out.extend_from_slice(&digits);
    } else {
        out.push(digits[0]);
        if k > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.extend_from_slice(format_integer(i64::from(n - 1), &mut [0; 20]));
    }
}

/// The float `text` spells (C's strtod: decimal or hexadecimal, `inf`, `nan`), if all of
/// it is one.
pub(crate) fn parse_float(text: &[u8]) -> Option<f64> {
    let mut buf = [0u8; 64];
    if text.is_empty() || text.len() >= buf.len() || text.contains(&0) {
        return None;
    }
    buf[..text.len()].copy_from_slice(text);
    let mut end = std::ptr::null_mut();
    let value = unsafe { strtod(buf.as_ptr() as *const c_char, &mut end) };
    (end as usize == buf.as_ptr() as usize + text.len()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_javascript_writes_them() {
        for (value, js) in [
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (3.0, "3.0"),
            (-2.5, "-2.5"),
            (123.456, "123.456"),
            (1e20, "100000000000000000000.0"),
            (1e21, "1e21"),
            (1.5e300, "1.5e300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (-1.5e-7, "-1.5e-7"),
            (9007199254740992.0, "9007199254740992.0"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e308"),
            (-0.0, "0.0"),
        ] {
            let mut out = Vec::new();
            write_float_like_js(value, &mut out);
            assert_eq!(std::str::from_utf8(&out).unwrap(), js, "{value:e}");
            assert_eq!(parse_float(&out), Some(value.abs() * value.signum()));
        }
    }
}
