//! Lua 5.4 patterns (`string.find`, `string.match`, `string.gmatch`, `string.gsub`) in
//! Rust, so that the time limit can stop them.
//!
//! Lua's own matcher is C code that backtracks without bound (`('a'):rep(1e5):find('.-.-.-b')`
//! runs for hours) and the count hook only fires between VM instructions. This matcher has
//! the semantics and error messages of Lua 5.4's (reference manual §6.4.1) but counts its
//! steps and checks the call's clock every `CHECK_EVERY` of them.
//!
//! The matcher works on units of text ([`Unit`]): bytes for `string`, code points for
//! `mw.ustring` (ustring.rs), whose classes are Unicode's; the C functions' bodies
//! (`find`, `match`, `gmatch`'s step, `gsub`) are shared by both.
//!
//! Lua errors are C longjmps through these frames, so nothing here owns a value with a
//! destructor: the matcher is plain data over borrowed bytes, faults are returned as values
//! and raised by the C function itself, and `gsub` builds its result in Lua-owned memory.

use std::ffi::{c_char, c_int};

use mlua::ffi;

use crate::lua::Lua;

use crate::interrupt::{check_before_c_call, raise_terminated, time_is_up};

/// Captures per pattern (Lua's LUA_MAXCAPTURES).
const MAX_CAPTURES: usize = 32;
/// Nesting of the matcher's recursion before "pattern too complex" (Lua's MAXCCALLS).
const MAX_DEPTH: u32 = 200;
/// Matcher steps between two looks at the clock.
const CHECK_EVERY: u32 = 10_000;

/// Capture lengths that are not lengths.
const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;

/// Results of `Matcher::run` besides an end position: no match, or a fault (in `fault`).
const FAIL: usize = usize::MAX;
const FAULT: usize = usize::MAX - 1;
/// `lastmatch` before the first match.
const NO_MATCH_YET: usize = usize::MAX;

/// Characters that make a `find` pattern more than a plain string.
const SPECIALS: &[u8] = b"^$*+?.([%-";

#[derive(Clone, Copy, Debug)]
pub(crate) enum Fault {
    EndsWithPercent,
    MissingBracket,
    MissingBalanceArguments,
    MissingFrontierBracket,
    InvalidCaptureIndex(c_int),
    InvalidPatternCapture,
    UnfinishedCapture,
    TooManyCaptures,
    TooComplex,
    Timeout,
}

/// Raises `fault` as Lua's matcher would. Call only from frames that own nothing to drop.
pub(crate) unsafe fn raise(state: Lua, fault: Fault) -> c_int {
    let message: &[u8] = match fault {
        Fault::EndsWithPercent => b"malformed pattern (ends with '%%')\0",
        Fault::MissingBracket => b"malformed pattern (missing ']')\0",
        Fault::MissingBalanceArguments => b"malformed pattern (missing arguments to '%%b')\0",
        Fault::MissingFrontierBracket => b"missing '[' after '%%f' in pattern\0",
        Fault::InvalidCaptureIndex(index) => {
            return ffi::luaL_error(state, c"invalid capture index %%%d".as_ptr(), index);
        }
        Fault::InvalidPatternCapture => b"invalid pattern capture\0",
        Fault::UnfinishedCapture => b"unfinished capture\0",
        Fault::TooManyCaptures => b"too many captures\0",
        Fault::TooComplex => b"pattern too complex\0",
        Fault::Timeout => return raise_terminated(state, 1),
    };
    ffi::luaL_error(state, message.as_ptr() as *const c_char)
}

/// What a match must start with, so that other positions need not be tried.
#[derive(Clone, Copy)]
pub(crate) enum Start<U> {
    Anything,
    Unit(U),
    /// A character of the class that ends at this pattern offset.
    Class(usize),
}

#[derive(Clone, Copy)]
struct Capture {
    start: usize,
    /// A length, `CAP_UNFINISHED` or `CAP_POSITION`.
    len: isize,
}

/// A unit of text: a byte, or a code point (ustring.rs).
pub(crate) trait Unit: Copy + Eq + Ord {
    /// What Lua reads past the end of a string (its terminating NUL).
    const NUL: Self;
    /// The unit as a pattern character: every special character of a pattern is ASCII, so
    /// a unit beyond ASCII may give any byte that is not one of them.
    fn ascii(self) -> u8;
    /// Does `self` belong to class `%class`? An upper-case class letter is the
    /// complement; any other character after `%` stands for itself.
    fn in_class(self, class: Self) -> bool;
    /// The first `needle` in `haystack`.
    fn position(haystack: &[Self], needle: Self) -> Option<usize>;
}

impl Unit for u8 {
    const NUL: u8 = 0;

    #[inline]
    fn ascii(self) -> u8 {
        self
    }

    #[inline]
    fn in_class(self, class: u8) -> bool {
        class_matches(self, class)
    }

    #[inline]
    fn position(haystack: &[u8], needle: u8) -> Option<usize> {
        find_byte(haystack, needle)
    }
}

/// One match attempt's state. Positions are unit offsets into `src` and `pat`; reading
/// past either end yields `NUL`, as Lua reads its strings' terminating NUL. `bytes` are
/// the subject's bytes, and `offsets` where each unit starts in them (empty when the
/// units are the bytes), with the end as the last.
pub(crate) struct Matcher<'a, U> {
    state: Lua,
    src: &'a [U],
    pat: &'a [U],
    bytes: &'a [u8],
    offsets: &'a [u32],
    level: usize,
    depth: u32,
    countdown: u32,
    fault: Fault,
    captures: [Capture; MAX_CAPTURES],
}

/// C-locale `<ctype.h>` classes of a byte, one bit per class letter.
const ALPHA: u16 = 1;
const CNTRL: u16 = 1 << 1;
const DIGIT: u16 = 1 << 2;
const GRAPH: u16 = 1 << 3;
const LOWER: u16 = 1 << 4;
const PUNCT: u16 = 1 << 5;
const SPACE: u16 = 1 << 6;
const UPPER: u16 = 1 << 7;
const ALNUM: u16 = 1 << 8;
const XDIGIT: u16 = 1 << 9;
/// `%z`, the NUL byte: undocumented since 5.2 but still in Lua 5.4.
const ZERO: u16 = 1 << 10;

static CLASSES: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut bits = 0;
        if c.is_ascii_alphabetic() {
            bits |= ALPHA;
        }
        if c.is_ascii_control() {
            bits |= CNTRL;
        }
        if c.is_ascii_digit() {
            bits |= DIGIT;
        }
        if c.is_ascii_graphic() {
            bits |= GRAPH;
        }
        if c.is_ascii_lowercase() {
            bits |= LOWER;
        }
        if c.is_ascii_punctuation() {
            bits |= PUNCT;
        }
        // C's isspace includes '\v', which Rust's is_ascii_whitespace does not.
        if c == b' ' || (c >= 9 && c <= 13) {
            bits |= SPACE;
        }
        if c.is_ascii_uppercase() {
            bits |= UPPER;
        }
        if c.is_ascii_alphanumeric() {
            bits |= ALNUM;
        }
        if c.is_ascii_hexdigit() {
            bits |= XDIGIT;
        }
        if c == 0 {
            bits |= ZERO;
        }
        table[i] = bits;
        i += 1;
    }
    table
};

/// Does `c` belong to class `%class`? An upper-case class letter is the complement;
/// any other character after `%` stands for itself.
#[inline]
fn class_matches(c: u8, class: u8) -> bool {
    let bit = match class.to_ascii_lowercase() {
        b'a' => ALPHA,
        b'c' => CNTRL,
        b'd' => DIGIT,
        b'g' => GRAPH,
        b'l' => LOWER,
        b'p' => PUNCT,
        b's' => SPACE,
        b'u' => UPPER,
        b'w' => ALNUM,
        b'x' => XDIGIT,
        b'z' => ZERO,
        _ => return class == c,
    };
    (CLASSES[c as usize] & bit != 0) != class.is_ascii_uppercase()
}

impl<'a> Matcher<'a, u8> {
    fn new(state: Lua, src: &'a [u8], pat: &'a [u8]) -> Self {
        Matcher::over(state, src, pat, src, &[])
    }
}

impl<'a, U: Unit> Matcher<'a, U> {
    /// A matcher of `pat` over `src`, whose units start at `offsets` in `bytes` (see above).
    pub(crate) fn over(
        state: Lua,
        src: &'a [U],
        pat: &'a [U],
        bytes: &'a [u8],
        offsets: &'a [u32],
    ) -> Self {
        Matcher {
            state,
            src,
            pat,
            bytes,
            offsets,
            level: 0,
            depth: MAX_DEPTH,
            countdown: CHECK_EVERY,
            fault: Fault::TooComplex,
            captures: [Capture { start: 0, len: 0 }; MAX_CAPTURES],
        }
    }

    /// The subject's length in units.
    pub(crate) fn len(&self) -> usize {
        self.src.len()
    }

    /// Matches the whole pattern at `s`: the end of the match, `FAIL` or `FAULT`.
    pub(crate) fn run(&mut self, s: usize) -> usize {
        self.level = 0;
        self.depth = MAX_DEPTH;
        self.step(s, 0)
    }

    /// The pattern character at `p`, as `Unit::ascii` gives it.
    #[inline]
    fn pat_at(&self, p: usize) -> u8 {
        self.pat.get(p).map_or(0, |c| c.ascii())
    }

    #[inline]
    fn src_at(&self, s: usize) -> U {
        self.src.get(s).copied().unwrap_or(U::NUL)
    }

    /// The subject's bytes of units `start..end`.
    #[inline]
    fn slice(&self, start: usize, end: usize) -> &'a [u8] {
        if self.offsets.is_empty() {
            &self.bytes[start..end]
        } else {
            &self.bytes[self.offsets[start] as usize..self.offsets[end] as usize]
        }
    }

    #[inline]
    fn fail_with(&mut self, fault: Fault) -> usize {
        self.fault = fault;
        FAULT
    }

    /// Counts one step; false once the call's time is up.
    #[inline]
    fn tick(&mut self) -> bool {
        self.countdown -= 1;
        self.countdown != 0 || self.clock_ok()
    }

    /// Counts `n` steps at once.
    #[inline]
    fn tick_n(&mut self, n: usize) -> bool {
        if (self.countdown as usize) > n {
            self.countdown -= n as u32;
            true
        } else {
            self.clock_ok()
        }
    }

    #[cold]
    fn clock_ok(&mut self) -> bool {
        self.countdown = CHECK_EVERY;
        if time_is_up(self.state) {
            self.fault = Fault::Timeout;
            return false;
        }
        true
    }

    /// The end of the single-character class starting at `p` (where its suffix would be).
    fn class_end(&mut self, mut p: usize) -> usize {
        let c = self.pat[p].ascii();
        p += 1;
        if c == b'%' {
            if p >= self.pat.len() {
                return self.fail_with(Fault::EndsWithPercent);
            }
            return p + 1;
        }
        if c == b'[' {
            if self.pat_at(p) == b'^' {
                p += 1;
            }
            // The first character of a set is never its end: "[]]" is the set of ']'.
            loop {
                if p >= self.pat.len() {
                    return self.fail_with(Fault::MissingBracket);
                }
                let c = self.pat[p].ascii();
                p += 1;
                if c == b'%' && p < self.pat.len() {
                    p += 1;
                }
                if self.pat_at(p) == b']' {
                    return p + 1;
                }
            }
        }
        p
    }

    /// Does `c` belong to the set `[...]` from `p` (its '[') to `end` (its ']')?
    fn set_matches(&self, c: U, mut p: usize, end: usize) -> bool {
        let mut found = true;
        if self.pat[p + 1].ascii() == b'^' {
            found = false;
            p += 1;
        }
        p += 1;
        while p < end {
            let pc = self.pat[p];
            if pc.ascii() == b'%' {
                p += 1;
                if c.in_class(self.pat[p]) {
                    return found;
                }
            } else if self.pat[p + 1].ascii() == b'-' && p + 2 < end {
                if pc <= c && c <= self.pat[p + 2] {
                    return found;
                }
                p += 2;
            } else if pc == c {
                return found;
            }
            p += 1;
        }
        !found
    }

    /// Does the character at `s` match the class from `p` to `ep`?
    #[inline]
    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p].ascii() {
            b'.' => true,
            b'%' => c.in_class(self.pat[p + 1]),
            b'[' => self.set_matches(c, p, ep - 1),
            _ => self.pat[p] == c,
        }
    }

    /// Matches the pattern from `p` at subject position `s`.
    fn step(&mut self, mut s: usize, mut p: usize) -> usize {
        if self.depth == 0 {
            return self.fail_with(Fault::TooComplex);
        }
        self.depth -= 1;
        let result = loop {
            if !self.tick() {
                break FAULT;
            }
            if p == self.pat.len() {
                break s;
            }
            match self.pat[p].ascii() {
                b'(' => {
                    break if self.pat_at(p + 1) == b')' {
                        self.start_capture(s, p + 2, CAP_POSITION)
                    } else {
                        self.start_capture(s, p + 1, CAP_UNFINISHED)
                    };
                }
                b')' => break self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    break if s == self.src.len() { s } else { FAIL };
                }
                b'%' => match self.pat_at(p + 1) {
                    b'b' => {
                        let end = self.balance(s, p + 2);
                        if end >= FAULT {
                            break end;
                        }
                        s = end;
                        p += 4;
                        continue;
                    }
                    b'f' => {
                        p += 2;
                        if self.pat_at(p) != b'[' {
                            break self.fail_with(Fault::MissingFrontierBracket);
                        }
                        let ep = self.class_end(p);
                        if ep == FAULT {
                            break FAULT;
                        }
                        let previous = if s == 0 { U::NUL } else { self.src[s - 1] };
                        if !self.set_matches(previous, p, ep - 1)
                            && self.set_matches(self.src_at(s), p, ep - 1)
                        {
                            p = ep;
                            continue;
                        }
                        break FAIL;
                    }
                    digit @ b'0'..=b'9' => {
                        let end = self.back_reference(s, digit);
                        if end >= FAULT {
                            break end;
                        }
                        s = end;
                        p += 2;
                        continue;
                    }
                    _ => {}
                },
                _ => {}
            }
            // A single-character class with an optional suffix.
            let ep = self.class_end(p);
            if ep == FAULT {
                break FAULT;
            }
            let suffix = self.pat_at(ep);
            if !self.single(s, p, ep) {
                if matches!(suffix, b'*' | b'?' | b'-') {
                    p = ep + 1;
                    continue;
                }
                break FAIL;
            }
            match suffix {
                b'?' => {
                    let end = self.step(s + 1, ep + 1);
                    if end != FAIL {
                        break end;
                    }
                    p = ep + 1;
                }
                b'+' => break self.max_expand(s + 1, p, ep),
                b'*' => break self.max_expand(s, p, ep),
                b'-' => break self.min_expand(s, p, ep),
                _ => {
                    s += 1;
                    p = ep;
                }
            }
        };
        self.depth += 1;
        result
    }

    /// Greedy repetition: the longest run first, then shorter ones.
    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> usize {
        let mut i = 0;
        while self.single(s + i, p, ep) {
            i += 1;
            if !self.tick() {
                return FAULT;
            }
        }
        loop {
            let end = self.step(s + i, ep + 1);
            if end != FAIL {
                return end;
            }
            if i == 0 {
                return FAIL;
            }
            i -= 1;
        }
    }

    /// Lazy repetition: the shortest run first, then longer ones.
    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> usize {
        loop {
            let end = self.step(s, ep + 1);
            if end != FAIL {
                return end;
            }
            if !self.single(s, p, ep) {
                return FAIL;
            }
            s += 1;
            if !self.tick() {
                return FAULT;
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, len: isize) -> usize {
        if self.level >= MAX_CAPTURES {
            return self.fail_with(Fault::TooManyCaptures);
        }
        self.captures[self.level] = Capture { start: s, len };
        self.level += 1;
        let end = self.step(s, p);
        if end == FAIL {
            self.level -= 1;
        }
        end
    }

    fn end_capture(&mut self, s: usize, p: usize) -> usize {
        let Some(open) = (0..self.level)
            .rev()
            .find(|&l| self.captures[l].len == CAP_UNFINISHED)
        else {
            return self.fail_with(Fault::InvalidPatternCapture);
        };
        self.captures[open].len = (s - self.captures[open].start) as isize;
        let end = self.step(s, p);
        if end == FAIL {
            self.captures[open].len = CAP_UNFINISHED;
        }
        end
    }

    /// `%bxy` at `s`, with `p` at `x`.
    fn balance(&mut self, s: usize, p: usize) -> usize {
        if p + 1 >= self.pat.len() {
            return self.fail_with(Fault::MissingBalanceArguments);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if s >= self.src.len() || self.src[s] != open {
            return FAIL;
        }
        let mut depth = 1;
        for i in s + 1..self.src.len() {
            if !self.tick() {
                return FAULT;
            }
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            } else if c == open {
                depth += 1;
            }
        }
        FAIL
    }

    /// `%1`-`%9` at `s` (`digit` is the character after '%').
    fn back_reference(&mut self, s: usize, digit: u8) -> usize {
        let index = digit as c_int - b'1' as c_int;
        if index < 0
            || index as usize >= self.level
            || self.captures[index as usize].len == CAP_UNFINISHED
        {
            return self.fail_with(Fault::InvalidCaptureIndex(index + 1));
        }
        let Capture { start, len } = self.captures[index as usize];
        // A position capture never matches text.
        if len < 0 || self.src.len() - s < len as usize {
            return FAIL;
        }
        let len = len as usize;
        if !self.tick_n(len / 32) {
            return FAULT;
        }
        if self.src[start..start + len] == self.src[s..s + len] {
            s + len
        } else {
            FAIL
        }
    }

    /// What a match must start with: the pattern's first single-character class, unless
    /// it may match empty (or is something else). Where it does not match, `run` would fail
    /// without side effects or errors, so such positions can be skipped.
    pub(crate) fn start(&mut self) -> Start<U> {
        let Some(&unit) = self.pat.first() else {
            return Start::Anything;
        };
        let c = unit.ascii();
        let ep = match c {
            b'(' | b')' | b'.' => return Start::Anything,
            b'$' if self.pat.len() == 1 => return Start::Anything,
            b'%' => match self.pat.get(1).map(|c| c.ascii()) {
                None | Some(b'b' | b'f' | b'0'..=b'9') => return Start::Anything,
                Some(_) => 2,
            },
            b'[' => match self.class_end(0) {
                FAULT => return Start::Anything,
                ep => ep,
            },
            _ => 1,
        };
        if matches!(self.pat_at(ep), b'*' | b'?' | b'-') {
            return Start::Anything;
        }
        match c {
            b'%' if !self.pat[1].ascii().is_ascii_alphanumeric() => Start::Unit(self.pat[1]),
            b'%' | b'[' => Start::Class(ep),
            _ => Start::Unit(unit),
        }
    }

    /// The first position from `from` where a match could start (the subject's length if
    /// none), or `FAULT`.
    pub(crate) fn skip(&mut self, from: usize, start: Start<U>) -> usize {
        let len = self.src.len();
        if from >= len {
            return from;
        }
        let found = match start {
            Start::Anything => return from,
            Start::Unit(c) => U::position(&self.src[from..], c).map_or(len, |i| from + i),
            Start::Class(ep) => (from..len).find(|&s| self.single(s, 0, ep)).unwrap_or(len),
        };
        if !self.tick_n((found - from) / 16) {
            return FAULT;
        }
        found
    }
}

/// Where `needle` first occurs in `haystack` from `from` (`Err` once the time is up).
pub(crate) fn find_plain(
    state: Lua,
    haystack: &[u8],
    from: usize,
    needle: &[u8],
) -> Result<Option<usize>, Fault> {
    let Some((&first, rest)) = needle.split_first() else {
        return Ok(Some(from));
    };
    if needle.len() > haystack.len() - from {
        return Ok(None);
    }
    let last_start = haystack.len() - needle.len();
    let cost = 1 + needle.len() / 32;
    let mut budget = CHECK_EVERY as usize;
    let mut i = from;
    while i <= last_start {
        let Some(offset) = find_byte(&haystack[i..=last_start], first) else {
            return Ok(None);
        };
        i += offset;
        if haystack[i + 1..i + needle.len()] == *rest {
            return Ok(Some(i));
        }
        i += 1;
        // Candidates cost a comparison each, so a pathological needle still sees the clock.
        budget = match budget.checked_sub(cost + offset / 64) {
            Some(left) => left,
            None if time_is_up(state) => return Err(Fault::Timeout),
            None => CHECK_EVERY as usize,
        };
    }
    Ok(None)
}

unsafe extern "C" {
    // The C library's, which Lua itself uses (vectorised where it matters).
    fn memchr(s: *const std::ffi::c_void, c: c_int, n: usize) -> *mut std::ffi::c_void;
}

/// The first `needle` in `haystack`.
#[inline]
fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    // SAFETY: reads `haystack.len()` bytes of `haystack`.
    let found = unsafe {
        memchr(
            haystack.as_ptr() as *const _,
            needle as c_int,
            haystack.len(),
        )
    };
    (!found.is_null()).then(|| found as usize - haystack.as_ptr() as usize)
}

unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    std::slice::from_raw_parts(ptr as *const u8, len)
}

pub(crate) unsafe fn check_bytes<'a>(state: Lua, arg: c_int) -> &'a [u8] {
    let mut len = 0;
    let ptr = ffi::luaL_checklstring(state, arg, &mut len);
    bytes(ptr, len)
}

/// A 1-based, possibly negative start position as a 0-based offset (may exceed `len`).
pub(crate) fn start_offset(pos: ffi::lua_Integer, len: usize) -> usize {
    if pos > 0 {
        usize::try_from(pos - 1).unwrap_or(usize::MAX)
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        0
    } else {
        len - pos.unsigned_abs() as usize
    }
}

pub(crate) unsafe fn push_bytes(state: Lua, bytes: &[u8]) {
    ffi::lua_pushlstring(state, bytes.as_ptr() as *const c_char, bytes.len());
}

/// Pushes capture `i`, or the whole match `whole` for `i == 0` in a pattern without captures.
unsafe fn push_capture<U: Unit>(state: Lua, m: &Matcher<U>, i: usize, whole: (usize, usize)) {
    if i >= m.level {
        if i != 0 {
            raise(state, Fault::InvalidCaptureIndex(i as c_int + 1));
        }
        push_bytes(state, m.slice(whole.0, whole.1));
        return;
    }
    let Capture { start, len } = m.captures[i];
    match len {
        CAP_UNFINISHED => {
            raise(state, Fault::UnfinishedCapture);
        }
        CAP_POSITION => ffi::lua_pushinteger(state, start as ffi::lua_Integer + 1),
        len => push_bytes(state, m.slice(start, start + len as usize)),
    }
}

/// Pushes all captures (or the whole match if there are none and `whole` is given).
unsafe fn push_captures<U: Unit>(
    state: Lua,
    m: &Matcher<U>,
    whole: Option<(usize, usize)>,
) -> c_int {
    let n = if m.level == 0 && whole.is_some() {
        1
    } else {
        m.level
    };
    ffi::luaL_checkstack(state, n as c_int, c"too many captures".as_ptr());
    let whole = whole.unwrap_or((0, 0));
    for i in 0..n {
        push_capture(state, m, i, whole);
    }
    n as c_int
}

/// `string.find(s, pattern [, init [, plain]])`
pub unsafe extern "C-unwind" fn find(state: Lua) -> c_int {
    find_or_match(state, true)
}

/// `string.match(s, pattern [, init])`
pub unsafe extern "C-unwind" fn str_match(state: Lua) -> c_int {
    find_or_match(state, false)
}

unsafe fn find_or_match(state: Lua, find: bool) -> c_int {
    let src = check_bytes(state, 1);
    let pat = check_bytes(state, 2);
    let init = start_offset(ffi::luaL_optinteger(state, 3, 1), src.len());
    if init > src.len() {
        ffi::lua_pushnil(state);
        return 1;
    }
    if find && (ffi::lua_toboolean(state, 4) != 0 || !pat.iter().any(|c| SPECIALS.contains(c))) {
        match find_plain(state, src, init, pat) {
            Ok(Some(start)) => {
                ffi::lua_pushinteger(state, start as ffi::lua_Integer + 1);
                ffi::lua_pushinteger(state, (start + pat.len()) as ffi::lua_Integer);
                2
            }
            Ok(None) => {
                ffi::lua_pushnil(state);
                1
            }
            Err(fault) => raise(state, fault),
        }
    } else {
        let anchored = pat.first() == Some(&b'^');
        let m = Matcher::new(state, src, if anchored { &pat[1..] } else { pat });
        search(state, m, init, anchored, find)
    }
}

/// `find` (`find`: positions, then captures) or `match` (captures) of the matcher's
/// pattern from unit `init` (at most the subject's length), anchored or not.
pub(crate) unsafe fn search<U: Unit>(
    state: Lua,
    mut m: Matcher<U>,
    init: usize,
    anchored: bool,
    find: bool,
) -> c_int {
    let first = if anchored { Start::Anything } else { m.start() };
    let mut start = init;
    loop {
        start = m.skip(start, first);
        if start == FAULT {
            return raise(state, m.fault);
        }
        let end = m.run(start);
        if end == FAULT {
            return raise(state, m.fault);
        }
        if end != FAIL {
            if find {
                ffi::lua_pushinteger(state, start as ffi::lua_Integer + 1);
                ffi::lua_pushinteger(state, end as ffi::lua_Integer);
                return push_captures(state, &m, None) + 2;
            }
            return push_captures(state, &m, Some((start, end)));
        }
        if anchored || start >= m.src.len() {
            break;
        }
        start += 1;
    }
    ffi::lua_pushnil(state);
    1
}

/// How `gmatch` and `gsub` go on after a match.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Iteration {
    /// Lua 5.4's: no empty match where the previous match ended.
    Lua54,
    /// Lua 5.1's (Scribunto's mw.ustring): after an empty match, one unit further; in
    /// `gsub`'s replacement string a `%` before anything but a digit or `%` stays as it is.
    Lua51,
}

/// Where a `gmatch` iterator is (in a userdata; plain data, Lua frees it).
#[repr(C)]
pub(crate) struct GmatchState {
    next: usize,
    last_match: usize,
    iteration: Iteration,
}

impl GmatchState {
    /// An iterator that starts at unit `init` of a subject of `len` units.
    pub(crate) fn new(init: usize, len: usize, iteration: Iteration) -> GmatchState {
        GmatchState {
            next: init.min(len + 1),
            last_match: NO_MATCH_YET,
            iteration,
        }
    }
}

/// `string.gmatch(s, pattern [, init])`: a '^' in the pattern is an ordinary character.
pub unsafe extern "C-unwind" fn gmatch(state: Lua) -> c_int {
    let src = check_bytes(state, 1);
    check_bytes(state, 2);
    let init = start_offset(ffi::luaL_optinteger(state, 3, 1), src.len());
    ffi::lua_settop(state, 2);
    let gm =
        ffi::lua_newuserdatauv(state, std::mem::size_of::<GmatchState>(), 0) as *mut GmatchState;
    gm.write(GmatchState::new(init, src.len(), Iteration::Lua54));
    ffi::lua_pushcclosure(state, gmatch_next, 3);
    1
}

unsafe extern "C-unwind" fn gmatch_next(state: Lua) -> c_int {
    let gm = ffi::lua_touserdata(state, ffi::lua_upvalueindex(3)) as *mut GmatchState;
    let mut len = 0;
    let src = bytes(
        ffi::lua_tolstring(state, ffi::lua_upvalueindex(1), &mut len),
        len,
    );
    let pat = bytes(
        ffi::lua_tolstring(state, ffi::lua_upvalueindex(2), &mut len),
        len,
    );
    gmatch_step(state, Matcher::new(state, src, pat), &mut *gm)
}

/// The next match of a `gmatch` iterator at `gm`: its captures pushed, or nothing.
pub(crate) unsafe fn gmatch_step<U: Unit>(
    state: Lua,
    mut m: Matcher<U>,
    gm: &mut GmatchState,
) -> c_int {
    let first = m.start();
    let mut start = gm.next;
    while start <= m.src.len() {
        start = m.skip(start, first);
        if start == FAULT {
            return raise(state, m.fault);
        }
        let end = m.run(start);
        if end == FAULT {
            return raise(state, m.fault);
        }
        if end != FAIL && gm.iteration == Iteration::Lua51 {
            gm.next = if end == start { start + 1 } else { end };
            return push_captures(state, &m, Some((start, end)));
        }
        if end != FAIL && end != gm.last_match {
            gm.next = end;
            gm.last_match = end;
            return push_captures(state, &m, Some((start, end)));
        }
        start += 1;
    }
    0
}

/// Bytes this many or fewer are gathered on the C stack before `gsub` moves to Lua memory.
const INLINE_BUFFER: usize = 1024;

/// `gsub`'s result under construction: on the C stack, then in a userdata kept in stack
/// slot `slot` (plain data, so a Lua error anywhere leaves nothing to free but garbage).
pub(crate) struct Buffer {
    heap: *mut u8,
    len: usize,
    capacity: usize,
    slot: c_int,
    inline: [u8; INLINE_BUFFER],
}

impl Buffer {
    /// Reserves a stack slot for the buffer: the stack must not shrink below it until done.
    pub(crate) unsafe fn new(state: Lua) -> Self {
        ffi::lua_pushnil(state);
        Buffer {
            heap: std::ptr::null_mut(),
            len: 0,
            capacity: INLINE_BUFFER,
            slot: ffi::lua_gettop(state),
            inline: [0; INLINE_BUFFER],
        }
    }

    #[inline]
    fn data(&mut self) -> *mut u8 {
        if self.heap.is_null() {
            self.inline.as_mut_ptr()
        } else {
            self.heap
        }
    }

    /// Appends `bytes`, which must not point into this buffer.
    #[inline]
    pub(crate) unsafe fn add(&mut self, state: Lua, bytes: &[u8]) {
        if self.capacity - self.len < bytes.len() {
            self.grow(state, bytes.len());
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.data().add(self.len), bytes.len());
        self.len += bytes.len();
    }

    #[cold]
    unsafe fn grow(&mut self, state: Lua, extra: usize) {
        let Some(needed) = self
            .len
            .checked_add(extra)
            .filter(|&n| n <= isize::MAX as usize / 2)
        else {
            ffi::luaL_error(state, c"buffer too large".as_ptr());
            return;
        };
        let capacity = needed.max(self.capacity * 2);
        let heap = ffi::lua_newuserdatauv(state, capacity, 0) as *mut u8;
        std::ptr::copy_nonoverlapping(self.data(), heap, self.len);
        ffi::lua_replace(state, self.slot);
        self.heap = heap;
        self.capacity = capacity;
    }

    /// Appends the string or number on top of the stack and pops it.
    unsafe fn add_top(&mut self, state: Lua) {
        let mut len = 0;
        let ptr = ffi::lua_tolstring(state, -1, &mut len);
        self.add(state, bytes(ptr, len));
        ffi::lua_pop(state, 1);
    }

    pub(crate) unsafe fn push(&mut self, state: Lua) {
        ffi::lua_pushlstring(state, self.data() as *const c_char, self.len);
    }
}

/// `luaL_typeerror`, which mlua does not bind.
unsafe fn type_error(state: Lua, arg: c_int, expected: &std::ffi::CStr) -> c_int {
    let actual = if ffi::luaL_getmetafield(state, arg, c"__name".as_ptr()) == ffi::LUA_TSTRING {
        ffi::lua_tostring(state, -1)
    } else if ffi::lua_type(state, arg) == ffi::LUA_TLIGHTUSERDATA {
        c"light userdata".as_ptr()
    } else {
        ffi::luaL_typename(state, arg)
    };
    let message = ffi::lua_pushfstring(
        state,
        c"%s expected, got %s".as_ptr(),
        expected.as_ptr(),
        actual,
    );
    ffi::luaL_argerror(state, arg, message)
}

/// `string.gsub(s, pattern, repl [, n])`
pub unsafe extern "C-unwind" fn gsub(state: Lua) -> c_int {
    let src = check_bytes(state, 1);
    let pat = check_bytes(state, 2);
    let anchored = pat.first() == Some(&b'^');
    let m = Matcher::new(state, src, if anchored { &pat[1..] } else { pat });
    substitute(state, m, anchored, Iteration::Lua54)
}

/// `gsub`'s body, for a matcher over argument 1 with the pattern of argument 2 (without
/// its anchor); arguments 3 and 4 are the replacement and the count.
pub(crate) unsafe fn substitute<U: Unit>(
    state: Lua,
    mut m: Matcher<U>,
    anchored: bool,
    iteration: Iteration,
) -> c_int {
    let kind = ffi::lua_type(state, 3);
    let max = ffi::luaL_optinteger(state, 4, m.src.len() as ffi::lua_Integer + 1);
    if !matches!(
        kind,
        ffi::LUA_TNUMBER | ffi::LUA_TSTRING | ffi::LUA_TFUNCTION | ffi::LUA_TTABLE
    ) {
        return type_error(state, 3, c"string/function/table");
    }
    let mut buffer = Buffer::new(state);
    let first = if anchored { Start::Anything } else { m.start() };
    let len = m.src.len();
    let mut pos = 0;
    // Unmatched text from `copied` to `pos` is appended in one go.
    let mut copied = 0;
    let mut last_match = NO_MATCH_YET;
    let mut count: ffi::lua_Integer = 0;
    let mut changed = false;
    while count < max {
        pos = m.skip(pos, first);
        if pos == FAULT {
            return raise(state, m.fault);
        }
        let end = m.run(pos);
        if end == FAULT {
            return raise(state, m.fault);
        }
        if end != FAIL && iteration == Iteration::Lua51 {
            count += 1;
            buffer.add(state, m.slice(copied, pos));
            changed |= add_value(state, &m, &mut buffer, kind, pos, end, iteration);
            copied = end;
            if end > pos {
                pos = end;
            } else if pos < len {
                // An empty match: the unit after it is copied as it is.
                pos += 1;
            } else {
                break;
            }
        } else if end != FAIL && end != last_match {
            count += 1;
            buffer.add(state, m.slice(copied, pos));
            changed |= add_value(state, &m, &mut buffer, kind, pos, end, iteration);
            pos = end;
            copied = end;
            last_match = end;
        } else if pos < len {
            pos += 1;
        } else {
            break;
        }
        if anchored {
            break;
        }
    }
    if changed {
        buffer.add(state, m.slice(copied, len));
        buffer.push(state);
    } else {
        ffi::lua_pushvalue(state, 1);
    }
    ffi::lua_pushinteger(state, count);
    2
}

/// Appends the replacement for the match `start..end`; false if it kept the original text.
unsafe fn add_value<U: Unit>(
    state: Lua,
    m: &Matcher<U>,
    buffer: &mut Buffer,
    kind: c_int,
    start: usize,
    end: usize,
    iteration: Iteration,
) -> bool {
    match kind {
        ffi::LUA_TFUNCTION => {
            if ffi::lua_iscfunction(state, 3) != 0 {
                check_before_c_call(state);
            }
            ffi::lua_pushvalue(state, 3);
            let n = push_captures(state, m, Some((start, end)));
            ffi::lua_call(state, n, 1);
        }
        ffi::LUA_TTABLE => {
            push_capture(state, m, 0, (start, end));
            ffi::lua_gettable(state, 3);
        }
        _ => {
            add_template(state, m, buffer, start, end, iteration);
            return true;
        }
    }
    if ffi::lua_toboolean(state, -1) == 0 {
        ffi::lua_pop(state, 1);
        buffer.add(state, m.slice(start, end));
        false
    } else if ffi::lua_isstring(state, -1) == 0 {
        ffi::luaL_error(
            state,
            c"invalid replacement value (a %s)".as_ptr(),
            ffi::luaL_typename(state, -1),
        );
        false
    } else {
        buffer.add_top(state);
        true
    }
}

/// Appends the replacement string (argument 3) with `%0`-`%9` and `%%` expanded.
unsafe fn add_template<U: Unit>(
    state: Lua,
    m: &Matcher<U>,
    buffer: &mut Buffer,
    start: usize,
    end: usize,
    iteration: Iteration,
) {
    let mut len = 0;
    let template = bytes(ffi::lua_tolstring(state, 3, &mut len), len);
    let mut rest = template;
    while let Some(at) = find_byte(rest, b'%') {
        buffer.add(state, &rest[..at]);
        let c = rest.get(at + 1).copied().unwrap_or(0);
        match c {
            b'%' => buffer.add(state, b"%"),
            b'0' => buffer.add(state, m.slice(start, end)),
            b'1'..=b'9' => {
                let i = (c - b'1') as usize;
                if i >= m.level {
                    // `%1` in a pattern without captures is the whole match.
                    if i != 0 {
                        raise(state, Fault::InvalidCaptureIndex(i as c_int + 1));
                    }
                    buffer.add(state, m.slice(start, end));
                } else {
                    match m.captures[i] {
                        Capture {
                            len: CAP_UNFINISHED,
                            ..
                        } => {
                            raise(state, Fault::UnfinishedCapture);
                        }
                        Capture {
                            start,
                            len: CAP_POSITION,
                        } => {
                            ffi::lua_pushinteger(state, start as ffi::lua_Integer + 1);
                            buffer.add_top(state);
                        }
                        Capture { start, len } => {
                            buffer.add(state, m.slice(start, start + len as usize))
                        }
                    }
                }
            }
            _ if iteration == Iteration::Lua51 => {
                // Kept as it is (and a lone `%` at the end too).
                buffer.add(state, b"%");
                rest = &rest[at + 1..];
                continue;
            }
            _ => {
                ffi::luaL_error(state, c"invalid use of '%%' in replacement string".as_ptr());
            }
        }
        rest = &rest[at + 2..];
    }
    buffer.add(state, rest);
}
