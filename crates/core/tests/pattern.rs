//! The Rust pattern matcher (`string.find`, `match`, `gmatch`, `gsub`) against the real
//! Lua 5.4 (`lua5.4` on PATH, e.g. Debian's `lua5.4` package): every case runs in both and
//! must print the same. Without the binary the comparison is skipped with a note (`LUA54`
//! names another binary). For a long local run of the generated cases:
//! `PATTERN_BATCHES=1000 PATTERN_SEED=7 cargo test --release -p pubwiki-lua-core --test pattern`.
//! Also: pathological patterns end with the time limit instead of running for hours.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pubwiki_lua_core::{run, ErrorKind, Limits};

/// Helpers shared by all cases. `show` prints every value (strings quoted) and the count.
const PRELUDE: &str = r#"
local function show(...)
  local t = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    t[i] = type(v) == 'string' and string.format('%q', v) or tostring(v)
  end
  print(select('#', ...), table.concat(t, ' '))
end
function F(...) show(pcall(string.find, ...)) end
function M(...) show(pcall(string.match, ...)) end
function S(...) show(pcall(string.gsub, ...)) end
function G(s, p, init)
  local ok, it = pcall(string.gmatch, s, p, init)
  if not ok then show(ok, it) return end
  for _ = 1, 200 do
    local r = table.pack(pcall(it))
    show(table.unpack(r, 1, r.n))
    if not r[1] or r[2] == nil then return end
  end
  print('too many')
end
local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
ALL = table.concat(all)
"#;

/// Hand-written cases: each line is one chunk (after the prelude).
const CASES: &[&str] = &[
    // find: plain and special, init, plain flag, arguments
    "F('hello world', 'o')",
    "F('hello world', 'o', 6)",
    "F('hello world', 'o', -3)",
    "F('hello world', 'o', -100)",
    "F('hello world', 'o', 0)",
    "F('hello world', 'o', 100)",
    "F('hello world', 'l', 4, true)",
    "F('hello', '', 6)",
    "F('hello', '', 7)",
    "F('hello', '', -1)",
    "F('hello', '', 100)",
    "F('hello', 'l+')",
    "F('a.b', '.', 1, true)",
    "F('a.b', '%.')",
    "F('a+b', '+', 1, true)",
    "F('a+b', 'a+b')",
    "F('a+b', 'a%+b')",
    "F('a+b', 'a+b', 1, 1)",
    "F('aXb', 'x', 1, nil)",
    "F('a.b', '.', 2, false)",
    "F('', '')",
    "F('', 'x*')",
    "F('', '^$')",
    "F('abc', '^b')",
    "F('abc', '^a')",
    "F('abc', '^b', 2)",
    "F('abc', 'c$')",
    "F('abc', 'b$')",
    "F('a$c', '$c')",
    "F('a$c', 'a$c')",
    "F('abc', '^')",
    "F('hello world', '(o)(r)')",
    "F('hello world', '()o()')",
    "F('key=value', '(%w+)=(%w+)')",
    "F('abc', '(x)')",
    "F('abc', 'b', 1.0)",
    "F('abc', 'b', 1.5)",
    "F('abc', 'b', '2')",
    "F('abc', 'b', 'x')",
    "F(nil, 'a')",
    "F('a')",
    "F('a', {})",
    "F(12345, 34)",
    "F(1.5, '.', 1, true)",
    "F('a\\0b', '\\0')",
    "F('a\\0b', '%z')",
    "F('a\\0b', '[\\0]')",
    "F('a\\0b\\0', 'b\\0$')",
    "F('abcabc', 'abc', 2, true)",
    "F('aaab', 'aab', 1, true)",
    "F('abc', 'abcd', 1, true)",
    "F('abc', 'x[')",
    "F('xbc', 'x[')",
    "F('hello', 'l', math.mininteger)",
    "F('hello', 'l', math.maxinteger)",
    "print(('hello'):find('l'), ('x'):match('.'))",
    "print(pcall(function() return ('x'):find({}) end))",
    "print(pcall(function() return string.find('x') end))",
    "print(pcall(function() return ('x'):gsub('x', true) end))",
    // character classes over all 256 bytes, and their complements
    "S(ALL, '%a', '')", "S(ALL, '%A', '')",
    "S(ALL, '%c', '')", "S(ALL, '%C', '')",
    "S(ALL, '%d', '')", "S(ALL, '%D', '')",
    "S(ALL, '%g', '')", "S(ALL, '%G', '')",
    "S(ALL, '%l', '')", "S(ALL, '%L', '')",
    "S(ALL, '%p', '')", "S(ALL, '%P', '')",
    "S(ALL, '%s', '')", "S(ALL, '%S', '')",
    "S(ALL, '%u', '')", "S(ALL, '%U', '')",
    "S(ALL, '%w', '')", "S(ALL, '%W', '')",
    "S(ALL, '%x', '')", "S(ALL, '%X', '')",
    "S(ALL, '%z', '')", "S(ALL, '%.', '')",
    "S(ALL, '.', '')",
    "S(ALL, '[%a_]', '')",
    "S(ALL, '[^%s%d]', '')",
    "S(ALL, '[\\128-\\255]', '')",
    "S(ALL, '[%W%d]', '')",
    // sets
    "M('hello]', '[]]')",
    "M('a-b', '[a-]+')",
    "M('a-b', '[-a]+')",
    "M('b-', '[%-]')",
    "M('abc', '[a-c]+')",
    "M('abc', '[c-a]+')",
    "M('x^', '[x^]+')",
    "M('^x', '[^^]')",
    "M('abc', '[^]')",
    "M('a]', '[^]]')",
    "M('abc', '[')",
    "M('abc', '[a')",
    "M('abc', '[a%')",
    "M('abc', '[a%]')",
    "M('abc', '[%a-z]+')",
    "M('a-z', '[%a-z]+')",
    "M('z]', '[%]]')",
    "M('\\255\\128a', '[\\128-\\255]+')",
    "M('\\195\\169a', '[^\\0-\\127]+')",
    "M('A1_', '[%w_]+')",
    "M('  x', '[%s]*()')",
    "M('a-', '[a-%%]+')",
    "M('%', '[%%]')",
    "M('a', '[]')",
    "M('a]', '[]a]+')",
    // quantifiers
    "M('aaab', 'a*')",
    "M('aaab', 'a-b')",
    "M('aaab', 'a-')",
    "M('aaab', 'a+')",
    "M('b', 'a+')",
    "M('aaab', 'a?a?b')",
    "M('ab', 'a?b?c?')",
    "M('<a><b>', '<.->')",
    "M('<a><b>', '<.*>')",
    "M('<a><b>', '<(.-)>$')",
    "M('x*', 'x*')",
    "M('*', '*')",
    "M('+', '^+')",
    "M('a', '-')",
    "M('?', '?')",
    "M('aaa', 'a-$')",
    "M('  trim me  ', '^%s*(.-)%s*$')",
    "M('2024-01-15', '(%d+)-(%d+)-(%d+)')",
    "M('abc', 'x*', 4)",
    "M('abc', 'x*', 5)",
    "M('abc', '.', -1)",
    // anchors
    "M('^a', '^^a')",
    "M('a^', 'a^')",
    "M('ab$', 'b$$')",
    "M('a$b', '$b')",
    "M('ab', 'a$b')",
    // %b
    "M('x(a(b)c)y', '%b()')",
    "M('((a)', '%b()')",
    "M('[[x]]', '%b[]')",
    "M('abc', '%b')",
    "M('abc', '%ba')",
    "M('aXa', '%baa')",
    "M('if (a and (b or c)) then', '%b()')",
    "M('))', '%b))')",
    "F('', '%b()')",
    "S('f(a) g(b(c))', '%b()', '[]')",
    "M('(x)y', '%b()y')",
    // %f
    "S('THE (quick) fox', '%f[%a]%a+', 'W')",
    "M('hello', '%f[%l]')",
    "F('hello', '%f[%z]')",
    "F('aaa', '%f[^a]')",
    "F('aaa', '%f[a]')",
    "M('x', '%fx')",
    "M('x', '%f')",
    "M('x', '%f[x')",
    "F('THE', '%f[%u]')",
    "S('hello world', '%f[%w]', '|')",
    "S('hello world', '%f[%W]', '|')",
    "F('a\\0b', '%f[%z]')",
    "F('\\0a', '%f[a]')",
    // captures and back-references
    "M('hello', '(h)(e)(l)(l)(o)')",
    "M('hello', '((h)(e))')",
    "M('hello', '()ll()')",
    "M('hello', '(h)()')",
    "M('hello', '(l)%1')",
    "M('hello', '(l)(%1)')",
    "M('abab', '(ab)%1')",
    "M('aXa', '(.)X%1')",
    "M('abc', '%1')",
    "M('abc', '(a)%2')",
    "M('abc', '(a%1)')",
    "M('abc', '%0')",
    "M('abc', '(a')",
    "M('abc', 'a)')",
    "M('abc', '(()')",
    "M('abc', '())')",
    "M(('a'):rep(40), ('(a)'):rep(33))",
    "M(('a'):rep(40), ('(a)'):rep(32))",
    "M('aa', '()%1')",
    "M('', '()')",
    "M('abc', '(b)()')",
    "M('abcabc', '(a(b)c)%1%2?')",
    "M('x=\"q\"', '([\"\\'])(.-)%1')",
    // limits on nesting
    "M(('a'):rep(300), ('a?'):rep(300))",
    "M(('a'):rep(150), ('a?'):rep(150))",
    "F(('a'):rep(100), ('.-'):rep(250) .. 'b')",
    "M(('a'):rep(250), ('a*'):rep(250))",
    // malformed patterns
    "M('a', '%')",
    "M('a%', 'a%')",
    "M('a', '[^')",
    "M('a', '[]')",
    "M('a', '%g')",
    "M('a', '(')",
    "M('a', ')')",
    "M('a', '%b(')",
    // gmatch
    "G('hello world from lua', '%a+')",
    "G('k1=v1, k2=v2', '(%w+)=(%w+)')",
    "G('abc', '')",
    "G('abc', '%a*')",
    "G('abc', 'x*')",
    "G('a,b,,c', '([^,]*)')",
    "G('hello', '()')",
    "G('^a^a', '^a')",
    "G('aaa', '^a')",
    "G('hello world', '%a+', 3)",
    "G('hello world', '%a+', -5)",
    "G('hello', '.', 10)",
    "G('hello', '.', 6)",
    "G('hello', '.', 0)",
    "G('hello', '.', -100)",
    "G('abc', '(a')",
    "G('abc', '%')",
    "G(nil, 'x')",
    "G('abc', 'b', 'x')",
    "G('a1b2c3', '%d')",
    "G('one two', '%f[%w]%w+')",
    "G('', '')",
    "G('ab', '.-')",
    "G('abab', 'b*')",
    "G(123321, 2)",
    "for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do print(k, v) end",
    "local it = ('ab'):gmatch('.') print(it(), it(), it(), it())",
    // gsub with a string replacement
    "S('hello world', 'o', '0')",
    "S('hello world', 'o', '0', 1)",
    "S('hello world', 'o', '0', 0)",
    "S('hello world', 'o', '0', -1)",
    "S('hello world', 'o', '0', 1.0)",
    "S('hello world', 'o', '0', 1.5)",
    "S('hello world', 'o', '0', 'x')",
    "S('hello world', '(o)', '[%1]')",
    "S('hello world', 'o', '[%0]')",
    "S('hello world', 'o', '%%')",
    "S('hello world', 'o', '%')",
    "S('hello world', 'o', 'a%')",
    "S('hello world', 'o', '%x')",
    "S('hello world', 'o', '%2')",
    "S('hello world', '(o)', '%2')",
    "S('hello world', 'o', '%1')",
    "S('hello', '()l', '%1')",
    "S('hello', '(l)(l)', '%2%1')",
    "S('abc', '', '-')",
    "S('abc', '.-', '-')",
    "S('abc', 'x*', '-')",
    "S('abc', '%w*', '-')",
    "S('abc', 'b*', '-')",
    "S('hello world', '%w+', '%0 %0')",
    "S('hello', 'l', 5)",
    "S('hello', 'l', 1.5)",
    "S('hello', 'l+', '%0%0', 1)",
    "S('abc', '^%w', 'X')",
    "S('abc', '^x', 'X')",
    "S('aaa', '^a*', '-')",
    "S('aaa', 'a', '-', 2)",
    "S('', '', 'x')",
    "S('', 'x*', 'y')",
    "S('abc', '$', '!')",
    "S('abc', '^', '!')",
    "S('a b c', ' ', '%%')",
    "S('abc', '(a)(b)(c)', '%3%2%1%0')",
    "S('x', 'x', '%9')",
    "S('x', '(x', '%1')",
    "S('x', '(x', 'y')",
    "S('abc', 'b', '\\0')",
    "S('a\\0c', '%z', 'Z')",
    "S('a\\0c', '\\0', '%0%0')",
    "S(123, 2, 9)",
    "S(3.5, '%.', ',')",
    "S('abc', 'b', '%0', 'x')",
    "S('abc', {}, 'x')",
    "S('hello')",
    "S('hello', 'l')",
    "S('hello', 'l', true)",
    "S('hello', 'l', nil)",
    "S('abc', '(a)(b)', '%2%1%%%0')",
    // gsub with a table
    "S('hello', 'l', {l = 'L'})",
    "S('hello', '.', {h = 1, e = true, l = false})",
    "S('hello', '.', {h = 1, l = false})",
    "S('hello', '(l)(l)', {ll = 'x', l = 'y'})",
    "S('hello', '()', {[1] = 'one', [3] = 'three'})",
    "S('hello', 'x', {})",
    "S('hello', 'l', {l = {}})",
    "S('$x $y', '%$(%w+)', setmetatable({}, {__index = function(_, k) return k:upper() end}))",
    // gsub with a function
    "S('hello world', '%w+', function(w) return w:upper() end)",
    "S('hello world', '%w+', function(w) end)",
    "S('hello world', '%w+', function(w) return false end)",
    "S('hello world', '(%w)(%w*)', function(a, b) return b .. a end)",
    "S('abc', '()', function(p) return p end)",
    "S('abc', '%w', function() return 1.5 end)",
    "S('abc', '%w', function() return {} end)",
    "S('abc', '%w', function() return true end)",
    "S('abc', '%w', function() error('boom') end)",
    "S('abc', '%w', function() error() end)",
    "S('abc', '%w', function(c) return (c:gsub('.', '%0%0')) end)",
    "S('x', '(x', function(...) return 'z' end)",
    "S('abc', '', function(...) return select('#', ...) end)",
    "S('a,b', '(%w)', function(c) return c:find('a') and 'A' end)",
    "local r, n = string.gsub(('ab'):rep(3000), 'a', 'xyz') print(#r, n, r:sub(1, 20), r:sub(-20))",
    "local r, n = string.gsub(('ab'):rep(3000), 'b', function(c) return c:rep(3) end, 2500) print(#r, n, r:sub(-20))",
    "local r, n = string.gsub(('x'):rep(5000), '', '.') print(#r, n)",
    "print(('%d'):rep(3):gsub('%%d', '%%%%'))",
    "print(string.gsub('hello world', 'o', '0', 2))",
    "print(('abc'):gsub('', ''))",
];

/// Pattern fragments for the generated cases.
const PATTERN_TOKENS: &[&str] = &[
    "a", "b", "c", ".", "%a", "%d", "%s", "%w", "%W", "[ab]", "[^a]", "[a-c]", "[%d]", "*", "+",
    "-", "?", "(", ")", "()", "%1", "%2", "%b()", "%f[%w]", "%f[^a]", "^", "$", "%", "[", "]", "x",
    "(a)", "(.-)", ".-", "a*", "%%", " ", "[]", "%0", "[%]]", "[^%]a]", "[a-]", "[-b]", "%]", "%b",
    "%bab", "%f", "%f[", "%f[%z]", "%z", "[%w_]", "(()", "%3", "%9", "%x", "%u", "[^]", "[]a]",
];
const SUBJECT_CHARS: &[u8] = b"aab(b)c1 2x^$%]-_\0A";
/// Fragments and subjects that match more often.
const DENSE_TOKENS: &[&str] = &[
    "a", "b", ".", "a*", "b-", ".-", "(", ")", "%1", "()", "[ab]+", "a?", "^", "$", "%b()", "(a)",
    "%f[b]", "%w+", "[^a]*", "(.)", "%2",
];
const DENSE_CHARS: &[u8] = b"aaabb()";

fn lua_string(bytes: &[u8]) -> String {
    let mut out = String::from("'");
    for &b in bytes {
        match b {
            b'\'' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('\'');
    out
}

/// Deterministic random cases (xorshift), six calls each, in batches.
fn generated_batches(batches: usize, per_batch: usize) -> Vec<String> {
    let mut seed: u64 = std::env::var("PATTERN_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    (0..batches)
        .map(|_| {
            let mut script = String::new();
            for i in 0..per_batch {
                let (tokens, chars) =
                    if i % 2 == 0 { (PATTERN_TOKENS, SUBJECT_CHARS) } else { (DENSE_TOKENS, DENSE_CHARS) };
                let pattern: String = (0..next(7)).map(|_| tokens[next(tokens.len())]).collect();
                let subject: Vec<u8> = (0..next(11)).map(|_| chars[next(chars.len())]).collect();
                let (s, p) = (lua_string(&subject), lua_string(pattern.as_bytes()));
                let init = if next(2) == 0 { String::from("nil") } else { format!("{}", next(8) as i64 - 4) };
                script.push_str(&format!(
                    "print({i}) F({s}, {p}, {init}) M({s}, {p}) G({s}, {p}) S({s}, {p}, '<%0>') \
                     S({s}, {p}, function(...) return select('#', ...) end, 3) S({s}, {p}, {{a = 'A'}})\n"
                ));
            }
            script
        })
        .collect()
}

fn ours(code: &str) -> String {
    match run(code.as_bytes(), "test", &Limits::default()) {
        Ok(out) => out.output,
        Err(e) => format!("{}ERROR {:?}: {}\n", e.output, e.kind, e.message),
    }
}

/// Runs `code` in the real Lua as a file named `test`, so messages carry the same chunk name.
fn reference(lua: &str, code: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "pubwiki-pattern-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test"), code).unwrap();
    let out = Command::new(lua)
        .arg("test")
        .current_dir(&dir)
        .output()
        .expect("run lua5.4");
    std::fs::remove_dir_all(&dir).ok();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        text.push_str(&format!(
            "EXIT {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    text
}

fn reference_lua() -> Option<String> {
    let lua = std::env::var("LUA54").unwrap_or_else(|_| "lua5.4".into());
    match Command::new(&lua).arg("-v").output() {
        Ok(out) if out.status.success() => Some(lua),
        // CI installs it (scripts/install-lua-reference.sh): there a missing binary is a failure.
        _ if std::env::var_os("CI").is_some() => {
            panic!("`{lua}` not found (scripts/install-lua-reference.sh installs it)")
        }
        _ => {
            eprintln!("note: `{lua}` not found; skipping the comparison with the real Lua 5.4");
            None
        }
    }
}

#[test]
fn corpus_matches_real_lua() {
    assert!(CASES.len() >= 150, "{} cases", CASES.len());
    let Some(lua) = reference_lua() else { return };
    let mut failures = Vec::new();
    for case in CASES {
        let code = format!("{PRELUDE}\n{case}\n");
        let (got, want) = (ours(&code), reference(&lua, &code));
        if got != want {
            failures.push(format!("{case}\n  ours: {got:?}\n  lua:  {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn generated_cases_match_real_lua() {
    let Some(lua) = reference_lua() else { return };
    // PATTERN_BATCHES=1000 for a long local run.
    let batches = std::env::var("PATTERN_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    for batch in generated_batches(batches, 100) {
        let code = format!("{PRELUDE}\n{batch}");
        let (got, want) = (ours(&code), reference(&lua, &code));
        if got != want {
            let (got, want): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
            let at = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            let case = want[..at]
                .iter()
                .rev()
                .find(|l| l.parse::<usize>().is_ok())
                .copied()
                .unwrap_or("?");
            let line = batch
                .lines()
                .nth(case.parse::<usize>().unwrap_or(0))
                .unwrap_or("");
            panic!(
                "generated case {case} differs:\n{line}\n  ours: {:?}\n  lua:  {:?}",
                got.get(at),
                want.get(at)
            );
        }
    }
}

#[test]
fn pathological_patterns_hit_the_time_limit() {
    let limit = 200.0;
    let limits = Limits {
        time_ms: limit,
        ..Limits::default()
    };
    for code in [
        "string.rep('a', 1e5):find('.-.-.-.-.-b')",
        "string.rep('a', 3e4):match('(a*)*b')",
        "string.rep('a', 3e4):match('(a*).-%1b')",
        "string.rep('a', 1e5):gsub('.-.-.-b', 'x')",
        "for x in string.rep('a', 1e5):gmatch('.-.-.-b') do end",
        "string.rep('(', 1e5):find('%b()')",
        "string.rep('a', 2e6):find(string.rep('a', 1e6) .. 'b', 1, true)",
        "string.rep('a', 1e5):find('()' .. string.rep('a', 5e4) .. 'b')",
        "print(pcall(string.find, string.rep('a', 1e5), '.-.-.-.-.-b'))",
        "while true do pcall(string.match, string.rep('a', 1e5), '.-.-.-.-.-b') end",
        "string.gsub('abc', '%w', function() return (string.rep('a', 1e5):find('.-.-.-.-.-b')) end)",
        "for i = 1, 1e9 do ('x'):find('x*') end",
    ] {
        let start = Instant::now();
        let e = run(code.as_bytes(), "test", &limits).expect_err(code);
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(e.kind, ErrorKind::Timeout, "{code}: {e:?}");
        assert!(e.message.contains("time limit exceeded"), "{code}: {}", e.message);
        eprintln!("{elapsed:6.0} ms  {code}");
        assert!(elapsed < 2.0 * limit, "{code}: took {elapsed:.0} ms");
    }
}
