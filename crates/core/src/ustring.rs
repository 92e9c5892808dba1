//! `mw.ustring` (Scribunto's Unicode string library): UTF-8 strings by code point, with
//! Unicode-aware patterns, in Rust so that the time limit can stop the patterns (they run
//! on pattern.rs's matcher, over code points) and nothing but the call's memory holds what
//! they decode.
//!
//! As Scribunto's reference manual describes it: positions count code points, not bytes;
//! pattern classes are Unicode's (`%a` is the general category L, `%l` Ll, `%u` Lu, `%d`
//! Nd, `%p` P, `%s` Z plus `\t\n\v\f\r`, `%w` L or Nd, `%c` Cc, `%x` also the full-width hex
//! digits, `%z` NUL; as in Lua 5.1 there is no `%g`); `[0-9]` ranges and quantifiers apply
//! to whole characters, and position captures give code point positions. Strings that are
//! not UTF-8 (or longer than `maxStringLength` bytes) are argument errors, except for `len`,
//! `isutf8` and the normalizations, which say so with `nil`/`false`.
//!
//! Decoded subjects and patterns live in Lua userdata (counted against the call's memory,
//! freed by the collector); a subject and a pattern that are both ASCII are matched as
//! they are, with Unicode's classes (`Ascii`). Lua errors are C longjmps through these
//! frames: nothing here owns a value with a destructor when Lua may raise.

use std::ffi::{c_int, CStr};

use mlua::ffi;
use unicode_general_category::{get_general_category, GeneralCategory as Category};

use crate::known_text::Known;
use crate::lua::Lua;
use crate::pattern::{
    self, find_plain, push_bytes, raise, start_offset, Buffer, GmatchState, Iteration, Matcher,
    Unit,
};

/// `mw.ustring.maxPatternLength`: the longest pattern, in bytes (Scribunto's).
pub(crate) const MAX_PATTERN_LENGTH: usize = 10_000;
/// `mw.ustring.maxStringLength`: the longest string, in bytes (Scribunto's).
pub(crate) const MAX_STRING_LENGTH: usize = 2 * 1024 * 1024;

/// Characters that make a `find` pattern more than a plain string.
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Does code point `c` belong to the Unicode class `%class`? (See the module docs.)
fn unicode_class(c: u32, class: u32) -> bool {
    let Ok(letter) = u8::try_from(class) else {
        return c == class;
    };
    let matched = if c < 128 {
        let b = c as u8;
        match letter.to_ascii_lowercase() {
            b'a' => b.is_ascii_alphabetic(),
            b'c' => b.is_ascii_control(),
            b'd' => b.is_ascii_digit(),
            b'l' => b.is_ascii_lowercase(),
            // ASCII's `$+<=>^`|~` are symbols (S), not punctuation.
            b'p' => b.is_ascii_punctuation() && !b"$+<=>^`|~".contains(&b),
            b's' => b == b' ' || (9..=13).contains(&b),
            b'u' => b.is_ascii_uppercase(),
            b'w' => b.is_ascii_alphanumeric(),
            b'x' => b.is_ascii_hexdigit(),
            b'z' => b == 0,
            _ => return c == class,
        }
    } else {
        let category = || char::from_u32(c).map(get_general_category);
        let letter_category = |category: Option<Category>| {
            matches!(
                category,
                Some(
                    Category::UppercaseLetter
                        | Category::LowercaseLetter
                        | Category::TitlecaseLetter
                        | Category::ModifierLetter
                        | Category::OtherLetter
                )
            )
        };
        match letter.to_ascii_lowercase() {
            b'a' => letter_category(category()),
            b'c' => category() == Some(Category::Control),
            b'd' => category() == Some(Category::DecimalNumber),
            b'l' => category() == Some(Category::LowercaseLetter),
            b'p' => matches!(
                category(),
                Some(
                    Category::ConnectorPunctuation
                        | Category::DashPunctuation
                        | Category::OpenPunctuation
                        | Category::ClosePunctuation
                        | Category::InitialPunctuation
                        | Category::FinalPunctuation
                        | Category::OtherPunctuation
                )
            ),
            b's' => matches!(
                category(),
                Some(
                    Category::SpaceSeparator
                        | Category::LineSeparator
                        | Category::ParagraphSeparator
                )
            ),
            b'u' => category() == Some(Category::UppercaseLetter),
            b'w' => {
                let category = category();
                letter_category(category) || category == Some(Category::DecimalNumber)
            }
            // The full-width digits and letters A-F, a-f.
            b'x' => matches!(c, 0xFF10..=0xFF19 | 0xFF21..=0xFF26 | 0xFF41..=0xFF46),
            b'z' => false,
            _ => return c == class,
        }
    };
    matched != letter.is_ascii_uppercase()
}

/// A code point.
impl Unit for u32 {
    const NUL: u32 = 0;

    #[inline]
    fn ascii(self) -> u8 {
        if self < 128 {
            self as u8
        } else {
            0x80
        }
    }

    #[inline]
    fn in_class(self, class: u32) -> bool {
        unicode_class(self, class)
    }

    #[inline]
    fn position(haystack: &[u32], needle: u32) -> Option<usize> {
        haystack.iter().position(|&c| c == needle)
    }
}

/// An ASCII byte of an ASCII subject or pattern: its own code point, with Unicode's classes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(transparent)]
pub(crate) struct Ascii(u8);

impl Unit for Ascii {
    const NUL: Ascii = Ascii(0);

    #[inline]
    fn ascii(self) -> u8 {
        self.0
    }

    #[inline]
    fn in_class(self, class: Ascii) -> bool {
        unicode_class(self.0 as u32, class.0 as u32)
    }

    #[inline]
    fn position(haystack: &[Ascii], needle: Ascii) -> Option<usize> {
        <u8 as Unit>::position(as_bytes(haystack), needle.0)
    }
}

fn as_ascii(bytes: &[u8]) -> &[Ascii] {
    // SAFETY: `Ascii` is a transparent `u8`.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const Ascii, bytes.len()) }
}

fn as_bytes(units: &[Ascii]) -> &[u8] {
    // SAFETY: `Ascii` is a transparent `u8`.
    unsafe { std::slice::from_raw_parts(units.as_ptr() as *const u8, units.len()) }
}

unsafe fn bytes_at<'a>(state: Lua, arg: c_int) -> Option<&'a [u8]> {
    let mut len = 0;
    let ptr = ffi::lua_tolstring(state, arg, &mut len);
    (!ptr.is_null()).then(|| std::slice::from_raw_parts(ptr as *const u8, len))
}

/// Strings this long or longer are remembered once checked (`Known`).
const KNOWN_FROM: usize = 256;

/// Registry keys: the long string the call last checked as UTF-8 (anchored there, so that
/// no other string can take its address while the call remembers it), and its decoded
/// form once made (`decode`).
static ANCHOR: u8 = 0;
static DECODED: u8 = 0;

/// What the call knows of `text`, if it is the string it remembers.
unsafe fn known(state: Lua, text: &[u8]) -> Option<&'static mut Known> {
    let known = &mut crate::call_state::call_state(state).ustring;
    known.is(text).then_some(known)
}

/// `bad argument #arg to 'name' (message)`, at the caller's line: the function named as
/// Scribunto names it, also where Lua could not tell (called through `pcall`).
unsafe fn arg_error(
    state: Lua,
    arg: c_int,
    name: &CStr,
    message: *const std::ffi::c_char,
) -> c_int {
    ffi::luaL_error(
        state,
        c"bad argument #%d to '%s' (%s)".as_ptr(),
        arg,
        name.as_ptr(),
        message,
    )
}

/// The string (or number) at `arg` of function `name`, which must be UTF-8 and at most
/// `maxStringLength` bytes.
unsafe fn check_text<'a>(state: Lua, arg: c_int, name: &CStr) -> &'a [u8] {
    let text = pattern::check_bytes(state, arg);
    if text.len() > MAX_STRING_LENGTH {
        let message = ffi::lua_pushfstring(
            state,
            c"string is longer than %d bytes".as_ptr(),
            MAX_STRING_LENGTH as c_int,
        );
        arg_error(state, arg, name, message);
    }
    if let Some(known) = known(state, text) {
        known.uses += 1;
        return text;
    }
    if std::str::from_utf8(text).is_err() {
        arg_error(state, arg, name, c"string is not UTF-8".as_ptr());
    }
    if text.len() >= KNOWN_FROM {
        // Anchored first: pushing may raise (no memory), and then nothing is remembered.
        crate::call_state::call_state(state).ustring = Known::default();
        ffi::lua_pushvalue(state, arg);
        ffi::lua_rawsetp(
            state,
            ffi::LUA_REGISTRYINDEX,
            &ANCHOR as *const u8 as *const _,
        );
        ffi::lua_pushnil(state);
        ffi::lua_rawsetp(
            state,
            ffi::LUA_REGISTRYINDEX,
            &DECODED as *const u8 as *const _,
        );
        crate::call_state::call_state(state).ustring = Known {
            address: text.as_ptr() as usize,
            len: text.len(),
            chars: None,
            ascii: text.is_ascii(),
            decoded: false,
            uses: 1,
        };
    }
    text
}

/// Whether checked `text` is ASCII (remembered for the known string).
unsafe fn is_ascii(state: Lua, text: &[u8]) -> bool {
    match known(state, text) {
        Some(known) => known.ascii,
        None => text.is_ascii(),
    }
}

/// The code points of checked `text` (remembered for the known string).
unsafe fn chars_of(state: Lua, text: &[u8]) -> usize {
    match known(state, text) {
        Some(Known {
            chars: Some(chars), ..
        }) => *chars,
        Some(known) => {
            let chars = count_chars(text);
            known.chars = Some(chars);
            chars
        }
        None => count_chars(text),
    }
}

/// The pattern at `arg` of function `name`: UTF-8, at most `maxPatternLength` bytes.
unsafe fn check_pattern<'a>(state: Lua, arg: c_int, name: &CStr) -> &'a [u8] {
    let text = pattern::check_bytes(state, arg);
    if text.len() > MAX_PATTERN_LENGTH {
        let message = ffi::lua_pushfstring(
            state,
            c"pattern is longer than %d bytes".as_ptr(),
            MAX_PATTERN_LENGTH as c_int,
        );
        arg_error(state, arg, name, message);
    }
    if std::str::from_utf8(text).is_err() {
        arg_error(state, arg, name, c"pattern is not UTF-8".as_ptr());
    }
    text
}

/// The string at `arg` if it is valid UTF-8 within `maxStringLength` (for the functions
/// that answer `nil` otherwise); other types are argument errors.
unsafe fn utf8_or_none<'a>(state: Lua, arg: c_int) -> Option<&'a [u8]> {
    let text = pattern::check_bytes(state, arg);
    (text.len() <= MAX_STRING_LENGTH && std::str::from_utf8(text).is_ok()).then_some(text)
}

/// How many of the 8 bytes of `chunk` start a code point (are not continuation bytes).
#[inline]
fn starts_in(chunk: &[u8]) -> usize {
    let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    // A continuation byte has bit 7 set and bit 6 clear.
    let continuations = word & !(word << 1) & 0x8080_8080_8080_8080;
    8 - continuations.count_ones() as usize
}

/// The number of code points of valid UTF-8 `text`.
fn count_chars(text: &[u8]) -> usize {
    let chunks = text.chunks_exact(8);
    let rest = chunks.remainder();
    chunks.map(starts_in).sum::<usize>() + rest.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

/// The byte offset of code point `index` (0-based; the length for the end) of valid UTF-8.
fn byte_of_char(text: &[u8], index: usize) -> usize {
    if index == 0 {
        return 0;
    }
    let mut seen = 0;
    let mut at = 0;
    // Whole words whose code points all come before the one wanted.
    while at + 8 <= text.len() {
        let starts = starts_in(&text[at..at + 8]);
        if seen + starts > index {
            break;
        }
        seen += starts;
        at += 8;
    }
    for (i, &b) in text[at..].iter().enumerate() {
        if (b & 0xC0) != 0x80 {
            if seen == index {
                return at + i;
            }
            seen += 1;
        }
    }
    text.len()
}

/// Decodes valid UTF-8 `text` into a userdata pushed on the stack: its code points, and
/// (with `offsets`) where each starts, plus the end. Returns both (`offsets` empty without).
unsafe fn decode<'a>(state: Lua, text: &[u8], offsets: bool) -> (&'a [u32], &'a [u32]) {
    let n = count_chars(text);
    let words = if offsets { 2 * n + 1 } else { n };
    let data = ffi::lua_newuserdatauv(state, words.max(1) * 4, 0) as *mut u32;
    let units = std::slice::from_raw_parts_mut(data, n);
    let text_str = std::str::from_utf8_unchecked(text);
    if offsets {
        let starts = std::slice::from_raw_parts_mut(data.add(n), n + 1);
        for (i, (at, c)) in text_str.char_indices().enumerate() {
            units[i] = c as u32;
            starts[i] = at as u32;
        }
        starts[n] = text.len() as u32;
        (units, starts)
    } else {
        for (i, c) in text_str.chars().enumerate() {
            units[i] = c as u32;
        }
        (units, &[])
    }
}

/// A subject and a pattern, decoded (or both ASCII) for matching.
enum Prepared<'a> {
    Ascii(Matcher<'a, Ascii>),
    Unicode(Matcher<'a, u32>),
}

/// Test builds only: match ASCII text as code points too, so that a test compares the
/// matcher over code points with Lua's `string` on the same cases.
#[cfg(feature = "fault-injection")]
pub static FORCE_CODE_POINTS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn code_points_forced() -> bool {
    #[cfg(feature = "fault-injection")]
    return FORCE_CODE_POINTS.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(feature = "fault-injection"))]
    false
}

/// Prepares `pat` (without its anchor) over subject `src`; pushes the decoded forms (or
/// two nils) so that they live while the matcher does.
unsafe fn prepare<'a>(state: Lua, src: &'a [u8], pat: &'a [u8]) -> Prepared<'a> {
    if is_ascii(state, src) && pat.is_ascii() && !code_points_forced() {
        ffi::lua_pushnil(state);
        ffi::lua_pushnil(state);
        return Prepared::Ascii(Matcher::over(state, as_ascii(src), as_ascii(pat), src, &[]));
    }
    let (units, offsets) = decoded_subject(state, src);
    let (pattern, _) = decode(state, pat, false);
    Prepared::Unicode(Matcher::over(state, units, pattern, src, offsets))
}

/// The decoded form of checked subject `src` (see `decode`), pushed; the known string's is
/// made once and kept.
unsafe fn decoded_subject<'a>(state: Lua, src: &[u8]) -> (&'a [u32], &'a [u32]) {
    let Some(remembered) = known(state, src) else {
        return decode(state, src, true);
    };
    if remembered.decoded {
        let n = chars_of(state, src);
        ffi::lua_rawgetp(
            state,
            ffi::LUA_REGISTRYINDEX,
            &DECODED as *const u8 as *const _,
        );
        let data = ffi::lua_touserdata(state, -1) as *const u32;
        return (
            std::slice::from_raw_parts(data, n),
            std::slice::from_raw_parts(data.add(n), n + 1),
        );
    }
    let (units, offsets) = decode(state, src, true);
    ffi::lua_pushvalue(state, -1);
    ffi::lua_rawsetp(
        state,
        ffi::LUA_REGISTRYINDEX,
        &DECODED as *const u8 as *const _,
    );
    if let Some(known) = known(state, src) {
        known.decoded = true;
        known.chars = Some(units.len());
    }
    (units, offsets)
}

/// `mw.ustring.len(s)`: code points, or nil for a string that is not UTF-8.
pub(crate) unsafe extern "C-unwind" fn len(state: Lua) -> c_int {
    match utf8_or_none(state, 1) {
        Some(text) => ffi::lua_pushinteger(state, count_chars(text) as ffi::lua_Integer),
        None => ffi::lua_pushnil(state),
    }
    1
}

/// `mw.ustring.isutf8(s)`.
pub(crate) unsafe extern "C-unwind" fn isutf8(state: Lua) -> c_int {
    let text = pattern::check_bytes(state, 1);
    ffi::lua_pushboolean(state, std::str::from_utf8(text).is_ok() as c_int);
    1
}

/// Lua's `string.sub` range of a string of `n` units: 0-based start and end (exclusive),
/// or `None` when empty.
fn sub_range(i: ffi::lua_Integer, j: ffi::lua_Integer, n: usize) -> Option<(usize, usize)> {
    let n = n as i64;
    let i = if i < 0 { (n + i + 1).max(1) } else { i.max(1) };
    let j = if j < 0 { n + j + 1 } else { j.min(n) };
    (i <= j).then(|| ((i - 1) as usize, j as usize))
}

/// `mw.ustring.sub(s, i [, j])`.
pub(crate) unsafe extern "C-unwind" fn sub(state: Lua) -> c_int {
    let text = check_text(state, 1, c"sub");
    let i = ffi::luaL_optinteger(state, 2, 1);
    let j = ffi::luaL_optinteger(state, 3, -1);
    ffi::lua_settop(state, 3);
    if is_ascii(state, text) {
        match sub_range(i, j, text.len()) {
            Some((start, end)) => push_bytes(state, &text[start..end]),
            None => push_bytes(state, b""),
        }
        return 1;
    }
    // A long string cut again and again: its offsets, decoded once.
    let cut_often =
        known(state, text).is_some_and(|k| k.decoded || (k.uses >= 3 && text.len() >= 4096));
    if cut_often {
        let (units, offsets) = decoded_subject(state, text);
        match sub_range(i, j, units.len()) {
            Some((start, end)) => {
                push_bytes(state, &text[offsets[start] as usize..offsets[end] as usize])
            }
            None => push_bytes(state, b""),
        }
        return 1;
    }
    if i > 0 && j > 0 {
        // Positive positions need no count of the whole string.
        let from = byte_of_char(text, (i - 1) as usize);
        let to = if j >= i {
            from + byte_of_char(&text[from..], (j - i + 1) as usize)
        } else {
            from
        };
        push_bytes(state, &text[from..to]);
        return 1;
    }
    match sub_range(i, j, chars_of(state, text)) {
        Some((start, end)) => {
            let from = byte_of_char(text, start);
            let to = from + byte_of_char(&text[from..], end - start);
            push_bytes(state, &text[from..to]);
        }
        None => push_bytes(state, b""),
    }
    1
}

/// `mw.ustring.codepoint(s [, i [, j]])`: the code points of characters `i` to `j`.
pub(crate) unsafe extern "C-unwind" fn codepoint(state: Lua) -> c_int {
    let text = check_text(state, 1, c"codepoint");
    let i = ffi::luaL_optinteger(state, 2, 1);
    let j = ffi::luaL_optinteger(state, 3, i);
    let n = chars_of(state, text);
    let Some((start, end)) = sub_range(i, j, n) else {
        return 0;
    };
    if end - start >= c_int::MAX as usize || ffi::lua_checkstack(state, (end - start) as c_int) == 0
    {
        return ffi::luaL_error(state, c"string slice too long".as_ptr());
    }
    let from = byte_of_char(text, start);
    let chars = std::str::from_utf8_unchecked(&text[from..]).chars();
    for c in chars.take(end - start) {
        ffi::lua_pushinteger(state, c as ffi::lua_Integer);
    }
    (end - start) as c_int
}

/// `mw.ustring.char(...)`: the UTF-8 of code points.
pub(crate) unsafe extern "C-unwind" fn char(state: Lua) -> c_int {
    let n = ffi::lua_gettop(state);
    for arg in 1..=n {
        let code = ffi::luaL_checkinteger(state, arg);
        if u32::try_from(code).ok().and_then(char::from_u32).is_none() {
            return arg_error(state, arg, c"char", c"value out of range".as_ptr());
        }
    }
    let mut buffer = Buffer::new(state);
    for arg in 1..=n {
        let c = char::from_u32(ffi::lua_tointeger(state, arg) as u32).unwrap_or('\u{FFFD}');
        let mut utf8 = [0u8; 4];
        buffer.add(state, c.encode_utf8(&mut utf8).as_bytes());
    }
    buffer.push(state);
    1
}

/// `mw.ustring.byteoffset(s [, l [, i]])`: the byte position of a character (see the
/// manual: character 1 is the first that starts at or after byte `i`, 0 the first that
/// starts at or before it, others counted from those), or nil.
pub(crate) unsafe extern "C-unwind" fn byteoffset(state: Lua) -> c_int {
    let text = check_text(state, 1, c"byteoffset");
    let l = ffi::luaL_optinteger(state, 2, 1);
    let i = ffi::luaL_optinteger(state, 3, 1);
    let len = text.len() as i64;
    let i = if i < 0 {
        (len + i + 1).max(1)
    } else {
        i.max(1)
    };
    if i > len + 1 {
        ffi::lua_pushnil(state);
        return 1;
    }
    let is_start = |at: i64| at >= len || (text[at as usize] & 0xC0) != 0x80;
    let mut at = i - 1;
    let mut l = l;
    if l > 0 {
        while !is_start(at) {
            at += 1;
        }
        l -= 1;
        while l > 0 && at < len {
            at += 1;
            while !is_start(at) {
                at += 1;
            }
            l -= 1;
        }
    } else {
        while at > 0 && !is_start(at) {
            at -= 1;
        }
        while l < 0 && at > 0 {
            at -= 1;
            while at > 0 && !is_start(at) {
                at -= 1;
            }
            l += 1;
        }
    }
    if l != 0 || at >= len {
        ffi::lua_pushnil(state);
    } else {
        ffi::lua_pushinteger(state, at + 1);
    }
    1
}

/// Simple case mapping: a character whose full mapping is one character gets it, others
/// stay (as Scribunto's tables map one character to one).
fn map_case(c: char, upper: bool) -> char {
    if upper {
        let mut mapped = c.to_uppercase();
        match (mapped.next(), mapped.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    } else {
        if c == '\u{130}' {
            return 'i';
        }
        let mut mapped = c.to_lowercase();
        match (mapped.next(), mapped.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    }
}

unsafe fn change_case(state: Lua, upper: bool) -> c_int {
    let text = check_text(state, 1, if upper { c"upper" } else { c"lower" });
    let mut buffer = Buffer::new(state);
    if text.is_ascii() {
        for chunk in text.chunks(256) {
            let mut out = [0u8; 256];
            for (o, &b) in out.iter_mut().zip(chunk) {
                *o = if upper {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                };
            }
            buffer.add(state, &out[..chunk.len()]);
        }
    } else {
        for c in std::str::from_utf8_unchecked(text).chars() {
            let mut utf8 = [0u8; 4];
            buffer.add(state, map_case(c, upper).encode_utf8(&mut utf8).as_bytes());
        }
    }
    buffer.push(state);
    1
}

/// `mw.ustring.upper(s)`.
pub(crate) unsafe extern "C-unwind" fn upper(state: Lua) -> c_int {
    change_case(state, true)
}

/// `mw.ustring.lower(s)`.
pub(crate) unsafe extern "C-unwind" fn lower(state: Lua) -> c_int {
    change_case(state, false)
}

/// A Unicode normalization form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
}

impl Form {
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Nfc => "NFC",
            Form::Nfd => "NFD",
            Form::Nfkc => "NFKC",
            Form::Nfkd => "NFKD",
        }
    }
}

/// Normalizes text: what a driver gives a core built without the `normalization` feature.
pub type Normalizer = fn(&str, Form) -> String;

#[cfg(not(feature = "normalization"))]
static NORMALIZER: std::sync::OnceLock<Normalizer> = std::sync::OnceLock::new();

/// Gives the core its normalizer (once; later calls do nothing). Only for a core built
/// without the `normalization` feature, whose `mw.ustring.toNFC` and kin use it.
#[cfg(not(feature = "normalization"))]
pub fn set_normalizer(normalizer: Normalizer) {
    let _ = NORMALIZER.set(normalizer);
}

unsafe fn normalize(state: Lua, form: Form) -> c_int {
    let Some(text) = utf8_or_none(state, 1) else {
        ffi::lua_pushnil(state);
        return 1;
    };
    let text = std::str::from_utf8_unchecked(text);
    if text.is_ascii() {
        ffi::lua_pushvalue(state, 1);
        return 1;
    }
    normalize_into(state, text, form);
    1
}

#[cfg(feature = "normalization")]
unsafe fn normalize_into(state: Lua, text: &str, form: Form) {
    use unicode_normalization::UnicodeNormalization;
    let mut buffer = Buffer::new(state);
    let mut add = |c: char| {
        let mut utf8 = [0u8; 4];
        buffer.add(state, c.encode_utf8(&mut utf8).as_bytes());
    };
    match form {
        Form::Nfc => text.nfc().for_each(&mut add),
        Form::Nfd => text.nfd().for_each(&mut add),
        Form::Nfkc => text.nfkc().for_each(&mut add),
        Form::Nfkd => text.nfkd().for_each(&mut add),
    }
    buffer.push(state);
}

#[cfg(not(feature = "normalization"))]
unsafe fn normalize_into(state: Lua, text: &str, form: Form) {
    let Some(normalizer) = NORMALIZER.get() else {
        ffi::luaL_error(state, c"Unicode normalization is not available".as_ptr());
        return;
    };
    // Held by the call (freed with it) while Lua copies it: pushing may raise.
    let call = crate::call_state::call_state(state);
    call.reply = Some(normalizer(text, form).into_bytes());
    let normalized = call.reply.as_deref().unwrap_or_default();
    push_bytes(state, normalized);
    crate::call_state::call_state(state).reply = None;
}

pub(crate) unsafe extern "C-unwind" fn to_nfc(state: Lua) -> c_int {
    normalize(state, Form::Nfc)
}

pub(crate) unsafe extern "C-unwind" fn to_nfd(state: Lua) -> c_int {
    normalize(state, Form::Nfd)
}

pub(crate) unsafe extern "C-unwind" fn to_nfkc(state: Lua) -> c_int {
    normalize(state, Form::Nfkc)
}

pub(crate) unsafe extern "C-unwind" fn to_nfkd(state: Lua) -> c_int {
    normalize(state, Form::Nfkd)
}

/// `mw.ustring.find(s, pattern [, init [, plain]])`: positions in code points.
pub(crate) unsafe extern "C-unwind" fn find(state: Lua) -> c_int {
    find_or_match(state, true)
}

/// `mw.ustring.match(s, pattern [, init])`.
pub(crate) unsafe extern "C-unwind" fn ustring_match(state: Lua) -> c_int {
    find_or_match(state, false)
}

unsafe fn find_or_match(state: Lua, find: bool) -> c_int {
    let name = if find { c"find" } else { c"match" };
    let src = check_text(state, 1, name);
    let pat = check_pattern(state, 2, name);
    let ascii = is_ascii(state, src);
    let n = if ascii {
        src.len()
    } else {
        chars_of(state, src)
    };
    // Past the end is the end (Scribunto's, where string.find says nil).
    let init = start_offset(ffi::luaL_optinteger(state, 3, 1), n).min(n);
    if find && (ffi::lua_toboolean(state, 4) != 0 || !pat.iter().any(|c| SPECIALS.contains(c))) {
        let from = if ascii { init } else { byte_of_char(src, init) };
        return match find_plain(state, src, from, pat) {
            Ok(Some(at)) => {
                let start = if ascii {
                    at
                } else {
                    init + count_chars(&src[from..at])
                };
                let pat_chars = if ascii { pat.len() } else { count_chars(pat) };
                ffi::lua_pushinteger(state, start as ffi::lua_Integer + 1);
                ffi::lua_pushinteger(state, (start + pat_chars) as ffi::lua_Integer);
                2
            }
            Ok(None) => {
                ffi::lua_pushnil(state);
                1
            }
            Err(fault) => raise(state, fault),
        };
    }
    let anchored = pat.first() == Some(&b'^');
    let pat = if anchored { &pat[1..] } else { pat };
    ffi::lua_settop(state, 2);
    match prepare(state, src, pat) {
        Prepared::Ascii(m) => pattern::search(state, m, init, anchored, find),
        Prepared::Unicode(m) => pattern::search(state, m, init, anchored, find),
    }
}

/// `mw.ustring.gmatch(s, pattern)`: as `string.gmatch` (a '^' is an ordinary character).
pub(crate) unsafe extern "C-unwind" fn gmatch(state: Lua) -> c_int {
    let src = check_text(state, 1, c"gmatch");
    let pat = check_pattern(state, 2, c"gmatch");
    ffi::lua_settop(state, 2);
    // Upvalues: subject, pattern, position, the decoded forms (or nils), and the
    // subject's length in units.
    let gm =
        ffi::lua_newuserdatauv(state, std::mem::size_of::<GmatchState>(), 0) as *mut GmatchState;
    let n = match prepare(state, src, pat) {
        Prepared::Ascii(_) => src.len(),
        Prepared::Unicode(m) => m.len(),
    };
    gm.write(GmatchState::new(0, n, Iteration::Lua51));
    ffi::lua_pushinteger(state, n as ffi::lua_Integer);
    ffi::lua_pushcclosure(state, gmatch_next, 6);
    1
}

unsafe extern "C-unwind" fn gmatch_next(state: Lua) -> c_int {
    let src = bytes_at(state, ffi::lua_upvalueindex(1)).unwrap_or_default();
    let pat = bytes_at(state, ffi::lua_upvalueindex(2)).unwrap_or_default();
    let gm = &mut *(ffi::lua_touserdata(state, ffi::lua_upvalueindex(3)) as *mut GmatchState);
    if ffi::lua_isnil(state, ffi::lua_upvalueindex(4)) != 0 {
        let m = Matcher::over(state, as_ascii(src), as_ascii(pat), src, &[]);
        return pattern::gmatch_step(state, m, gm);
    }
    let n = ffi::lua_tointeger(state, ffi::lua_upvalueindex(6)) as usize;
    let data = ffi::lua_touserdata(state, ffi::lua_upvalueindex(4)) as *const u32;
    let units = std::slice::from_raw_parts(data, n);
    let offsets = std::slice::from_raw_parts(data.add(n), n + 1);
    let pattern_units = std::slice::from_raw_parts(
        ffi::lua_touserdata(state, ffi::lua_upvalueindex(5)) as *const u32,
        count_chars(pat),
    );
    let m = Matcher::over(state, units, pattern_units, src, offsets);
    pattern::gmatch_step(state, m, gm)
}

/// `mw.ustring.gsub(s, pattern, repl [, n])`.
pub(crate) unsafe extern "C-unwind" fn gsub(state: Lua) -> c_int {
    let src = check_text(state, 1, c"gsub");
    let pat = check_pattern(state, 2, c"gsub");
    let anchored = pat.first() == Some(&b'^');
    let pat = if anchored { &pat[1..] } else { pat };
    ffi::lua_settop(state, 4);
    // The decoded forms sit above the arguments, which `substitute` reads by index.
    match prepare(state, src, pat) {
        Prepared::Ascii(m) => pattern::substitute(state, m, anchored, Iteration::Lua51),
        Prepared::Unicode(m) => pattern::substitute(state, m, anchored, Iteration::Lua51),
    }
}

/// The C functions of `mw.ustring`, by name.
pub(crate) const FUNCTIONS: [(&CStr, ffi::lua_CFunction); 18] = [
    (c"len", len),
    (c"sub", sub),
    (c"upper", upper),
    (c"lower", lower),
    (c"find", find),
    (c"match", ustring_match),
    (c"gmatch", gmatch),
    (c"gsub", gsub),
    (c"codepoint", codepoint),
    (c"char", char),
    (c"byteoffset", byteoffset),
    (c"isutf8", isutf8),
    (c"toNFC", to_nfc),
    (c"toNFD", to_nfd),
    (c"toNFKC", to_nfkc),
    (c"toNFKD", to_nfkd),
    (c"maxPatternLength", max_pattern_length),
    (c"maxStringLength", max_string_length),
];

// Not functions in Scribunto: mw.lua replaces these two with their numbers.
unsafe extern "C-unwind" fn max_pattern_length(state: Lua) -> c_int {
    ffi::lua_pushinteger(state, MAX_PATTERN_LENGTH as ffi::lua_Integer);
    1
}

unsafe extern "C-unwind" fn max_string_length(state: Lua) -> c_int {
    ffi::lua_pushinteger(state, MAX_STRING_LENGTH as ffi::lua_Integer);
    1
}
