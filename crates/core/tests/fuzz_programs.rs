//! Grammar-aware property test: random but syntactically valid Lua 5.4 programs that work
//! the sandbox's libraries (strings and patterns, tables, math, utf8, coroutines, pcall and
//! error, load, metatables with every metamethod, to-be-closed variables, the GC, os, output)
//! under random limits. Whatever a program does, a call returns in time with a consistent
//! classification, within its output limit, with convertible values, and the next call works.
//!
//! CI runs the default case count and the saved regressions. For a long local run:
//! `PROPTEST_CASES=100000 cargo test --release -p pubwiki-lua-core --test fuzz_programs -- --nocapture`
//! With `FUZZ_PROGRAMS_LAST=<file>` each program is written there before it runs (to recover
//! the input after a crash or hang); `FUZZ_PROGRAMS_STATS=1` prints outcome counts every 500
//! programs and every call slower than twice its limit + 50 ms; `FUZZ_PROGRAMS_MESSAGES=1`
//! prints every error message; `FUZZ_PROGRAMS_SHOW=1` prints every program.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::FileFailurePersistence;
use pubwiki_lua_core::{
    monotonic_ms, run, ArenaPool, Call, CallSpec, ErrorKind, Limits, LuaValue, RunError, RunOutput,
};

type S = BoxedStrategy<String>;

/// How late a call may return beyond twice its time limit (scheduling on a shared machine,
/// state teardown, C library work between two hook checks).
const SLACK_MS: f64 = 500.0;

/// Variables every program declares up front (see `PRELUDE`); generated code reads and
/// assigns them, and reuses them as parameters and loop variables.
const VARS: &[&str] = &[
    "a", "b", "c", "s", "n", "t", "u", "f", "g", "co", "mt", "x", "y",
];
const GLOBALS: &[&str] = &["G1", "G2", "string", "_G", "_ENV", "print"];

const PRELUDE: &str = r#"local a, b, c = 1, 2.5, "x"
local s, n = "hello\0w\195\182rld\255", 42
local t = {1, 2, 3, "four", x = 1, y = {z = true}}
local u = setmetatable({}, {__index = t})
local f = function(...) return ... end
local g = function(x, ...) return select('#', ...), x end
local co = coroutine.create(function(...) local x = coroutine.yield(...) return x end)
local mt = {__index = function(_, k) return k end}
local x, y
"#;

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "10",
    "255",
    "256",
    "1.5",
    "-0.0",
    "0.0",
    "3.0",
    "0.1",
    "1e308",
    "-1e308",
    "1e-310",
    "1e100",
    "2^53",
    "2^63",
    "-2^63",
    "2^31",
    "math.maxinteger",
    "math.mininteger",
    "(1/0)",
    "(-1/0)",
    "(0/0)",
    "math.huge",
    "math.pi",
    "0x7fffffffffffffff",
    "0xffffffffffffffff",
    "0x10",
    "0x1p4",
    "0x10FFFF",
    "0x7FFFFFFF",
    "0x80000000",
    "65536",
    "1e15",
    "(-0.0)",
    "(math.mininteger // -1)",
];

const STRINGS: &[&str] = &[
    "",
    "a",
    "abc",
    "hello world",
    "\0",
    "a\0b",
    "\u{ff}",
    "h\u{e9}llo \u{2713}",
    "%d",
    "%s",
    "%",
    "123",
    "0x10",
    " 12 ",
    "1e5",
    "-7",
    "10.5",
    "nan",
    "inf",
    "true",
    "__index",
    "x",
    "y",
    "n",
    "(a)(b)",
    "[x]",
    "aaaaaaaaaaaaaaaaaaaaaaaab",
    "one two  three",
    "k=v, k2=v2",
    "\u{10ffff}",
    "\n\t\r",
];

/// Raw byte strings (invalid UTF-8 among them).
const BYTE_STRINGS: &[&[u8]] = &[
    b"\xff",
    b"\xff\xfe\x80",
    b"\xc3",
    b"\xc3\xa9\xe2\x9c",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\x80abc",
    b"\xef\xbf\xbd",
];

const PATTERN_PIECES: &[&str] = &[
    "a",
    "b",
    "x",
    " ",
    ".",
    "%a",
    "%d",
    "%s",
    "%w",
    "%p",
    "%l",
    "%u",
    "%c",
    "%x",
    "%g",
    "%z",
    "%A",
    "%S",
    "%.",
    "%%",
    "[a-z]",
    "[^%s]",
    "[%w_]",
    "[]",
    "[^]",
    "[a-",
    "[",
    "]",
    "%",
    "(",
    ")",
    "()",
    "(.-)",
    "(%a+)",
    "%b()",
    "%b",
    "%bx",
    "%f[%w]",
    "%f[%W]",
    "%f",
    "%1",
    "%2",
    "%0",
    "*",
    "+",
    "-",
    "?",
    "^",
    "$",
    ".-",
    ".*",
    "\0",
    "\u{ff}",
    "[\0-\x7f]",
    "%f[%z]",
    "[%]",
    "[a%]",
    "[^]]",
    "[]]",
    "%f[]",
    "(()",
    "%b%%",
    "[%a-z]",
    "[z-a]",
    "%9",
];

const REPL_PIECES: &[&str] = &["%0", "%1", "%2", "%%", "%a", "%", "x", "\0", "-", "%9"];

const FORMAT_PIECES: &[&str] = &[
    "%d", "%5d", "%-5d", "%+.3f", "%g", "%e", "%a", "%A", "%x", "%X", "%o", "%c", "%s", "%.3s",
    "%q", "%i", "%u", "%%", "%", "%y", "%99d", "%100d", "%.99f", "%#x", "%05.1f", "% d", "x", " ",
    "\0", "%10s", "%-10.2s", "%.0f", "%.20g", "%p", "%99.99f", "%#o", "%.14g", "%lld",
];

const PACK_PIECES: &[&str] = &[
    "i", "i1", "i2", "i4", "i8", "i16", "i17", "I3", "j", "J", "n", "f", "d", "b", "B", "h", "H",
    "l", "L", "T", "s", "s1", "s2", "z", "x", "X", "Xi4", "Xz", "!", "!8", "!3", "<", ">", "=",
    " ", "c3", "c", "c0", "c99999", "i0", "q",
];

const DATE_FORMATS: &[&str] = &[
    "*t",
    "!*t",
    "%Y-%m-%d",
    "%c",
    "%x",
    "%H:%M:%S",
    "%Ez",
    "%Q",
    "%",
    "%%",
    "!%c",
    "%Oy",
    "%Ec",
    "%a %A %b %B %d %j %p %U %w %W %y %Z",
    "",
    "%5Y",
    "%E",
    "x%n%t",
];

const GC_OPTIONS: &[&str] = &[
    "\"collect\"",
    "\"count\"",
    "\"step\"",
    "\"stop\"",
    "\"restart\"",
    "\"isrunning\"",
    "\"incremental\"",
    "\"generational\"",
    "\"setpause\"",
    "\"setstepmul\"",
    "\"bogus\"",
    "nil",
];

const FUNCTION_NAMES: &[&str] = &[
    "print",
    "error",
    "tostring",
    "tonumber",
    "pcall",
    "select",
    "type",
    "next",
    "rawlen",
    "coroutine.yield",
    "coroutine.wrap",
    "coroutine.running",
    "string.rep",
    "string.format",
    "string.gsub",
    "table.unpack",
    "table.sort",
    "load",
    "setmetatable",
    "io.write",
    "math.max",
    "utf8.char",
    "debug.traceback",
    "collectgarbage",
    "table.concat",
    "rawequal",
    "rawget",
    "rawlen",
    "string.len",
    "string.char",
    "os.date",
    "os.time",
    "math.random",
    "coroutine.isyieldable",
    "f",
    "g",
];

/// Tokens for `load` of text that is mostly not Lua.
const LOAD_TOKENS: &[&str] = &[
    "local ", "x", "=", "(", ")", "{", "}", "return ", " end ", "function", "...", "1", "'s'",
    "[[", "]]", "--", "\n", "if ", " then ", "while ", " do ", ",", ";", "#", "..", "\\", "\"",
    "goto l", "::l::", "<close>", "<const>", "\0", "\u{ff}", "0x", "1e", "break",
];

/// The last value each program may return: shapes the value conversion must handle.
const RETURNS: &[&str] = &[
    "return t",
    "return t, u, s, n, a, b, c",
    "return {t, t}",
    "return setmetatable({}, {__index = t})",
    "do local d = {} for i = 1, 120 do d = {d} end return d end",
    "do local d = {} for i = 1, 90 do d = {d} end return d end",
    "do local r = {} r[1] = r return r end",
    "return {[{}] = 1}",
    "return {[1.5] = 1, [true] = 2, [-0.0] = 3, [2^53] = 4}",
    "return 0/0, -0.0, math.mininteger, 1/0",
    "return ...",
    "return co, f, print, coroutine.running()",
    "return {1, nil, 3}",
    "return {[1] = 1, [2] = 2, [4] = 4}",
    "return {n = 1, [\"\\255\"] = \"\\0\\255\"}",
    "return string.rep('x', 100000)",
    "return table.unpack({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})",
    "return select('#', ...)",
    "return {[math.mininteger] = 1, [math.maxinteger] = 2, [0] = 0}",
    "return x, y",
];

/// Lua source for a byte string: printable ASCII kept, everything else escaped.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &byte in bytes {
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\{byte:03}")),
        }
    }
    out.push('"');
    out
}

fn select(options: &'static [&'static str]) -> S {
    prop::sample::select(options).prop_map(String::from).boxed()
}

fn quoted_pieces(pieces: &'static [&'static str], max: usize) -> S {
    prop::collection::vec(prop::sample::select(pieces), 0..max)
        .prop_map(|pieces| quote(pieces.concat().as_bytes()))
        .boxed()
}

fn float_literal(x: f64) -> String {
    if x.is_nan() {
        "(0/0)".into()
    } else if x.is_infinite() {
        if x > 0.0 { "(1/0)" } else { "(-1/0)" }.into()
    } else {
        // Debug keeps the exponent short and always marks a float ("1.0", "1e300").
        format!("({x:?})")
    }
}

fn number_leaf() -> S {
    prop_oneof![
        6 => select(NUMBERS),
        2 => any::<i64>().prop_map(|i| if i == i64::MIN {
            "math.mininteger".into()
        } else {
            format!("({i})")
        }),
        2 => any::<f64>().prop_map(float_literal),
        2 => (-3i64..300).prop_map(|i| format!("({i})")),
    ]
    .boxed()
}

fn small_int() -> S {
    prop_oneof![
        6 => (0i64..10).prop_map(|i| i.to_string()),
        2 => (-3i64..40).prop_map(|i| format!("({i})")),
        1 => Just("1000".to_string()),
    ]
    .boxed()
}

fn string_leaf() -> S {
    prop_oneof![
        5 => prop::sample::select(STRINGS).prop_map(|s| quote(s.as_bytes())),
        2 => prop::sample::select(BYTE_STRINGS).prop_map(quote),
        2 => prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| quote(&b)),
        // In parentheses: `t[[[x]]]` would open a long bracket at the index's `[`.
        1 => Just("([[long\nbracket ]=] string]])".to_string()),
        1 => Just("([==[\n]]\0]==])".to_string()),
    ]
    .boxed()
}

/// Values that make library loops long without costing memory.
fn long_value() -> S {
    // {1, [2] = 1, [4] = 1, ..., [2^40] = 1}: 41 elements, length 2^40.
    let sparse: String = (1..=40).map(|k| format!(", [{}] = 1", 1u64 << k)).collect();
    prop_oneof![
        Just(format!("{{1{sparse}}}")),
        Just("setmetatable({}, {__len = function() return 2^40 end})".to_string()),
        Just(
            "setmetatable({}, {__index = table.concat, __newindex = rawequal, \
             __len = function() return 2^31 - 2 end})"
                .to_string()
        ),
        Just(
            "setmetatable({}, {__index = tostring, __len = function() return 1e6 end})".to_string()
        ),
        Just("string.rep('ab', 5000)".to_string()),
    ]
    .boxed()
}

fn leaf() -> S {
    prop_oneof![
        3 => number_leaf(),
        3 => string_leaf(),
        4 => select(VARS),
        1 => select(&["nil", "true", "false", "...", "{}", "G1", "_G", "_ENV"]),
        1 => select(FUNCTION_NAMES),
        1 => long_value(),
    ]
    .boxed()
}

/// Strategies for the holes of a template (`$e`, `$n`, ...), given the strategies for
/// sub-expressions and for function bodies.
#[derive(Clone)]
struct Holes {
    e: S,
    n: S,
    i: S,
    s: S,
    p: S,
    r: S,
    fmt: S,
    pack: S,
    date: S,
    gc: S,
    time: S,
    load: S,
    f: S,
    t: S,
    meta: S,
    /// Arguments, maybe none.
    v: S,
    /// More arguments after others: empty or starting with ", ".
    more: S,
    close: S,
    /// The block of a nested statement (a loop block inside loops).
    body: S,
    /// The block of a function (never a loop block).
    function_body: S,
    loop_body: S,
}

impl Holes {
    fn new(sub: &S, body: &S, loop_body: &S) -> Holes {
        let sub = sub.clone();
        let body = body.clone();
        let n = prop_oneof![4 => number_leaf(), 2 => small_int(), 1 => Just("n".to_string()), 1 => sub.clone()].boxed();
        let i = prop_oneof![8 => small_int(), 1 => number_leaf(), 1 => sub.clone()].boxed();
        let s = prop_oneof![
            6 => string_leaf(),
            2 => select(&["s", "c"]),
            1 => sub.clone(),
            1 => (string_leaf(), 0u32..3000).prop_map(|(s, k)| format!("string.rep({s}, {k})")),
        ]
        .boxed();
        let p = prop_oneof![
            6 => quoted_pieces(PATTERN_PIECES, 7),
            1 => string_leaf(),
            1 => sub.clone(),
            1 => Just("utf8.charpattern".to_string()),
            1 => (1usize..8).prop_map(|k| quote(format!("{}b", "a*".repeat(k)).as_bytes())),
        ]
        .boxed();
        let function = (body.clone(), select(&["x, y, ...", "...", "x, ..."]))
            .prop_map(|(body, params)| format!("function({params}) {body} end"))
            .boxed();
        let f = prop_oneof![
            4 => function.clone(),
            2 => select(FUNCTION_NAMES),
            1 => sub.clone(),
        ]
        .boxed();
        let r = prop_oneof![
            4 => quoted_pieces(REPL_PIECES, 5),
            1 => string_leaf(),
            2 => f.clone(),
            1 => select(&["t", "u", "{}", "{a = 1, b = false}", "{hello = {}}"]),
            1 => sub.clone(),
        ]
        .boxed();
        let fmt = prop_oneof![6 => quoted_pieces(FORMAT_PIECES, 5), 1 => string_leaf()].boxed();
        let pack = prop_oneof![6 => quoted_pieces(PACK_PIECES, 5), 1 => string_leaf()].boxed();
        let date = prop_oneof![
            4 => prop::sample::select(DATE_FORMATS).prop_map(|s| quote(s.as_bytes())),
            1 => string_leaf(),
            1 => Just("nil".to_string())
        ]
        .boxed();
        let time = prop::collection::vec(
            (
                prop::sample::select(&["year", "month", "day", "hour", "min", "sec", "isdst"][..]),
                n.clone(),
            ),
            0..7,
        )
        .prop_map(|fields| {
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            format!("{{{}}}", fields.join(", "))
        })
        .boxed();
        let v = prop::collection::vec(sub.clone(), 0..4)
            .prop_map(|values| values.join(", "))
            .boxed();
        let more = prop::collection::vec(sub.clone(), 0..4)
            .prop_map(|values| values.iter().map(|v| format!(", {v}")).collect())
            .boxed();
        let field = prop_oneof![
            3 => sub.clone(),
            2 => (select(VARS), sub.clone()).prop_map(|(k, v)| format!("{k} = {v}")),
            2 => (sub.clone(), sub.clone()).prop_map(|(k, v)| format!("[{k}] = {v}")),
            1 => Just("...".to_string()),
        ];
        let ctor = prop::collection::vec(field, 0..6)
            .prop_map(|fields| format!("{{{}}}", fields.join(", ")))
            .boxed();
        let t = prop_oneof![
            3 => select(&["t", "u", "{}", "{3, 1, 2}", "{'b', 'a', 'c'}", "_G", "string"]),
            3 => ctor.clone(),
            1 => long_value(),
            1 => sub.clone(),
        ]
        .boxed();
        let metamethod = (
            prop::sample::select(
                &[
                    "__index",
                    "__newindex",
                    "__call",
                    "__tostring",
                    "__eq",
                    "__lt",
                    "__le",
                    "__len",
                    "__concat",
                    "__close",
                    "__add",
                    "__unm",
                    "__idiv",
                    "__band",
                    "__shl",
                    "__bnot",
                    "__mod",
                    "__div",
                    "__pow",
                    "__pairs",
                    "__index",
                    "__call",
                    "__tostring",
                    "__lt",
                ][..],
            ),
            f.clone(),
        )
            .prop_map(|(k, v)| format!("{k} = {v}"));
        let metafield = prop_oneof![
            8 => metamethod,
            1 => string_leaf().prop_map(|s| format!("__name = {s}")),
            1 => select(&["__mode = 'k'", "__mode = 'v'", "__mode = 'kv'", "__mode = 1"]),
            1 => sub.clone().prop_map(|v| format!("__metatable = {v}")),
            1 => sub.clone().prop_map(|v| format!("__index = {v}")),
            1 => select(&["__index = t", "__newindex = t", "__index = mt", "__index = string"]),
            1 => f.clone().prop_map(|v| format!("__gc = {v}")),
        ];
        let meta = prop_oneof![
            6 => prop::collection::vec(metafield, 0..5)
                .prop_map(|fields| format!("{{{}}}", fields.join(", "))),
            1 => select(&["mt", "nil", "{}", "getmetatable('')"]),
            1 => sub.clone(),
        ]
        .boxed();
        let close = prop_oneof![
            4 => function.clone().prop_map(|f| format!("setmetatable({{}}, {{__close = {f}}})")),
            1 => select(&["nil", "false", "t"]),
            1 => sub.clone(),
        ]
        .boxed();
        let load = prop_oneof![
            3 => body.clone().prop_map(|b| quote(b.as_bytes())),
            2 => sub.clone().prop_map(|e| quote(format!("return {e}").as_bytes())),
            2 => prop::collection::vec(prop::sample::select(LOAD_TOKENS), 0..12)
                .prop_map(|tokens| quote(tokens.concat().as_bytes())),
            1 => string_leaf(),
            1 => sub.clone(),
        ]
        .boxed();
        Holes {
            e: sub,
            n,
            i,
            s,
            p,
            r,
            fmt,
            pack,
            date,
            gc: select(GC_OPTIONS),
            time,
            load,
            f,
            t,
            meta,
            v,
            more,
            close,
            function_body: body.clone(),
            body,
            loop_body: loop_body.clone(),
        }
    }

    fn get(&self, hole: char) -> S {
        match hole {
            'e' => self.e.clone(),
            'n' => self.n.clone(),
            'i' => self.i.clone(),
            's' => self.s.clone(),
            'p' => self.p.clone(),
            'r' => self.r.clone(),
            'F' => self.fmt.clone(),
            'k' => self.pack.clone(),
            'D' => self.date.clone(),
            'c' => self.gc.clone(),
            'T' => self.time.clone(),
            'L' => self.load.clone(),
            'f' => self.f.clone(),
            't' => self.t.clone(),
            'M' => self.meta.clone(),
            'v' => self.v.clone(),
            'V' => self.more.clone(),
            'C' => self.close.clone(),
            'B' => self.body.clone(),
            'b' => self.function_body.clone(),
            'W' => self.loop_body.clone(),
            'N' => select(VARS),
            'G' => select(GLOBALS),
            _ => panic!("unknown hole ${hole}"),
        }
    }
}

/// A template with `$x` holes filled from `holes`.
fn template(text: &'static str, holes: &Holes) -> S {
    let mut literals = vec![String::new()];
    let mut parts = Vec::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '$' {
            let hole = chars.next().expect("hole name");
            parts.push(holes.get(hole));
            literals.push(String::new());
        } else {
            literals.last_mut().unwrap().push(ch);
        }
    }
    parts
        .prop_map(move |values| {
            let mut out = literals[0].clone();
            for (value, literal) in values.iter().zip(&literals[1..]) {
                out.push_str(value);
                out.push_str(literal);
            }
            out
        })
        .boxed()
}

fn templates(texts: &'static [&'static str], holes: &Holes) -> S {
    Union::new(texts.iter().map(|text| template(text, holes))).boxed()
}

/// Calls into the sandboxed library: valid as expressions and as statements.
const CALLS: &[&str] = &[
    // string
    "string.rep($s, $i)",
    "string.rep($s, $i, $s)",
    "string.rep($s, $n)",
    "string.rep($s, $n, $s)",
    "string.format($F$V)",
    "string.format($F, $n, $s, $n)",
    "string.format('%q', $e)",
    "string.format('%5.1s|%-3d|%g', $s, $n, $n)",
    "string.find($s, $p)",
    "string.find($s, $p, $n)",
    "string.find($s, $p, $i, true)",
    "string.find($s, $s)",
    "string.find(string.rep($s, $i), $p)",
    "string.match($s, $p)",
    "string.match($s, $p, $n)",
    "string.match(string.rep('a', 3000), $p)",
    "string.gmatch($s, $p)",
    "string.gsub($s, $p, $r)",
    "string.gsub($s, $p, $r, $n)",
    "string.gsub(string.rep($s, $i), $p, $r)",
    "string.byte($s, $n, $n)",
    "string.byte($s, $i)",
    "string.char($i, $i, $n)",
    "string.char($v)",
    "string.sub($s, $n, $n)",
    "string.sub($s, $i)",
    "string.upper($s)",
    "string.lower($s)",
    "string.len($s)",
    "string.reverse($s)",
    "string.pack($k$V)",
    "string.pack($k, $n, $n, $s)",
    "string.unpack($k, $s)",
    "string.unpack($k, string.pack($k, $n, $n), $i)",
    "string.packsize($k)",
    "($s):rep($i)",
    "($s):upper()",
    "($s):byte(1, -1)",
    "($s):find($p)",
    "($s):gsub($p, $r)",
    "($s):format($v)",
    "tostring($e)",
    "tonumber($e)",
    "tonumber($s, $i)",
    "tonumber($s, $n)",
    // Scribunto's mw (programs run with it: `run_program`)
    "mw.ustring.find($s, $p)",
    "mw.ustring.find($s, $p, $n, true)",
    "mw.ustring.find(string.rep($s, $i), $p)",
    "mw.ustring.match($s, $p, $n)",
    "mw.ustring.gmatch($s, $p)",
    "mw.ustring.gsub($s, $p, $r)",
    "mw.ustring.gsub(string.rep($s, $i), $p, $r, $n)",
    "mw.ustring.sub($s, $n, $n)",
    "mw.ustring.len($s)",
    "mw.ustring.upper($s)",
    "mw.ustring.lower(string.rep($s, $i))",
    "mw.ustring.char($i, $i, $n)",
    "mw.ustring.codepoint($s, $n, $n)",
    "mw.ustring.byteoffset($s, $n, $n)",
    "mw.ustring.toNFD($s)",
    "mw.ustring.rep($s, $n)",
    "mw.text.split($s, $p)",
    "mw.text.trim($s)",
    "mw.text.encode($s)",
    "mw.text.nowiki($s)",
    "mw.text.jsonEncode($t)",
    "mw.text.jsonDecode($s)",
    "mw.text.truncate($s, $n)",
    "mw.clone($t)",
    "mw.dumpObject($t)",
    "mw.log($v)",
    "tostring(mw.html.create('div'):wikitext($s):css($s, $s))",
    "mw.uri.encode($s)",
    "mw.title.new($s)",
    "unpack($t)",
    // table
    "table.insert($t, $e)",
    "table.insert($t, $n, $e)",
    "table.remove($t)",
    "table.remove($t, $n)",
    "table.sort($t)",
    "table.sort($t, $f)",
    "table.sort($t, function(p, q) return p > q end)",
    "table.sort({5, 3, 8, 1, 9, 2, 7, 3, 3, 6, 1}, $f)",
    "table.concat($t)",
    "table.concat($t, $s, $n, $n)",
    "table.unpack($t)",
    "table.unpack($t, $n, $n)",
    "table.move($t, $n, $n, $n)",
    "table.move($t, $i, $i, $i, $t)",
    "table.pack($v)",
    // math
    "math.abs($n)",
    "math.ceil($n)",
    "math.floor($n)",
    "math.fmod($n, $n)",
    "math.log($n, $n)",
    "math.max($n$V)",
    "math.min($n, $n)",
    "math.modf($n)",
    "math.sqrt($n)",
    "math.tointeger($e)",
    "math.type($e)",
    "math.ult($n, $n)",
    "math.random($n)",
    "math.random($n, $n)",
    "math.random()",
    "math.randomseed($n)",
    "math.exp($n)",
    "math.atan($n, $n)",
    // utf8
    "utf8.char($n, $i)",
    "utf8.char($v)",
    "utf8.codepoint($s, $n, $n)",
    "utf8.codepoint($s, 1, -1, true)",
    "utf8.len($s)",
    "utf8.len($s, $n, $n, $e)",
    "utf8.offset($s, $n, $n)",
    "utf8.codes($s)",
    // coroutine
    "coroutine.create($f)",
    "coroutine.resume($e$V)",
    "coroutine.resume(co$V)",
    "coroutine.resume(coroutine.create($f)$V)",
    "coroutine.yield($v)",
    "coroutine.wrap($f)",
    "coroutine.wrap($f)($v)",
    "coroutine.close($e)",
    "coroutine.close(co)",
    "coroutine.isyieldable()",
    "coroutine.status(co)",
    "coroutine.status($e)",
    "coroutine.running()",
    // base
    "pcall($f$V)",
    "pcall($e$V)",
    "pcall(error, $e)",
    "xpcall($f, $f$V)",
    "xpcall($f, debug.traceback)",
    "xpcall($f, $e)",
    "error($e)",
    "error($e, $n)",
    "load($L)",
    "load($L)($v)",
    "load($L, $s, $s)",
    "load($L, 'c', 't', $t)",
    "load($L, 'c', 'b')",
    "load(function(...) return $e end)",
    "load($f)",
    "load($f, $s, 't', $t)",
    "load(string.gmatch($s, $p))",
    "load(coroutine.wrap(function(...) coroutine.yield($s) coroutine.yield($e) end))",
    "select('#'$V)",
    "select($n$V)",
    "select(-1$V)",
    "next($t)",
    "next($t, $e)",
    "pairs($e)",
    "ipairs($e)",
    "rawget($t, $e)",
    "rawset($t, $e, $e)",
    "rawequal($e, $e)",
    "rawlen($e)",
    "setmetatable($t, $M)",
    "setmetatable({}, $M)",
    "getmetatable($e)",
    "type($e)",
    "assert($e, $e)",
    "collectgarbage($c)",
    "collectgarbage($c, $n)",
    "os.time()",
    "os.time($T)",
    "os.date($D)",
    "os.date($D, $n)",
    "os.clock()",
    "os.difftime($n, $n)",
    "os.difftime(os.time(), $n)",
    "print($v)",
    "print($s, $n, $e)",
    "io.write($v)",
    "io.write($s, $n)",
    "io.write($s):write($n)",
    "debug.traceback($e)",
    "debug.traceback(co)",
    "debug.traceback($s, $n)",
    "debug.traceback(co, $s, $n)",
    // calls of values
    "f($v)",
    "g($v)",
    "($e)($v)",
    "($e):m($v)",
    "($t):insert($e)",
    "($e)[$e]($v)",
    "u($v)",
    "($f)($v)",
];

/// Expressions that are not calls.
const EXPRESSIONS: &[&str] = &[
    "($e + $e)",
    "($e - $e)",
    "($e * $e)",
    "($e / $e)",
    "($e // $e)",
    "($e % $e)",
    "($e ^ $e)",
    "($e .. $e)",
    "($e == $e)",
    "($e ~= $e)",
    "($e < $e)",
    "($e <= $e)",
    "($e > $e)",
    "($e >= $e)",
    "($e and $e)",
    "($e or $e)",
    "($e & $e)",
    "($e | $e)",
    "($e ~ $e)",
    "($e << $e)",
    "($e >> $e)",
    "($n + $n)",
    "($n // $n)",
    "($n % $n)",
    "($n << $i)",
    "($s .. $n)",
    "($n < $s)",
    "(- $e)",
    "(not $e)",
    "(# $e)",
    "(~ $e)",
    "(- $n)",
    "(# $s)",
    "(# $t)",
    "($e)[$e]",
    "($e).x",
    "($t)[$n]",
    "t[$i]",
    "$t",
    "$f",
    "$M",
    "{...}",
    "select('#', ...)",
    "utf8.charpattern",
    "(...)",
];

const STATEMENTS: &[&str] = &[
    "local $N = $e",
    "local $N, $N = $e, $e",
    "local $N = $e, $e",
    "local k1 <const> = $e",
    "local c1 <close> = $C",
    "local c2 <close> = $C; local c3 <close> = $C",
    "$N = $e",
    "$N, $N = $e, $e",
    "$G = $e",
    "t[$e] = $e",
    "($e)[$e] = $e",
    "($e).x = $e",
    "t.x, u.y = $e, $e",
    "do $B end",
    "if $e then $B end",
    "if $e then $B else $B end",
    "if $e then $B elseif $e then $B else $B end",
    "do local w = 0; while w < $i and ($e) do w = w + 1; $W end end",
    "do local w = 0; repeat w = w + 1; $W until w >= $i or ($e) end",
    "for x = $i, $i do $W end",
    "for x = $i, 1, -1 do $W end",
    "for x = $n, $n, $n do $W end",
    "for x, y in pairs($t) do $W end",
    "for x, y in ipairs($t) do $W end",
    "for x, y in next, $t do $W end",
    "for x in string.gmatch($s, $p) do $W end",
    "for x, y in utf8.codes($s) do $W end",
    "for x in coroutine.wrap($f) do $W end",
    "for x, y in $e do $W end",
    "local function $N(x, y, ...) $b end",
    "function G1(x, ...) $b end",
    "function t.m(x, ...) $b end",
    "function t:m(...) $b end",
    "pcall(function(...) $b end$V)",
    "co = coroutine.create(function(x, ...) $b end)",
    "print(pcall(function(...) $b end$V))",
];

const RARE_STATEMENTS: &[&str] = &[
    "while true do $W end",
    "while $e do $W end",
    "repeat $W until $e",
];

/// Statements only valid inside a loop.
const LOOP_STATEMENTS: &[&str] = &["break", "if $e then break end"];

const BLOCK_ENDS: &[&str] = &[
    "return",
    "return $e",
    "return $v",
    "return ($f)($v)",
    "return ...",
    "return $e, ...",
];

#[derive(Clone)]
struct Level {
    expr: S,
    block: S,
    loop_block: S,
}

fn join_block(statements: Vec<String>, end: Option<String>) -> String {
    let mut out = statements.join("; ");
    if let Some(end) = end {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&end);
    }
    out
}

fn block(statement: S, end: S, max: usize) -> S {
    (
        prop::collection::vec(statement, 0..max),
        prop::option::weighted(0.25, end),
    )
        .prop_map(|(statements, end)| join_block(statements, end))
        .boxed()
}

/// Expressions and blocks nested up to `depth` levels.
fn level(depth: u32) -> Level {
    if depth == 0 {
        let expr = leaf();
        let simple = prop_oneof![
            (select(VARS), leaf()).prop_map(|(v, e)| format!("{v} = {e}")),
            leaf().prop_map(|e| format!("print({e})")),
            leaf().prop_map(|e| format!("io.write({e})")),
            leaf().prop_map(|e| format!("coroutine.yield({e})")),
            leaf().prop_map(|e| format!("error({e})")),
        ]
        .boxed();
        let end = leaf().prop_map(|e| format!("return {e}")).boxed();
        let loop_statement =
            prop_oneof![4 => simple.clone(), 1 => Just("break".to_string())].boxed();
        return Level {
            block: block(simple, end.clone(), 3),
            loop_block: block(loop_statement, end, 3),
            expr,
        };
    }
    let prev = level(depth - 1);
    let holes = Holes::new(&prev.expr, &prev.block, &prev.loop_block);
    let expr = Union::new_weighted(vec![
        (6, leaf()),
        (4, templates(EXPRESSIONS, &holes)),
        (4, templates(CALLS, &holes)),
    ])
    .boxed();
    let stmt_holes = Holes::new(&expr, &prev.block, &prev.loop_block);
    let calls = templates(CALLS, &stmt_holes);
    let statements = templates(STATEMENTS, &stmt_holes);
    let rare = templates(RARE_STATEMENTS, &stmt_holes);
    let statement = Union::new_weighted(vec![
        (4, calls.clone()),
        (6, statements.clone()),
        (1, rare.clone()),
    ])
    .boxed();
    // Inside loops, nested blocks may break: same statements with `$B` as a loop block.
    let loop_holes = Holes {
        body: prev.loop_block.clone(),
        ..stmt_holes.clone()
    };
    let loop_statement = Union::new_weighted(vec![
        (4, calls),
        (6, templates(STATEMENTS, &loop_holes)),
        (1, rare),
        (1, templates(LOOP_STATEMENTS, &stmt_holes)),
    ])
    .boxed();
    let end = templates(BLOCK_ENDS, &stmt_holes);
    Level {
        expr,
        block: block(statement, end.clone(), 4),
        loop_block: block(loop_statement, end, 4),
    }
}

/// A whole program: the prelude, top-level statements (some under `pcall`), maybe a return.
fn program() -> impl Strategy<Value = String> {
    let top = level(3);
    let holes = Holes::new(&top.expr, &top.block, &top.loop_block);
    let statement = Union::new_weighted(vec![
        (4, templates(STATEMENTS, &holes)),
        (3, templates(CALLS, &holes)),
        // Protected, so that one runtime error does not end the whole program.
        (
            4,
            Union::new(vec![
                templates(STATEMENTS, &holes),
                templates(CALLS, &holes),
            ])
            .prop_map(|s| format!("pcall(function(...) {s} end)"))
            .boxed(),
        ),
        (
            2,
            top.block
                .clone()
                .prop_map(|b| format!("print(pcall(function(...) {b} end))"))
                .boxed(),
        ),
        (1, templates(RARE_STATEMENTS, &holes)),
    ]);
    let end = prop_oneof![
        2 => select(RETURNS),
        1 => templates(BLOCK_ENDS, &holes),
    ];
    (
        prop::collection::vec(statement, 1..14),
        prop::option::weighted(0.4, end),
    )
        .prop_map(|(mut statements, end)| {
            statements.extend(end);
            format!("{PRELUDE}{}\n", statements.join(";\n"))
        })
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop_oneof![
            64usize << 10..256 << 10,
            256usize << 10..1 << 20,
            1usize << 20..8 << 20
        ],
        5u32..=50,
        prop_oneof![1 => Just(0usize), 8 => 0usize..=4096],
    )
        .prop_map(|(memory_bytes, time_ms, output_bytes)| Limits {
            memory_bytes,
            time_ms: time_ms as f64,
            output_bytes,
        })
}

/// Output is at most `limit` bytes before invalid UTF-8 became U+FFFD: each U+FFFD stands
/// for at least one byte, so the bytes before were at least `len - 2 * replacements`.
fn check_output(output: &str, limit: usize) -> Result<(), TestCaseError> {
    let replacements = output.matches('\u{fffd}').count();
    prop_assert!(
        output.len() - 2 * replacements <= limit,
        "output of {} bytes ({} U+FFFD) over the limit of {}",
        output.len(),
        replacements,
        limit
    );
    Ok(())
}

fn check_value(value: &LuaValue, depth: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        depth <= 101,
        "value nested deeper than the conversion allows"
    );
    match value {
        LuaValue::Array(items) => {
            prop_assert!(!items.is_empty(), "an empty table converts to an object");
            for item in items {
                check_value(item, depth + 1)?;
            }
        }
        LuaValue::Object(entries) => {
            for (_, item) in entries {
                check_value(item, depth + 1)?;
            }
        }
        LuaValue::Opaque(name) => {
            prop_assert!(["function", "thread", "userdata"].contains(name));
        }
        _ => {}
    }
    Ok(())
}

fn check_error(error: &RunError, limits: &Limits, elapsed_ms: f64) -> Result<(), TestCaseError> {
    check_output(&error.output, limits.output_bytes)?;
    // Only a script's own error can be empty (`error("")`).
    prop_assert!(!error.message.is_empty() || error.kind == ErrorKind::Runtime);
    prop_assert_ne!(error.message.as_str(), "internal error in pubwiki-lua");
    match error.kind {
        ErrorKind::Syntax => {
            prop_assert!(error.traceback.is_empty(), "syntax error with a traceback");
            prop_assert!(error.output.is_empty(), "syntax error after output");
            prop_assert!(error.message.starts_with("fuzz:"), "{}", error.message);
            // Generated programs are valid Lua: only the compiler's own limits may refuse them.
            prop_assert!(
                [
                    "too many",
                    "overflow",
                    "too complex",
                    "control structure too long"
                ]
                .iter()
                .any(|limit| error.message.contains(limit)),
                "generated program is not valid Lua: {}",
                error.message
            );
        }
        ErrorKind::Memory => {
            let expected = format!(
                "not enough memory (memory limit is {} bytes)",
                limits.memory_bytes
            );
            // Or a value whose copy for the host would not fit (convert.rs).
            let too_big = format!(
                "cannot be converted: its copy would take more than the memory limit ({} bytes)",
                limits.memory_bytes
            );
            prop_assert!(
                error.message.contains(&expected) || error.message.contains(&too_big),
                "{}",
                error.message
            );
        }
        ErrorKind::Timeout => {
            let expected = format!("time limit exceeded ({} ms)", limits.time_ms);
            prop_assert!(error.message.contains(&expected), "{}", error.message);
            prop_assert!(
                elapsed_ms >= limits.time_ms,
                "timeout after {elapsed_ms} ms, before the limit"
            );
        }
        ErrorKind::Output => {
            let expected = format!("output limit exceeded ({} bytes)", limits.output_bytes);
            prop_assert!(error.message.contains(&expected), "{}", error.message);
            // The output, or mw.log's log, reached the limit.
            if !error.output.contains('\u{fffd}') && !error.log.contains('\u{fffd}') {
                prop_assert!(
                    error.output.len() == limits.output_bytes
                        || error.log.len() == limits.output_bytes,
                    "output limit with {} bytes of output and {} of log",
                    error.output.len(),
                    error.log.len()
                );
            }
        }
        ErrorKind::Runtime => {
            prop_assert!(
                !error.traceback.is_empty() || error.message.starts_with("return value #"),
                "runtime error without a traceback: {}",
                error.message
            );
        }
    }
    Ok(())
}

static STATS: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

fn count(outcome: &'static str) {
    if std::env::var_os("FUZZ_PROGRAMS_STATS").is_none() {
        return;
    }
    let mut stats = STATS.lock().unwrap();
    *stats.entry(outcome).or_default() += 1;
    let total: u64 = stats.values().sum();
    if total.is_multiple_of(500) {
        eprintln!("{total} programs: {stats:?}");
    }
}

/// Runs a program with Scribunto's `mw` (no host: its modules are not found).
fn run_program(code: &str, limits: &Limits) -> Result<RunOutput, RunError> {
    let spec = CallSpec::chunk(code, "fuzz")
        .limits(limits.clone())
        .pool(ArenaPool::shared_with_mw())
        .mw({
            let mut empty = pubwiki_lua_core::wire::Writer::new();
            empty.table(0);
            empty.into_bytes()
        });
    Call::new(spec, monotonic_ms).run_to_end()
}

fn check_program(code: &str, limits: &Limits) -> Result<(), TestCaseError> {
    if let Some(path) = std::env::var_os("FUZZ_PROGRAMS_LAST") {
        let _ = std::fs::write(path, format!("-- {limits:?}\n{code}"));
    }
    let started = Instant::now();
    let result = run_program(code, limits);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    prop_assert!(
        elapsed_ms <= 2.0 * limits.time_ms + SLACK_MS,
        "call took {elapsed_ms} ms with a limit of {} ms",
        limits.time_ms
    );
    match &result {
        Ok(done) => {
            check_output(&done.output, limits.output_bytes)?;
            for value in &done
                .values
                .decode()
                .map_err(|e| TestCaseError::fail(e.to_string()))?
            {
                check_value(value, 0)?;
            }
            count("ok");
        }
        Err(error) => {
            check_error(error, limits, elapsed_ms)?;
            if std::env::var_os("FUZZ_PROGRAMS_MESSAGES").is_some() {
                eprintln!("MSG {:?} {}", error.kind, error.message);
            }
            count(error.kind.as_str());
        }
    }
    if elapsed_ms > 2.0 * limits.time_ms + 50.0 && std::env::var_os("FUZZ_PROGRAMS_STATS").is_some()
    {
        eprintln!(
            "slow: {elapsed_ms:.0} ms (limit {} ms): {:?}\n{code}",
            limits.time_ms,
            result.as_ref().map_err(|e| e.kind)
        );
    }
    // The next call always works.
    prop_assert_eq!(
        run(b"print(1)", "after", &Limits::default())
            .unwrap()
            .output,
        "1\n"
    );
    Ok(())
}

/// A tiny grammar expanded by a list of choices: `$X` is replaced by one of `X`'s
/// alternatives (the next choice picks which), at most `depth` levels deep (then the
/// first alternative, which has no holes).
fn expand(grammar: &[(char, &[&str])], start: char, choices: &[u8], depth: usize) -> String {
    fn go(
        grammar: &[(char, &[&str])],
        hole: char,
        choices: &mut std::slice::Iter<u8>,
        depth: usize,
    ) -> String {
        let options = grammar.iter().find(|(name, _)| *name == hole).unwrap().1;
        let pick = if depth == 0 {
            0
        } else {
            *choices.next().unwrap_or(&0) as usize % options.len()
        };
        let mut out = String::new();
        let mut chars = options[pick].chars();
        while let Some(c) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            let inner = chars.next().unwrap();
            out.push_str(&go(grammar, inner, choices, depth.saturating_sub(1)));
        }
        out
    }
    go(grammar, start, &mut choices.iter(), depth)
}

/// Programs that run Lua code after a limit fired: a trigger (`$T`: a loop, an allocation,
/// output) inside a context that runs more code as the limit's error unwinds or after it
/// (`$H`: to-be-closed handlers, message handlers, closing the coroutine that died of it,
/// coroutines started from handlers, errors whose `__tostring` loops).
const AFTER_LIMIT: &[(char, &[&str])] = &[
    (
        'P',
        &[
            "local co $C",
            "local co $C $C",
            "local co for i = 1, 3 do $C end",
        ],
    ),
    (
        'T',
        &[
            "while true do end",
            "local s = string.rep('x', 2^30)",
            "while true do io.write('xxxxxxxx') end",
            "for i = 1, math.huge do end",
            "local t = {} while true do t[#t + 1] = {} end",
            "error('plain')",
            "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local _ = t.x",
            "string.find(string.rep('a', 1e4), '.-.-.-.-b')",
        ],
    ),
    (
        'H',
        &[
            "coroutine.close(co)",
            "while true do end",
            "pcall(coroutine.close, co)",
            "coroutine.wrap(function() $T end)()",
            "while true do pcall(function() $T end) end",
            "coroutine.resume(coroutine.create(function() $H end))",
            "error(setmetatable({}, {__tostring = function() $H end}))",
            "local x <close> = setmetatable({}, {__close = function() $H end}) $T",
            "print(setmetatable({}, {__tostring = function() $H end}))",
            "$C",
        ],
    ),
    (
        'C',
        &[
            "co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() $H end}) $T end) \
             pcall(function() local g <close> = setmetatable({}, {__close = function() $H end}) coroutine.resume(co) end)",
            "xpcall(function() $T end, function() $H end)",
            "pcall(function() local g <close> = setmetatable({}, {__close = function() $H end}) $T end) $H",
            "coroutine.wrap(function() local g <close> = setmetatable({}, {__close = function() $H end}) $T end)()",
            "pcall(coroutine.wrap(function() $T end)) $H",
            "co = coroutine.create(function() $T end) coroutine.resume(co) $H",
            "local function f(n) local x <close> = setmetatable({}, {__close = function() $H end}) if n > 0 then f(n - 1) end $T end pcall(f, 20)",
        ],
    ),
];

/// Values that share structure, returned to the host: a table or string referenced many
/// times, DAGs of tables holding the next level twice, sparse and emptied tables.
const SHARED_VALUES: &[(char, &[&str])] = &[
    ('P', &["local v = $V return $R", "local v = $V local w = $V return $R, $R"]),
    (
        'V',
        &[
            "1",
            "string.rep('x', $N)",
            "{}",
            "{v, v}",
            "{a = v, b = {v}}",
            "(function() local t = {} for i = 1, $L do t = {t, t} end return t end)()",
            "(function() local t = {} for i = 1, $N do t[i] = v end return t end)()",
            "(function() local e = {} for i = 1, $N do e[i] = true end for i = 1, $N do e[i] = nil end return e end)()",
            "setmetatable({v, v}, {__index = function() while true do end end})",
            "$V",
        ],
    ),
    ('R', &["v", "{v, v, v}", "{v, {v, {v}}}", "w", "$V"]),
    ('N', &["3", "100", "1000", "1e4", "1e5", "2^20"]),
    ('L', &["2", "10", "20", "26", "40"]),
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz_programs.txt",
        ))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn programs_that_run_code_after_a_limit_end_in_time(
        choices in prop::collection::vec(any::<u8>(), 64),
        limits in limits(),
    ) {
        let code = expand(AFTER_LIMIT, 'P', &choices, 4);
        if std::env::var_os("FUZZ_PROGRAMS_SHOW").is_some() {
            eprintln!("----\n{code}");
        }
        check_program(&code, &limits)?;
    }

    #[test]
    fn values_that_share_structure_convert_in_time(
        choices in prop::collection::vec(any::<u8>(), 32),
        limits in limits(),
    ) {
        let code = expand(SHARED_VALUES, 'P', &choices, 4);
        if std::env::var_os("FUZZ_PROGRAMS_SHOW").is_some() {
            eprintln!("----\n{code}");
        }
        check_program(&code, &limits)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        // Integration tests have no lib.rs beside them for the default persistence to find.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz_programs.txt",
        ))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn generated_programs_end_in_a_consistent_result(code in program(), limits in limits()) {
        if std::env::var_os("FUZZ_PROGRAMS_SHOW").is_some() {
            eprintln!("----\n{code}");
        }
        check_program(&code, &limits)?;
    }
}
