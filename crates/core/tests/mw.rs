//! Scribunto's `mw` at the core's level: mw.ustring against expected values written from
//! Scribunto's reference manual (combining marks, astral planes, invalid UTF-8), the Lua
//! libraries in the image, and the frame. The JS suites cover the same through the API.

use std::collections::HashMap;

use pubwiki_lua_core::wire::{Writer, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, ArenaPool, Call, CallSpec, Deadline, Host, Limits, Request, RunError, RunOutput,
    Step,
};

/// Serves modules (and pages) from a map.
#[derive(Default)]
struct Pages(HashMap<String, String>);

impl Host for Pages {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let mut w = Writer::new();
        w.tag(REPLY_VALUES).count(1);
        match request {
            Request::Module { name, .. } => match self.0.get(name) {
                Some(source) => w.string(source.as_bytes()),
                None => w.nil(),
            },
            Request::Call { .. } => w.nil(),
        };
        w.into_bytes()
    }
}

/// A wire table of string keys to string values.
fn table(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = Writer::new();
    w.table(entries.len());
    for (k, v) in entries {
        w.string(k.as_bytes()).string(v.as_bytes());
    }
    w.into_bytes()
}

fn run_mw(code: &str, config: Vec<u8>, pages: &[(&str, &str)]) -> Result<RunOutput, RunError> {
    let spec = CallSpec::chunk(code, "Module:Test")
        .limits(Limits {
            time_ms: 5000.0,
            ..Limits::DEFAULT
        })
        .pool(ArenaPool::shared_with_mw())
        .mw(config);
    let mut host = Pages(
        pages
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    match Call::new(spec, monotonic_ms).resume(&mut host, None) {
        Step::Done(result) => result,
        Step::Waiting { .. } => panic!("waited"),
        Step::Preempted => panic!("preempted without a budget"),
    }
}

fn out(code: &str) -> String {
    match run_mw(code, table(&[]), &[]) {
        Ok(done) => done.output,
        Err(e) => panic!("{code}: {}", e.message),
    }
}

#[test]
fn ustring_basics() {
    assert_eq!(
        out("print(mw.ustring.len('héllo'), mw.ustring.len('\\xff'))"),
        "5\tnil\n"
    );
    assert_eq!(
        out("print(mw.ustring.sub('héllo wörld', 2, 4), mw.ustring.sub('héllo', -3))"),
        "éll\tllo\n"
    );
    assert_eq!(
        out("print(mw.ustring.upper('straße ǆ'), mw.ustring.lower('ÀÉÎ İ'))"),
        "STRAßE Ǆ\tàéî i\n"
    );
    assert_eq!(out("print(mw.ustring.find('añob', '[ñ]o?'))"), "2\t3\n");
    assert_eq!(
        out("print(mw.ustring.find('😀x😀y', 'y'), mw.ustring.codepoint('😀', 1))"),
        "4\t128512\n"
    );
    assert_eq!(
        out("print(mw.ustring.match('Grüße, Welt', '(%a+), (%a+)'))"),
        "Grüße\tWelt\n"
    );
    assert_eq!(
        out("print(mw.ustring.gsub('aéb', '.', '[%0]'))"),
        "[a][é][b]\t3\n"
    );
    assert_eq!(
        out("print(mw.ustring.match('x٣٤y', '%d+'), ('x٣٤y'):match('%d+'))"),
        "٣٤\tnil\n"
    );
    assert_eq!(
        out("print(mw.ustring.find('a b\\u{a0}c', '%s', 3))"),
        "4\t4\n"
    );
    assert_eq!(
        out("print(mw.ustring.match('«quoted»', '%b«»'))"),
        "«quoted»\n"
    );
    assert_eq!(out("print(mw.ustring.match('éé', '()é()'))"), "1\t2\n");
    assert_eq!(
        out("for w in mw.ustring.gmatch('один два', '%a+') do io.write(w, ';') end"),
        "один;два;"
    );
    assert_eq!(out("print(mw.ustring.char(72, 233, 0x1F600))"), "Hé😀\n");
    assert_eq!(
        out("print(pcall(function () return mw.ustring.char(0x110000) end))"),
        "false\tModule:Test:1: bad argument #1 to 'char' (value out of range)\n"
    );
    assert_eq!(
        out("print(pcall(function () return mw.ustring.find('\\xff', 'x') end))"),
        "false\tModule:Test:1: bad argument #1 to 'find' (string is not UTF-8)\n"
    );
    // Combining marks are characters of their own; normalization composes them.
    assert_eq!(out("local s = 'e\\u{301}' print(mw.ustring.len(s), mw.ustring.len(mw.ustring.toNFC(s)), mw.ustring.toNFD('é') == s)"), "2\t1\ttrue\n");
    assert_eq!(
        out("print(mw.ustring.toNFKC('ﬁ'), mw.ustring.toNFC('\\xff'), mw.ustring.isutf8('\\xff'))"),
        "fi\tnil\tfalse\n"
    );
    assert_eq!(
        out("print(mw.ustring.maxPatternLength, mw.ustring.maxStringLength)"),
        "10000\t2097152\n"
    );
    assert_eq!(
        out("print(mw.ustring.byteoffset('aéb', 3), mw.ustring.byteoffset('aéb', 0, 3))"),
        "4\t2\n"
    );
    assert_eq!(
        out("for c in mw.ustring.gcodepoint('hé😀') do io.write(c, ' ') end"),
        "104 233 128512 "
    );
    assert_eq!(
        out("print(mw.ustring.find('aXbXc', 'X', 3, true), mw.ustring.find('ééXé', 'X', 1, true))"),
        "4\t3\t3\n"
    );
}

#[test]
fn text_html_and_friends() {
    assert_eq!(
        out("print(mw.text.trim('  a b \\n'), table.concat(mw.text.split('a,b,,c', ','), '|'))"),
        "a b\ta|b||c\n"
    );
    assert_eq!(
        out("print(mw.text.listToText({1, 2, 3}), mw.text.listToText({'x'}))"),
        "1, 2 and 3\tx\n"
    );
    assert_eq!(
        out("print(mw.text.encode('<a href=\"x\">&</a>'))"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;\n"
    );
    assert_eq!(
        out("print(mw.text.decode('&lt;&#65;&#x42;&amp;&copy;'), mw.text.decode('&copy;', true))"),
        "<AB&&copy;\t©\n"
    );
    assert_eq!(
        out("print(mw.text.nowiki('[[x]]\\n*y'))"),
        "&#91;&#91;x&#93;&#93;\n&#42;y\n"
    );
    assert_eq!(
        out(
            "print(mw.text.truncate('Hello world', 5), mw.text.truncate('Hello world', -5, '...'))"
        ),
        "Hello...\t...world\n"
    );
    assert_eq!(out("print(mw.text.tag('span', {class = 'x', hidden = true}, 'hi'), mw.text.tag{name = 'br', content = false})"), "<span class=\"x\" hidden>hi</span>\t<br />\n");
    assert_eq!(
        out("print(mw.text.jsonEncode({1, 2, {a = true, b = 'x'}}))"),
        "[1,2,{\"a\":true,\"b\":\"x\"}]\n"
    );
    assert_eq!(out("local t = mw.text.jsonDecode('{\"a\":[1,2.5,null,\"é\\\\u00e9\"],\"b\":{}}') print(t.a[1], t.a[2], t.a[4], next(t.b))"), "1\t2.5\téé\tnil\n");
    assert_eq!(
        out("print(mw.text.jsonEncode({a = {1}}, mw.text.JSON_PRETTY))"),
        "{\n\t\"a\": [\n\t\t1\n\t]\n}\n"
    );
    let html = "local d = mw.html.create('div'):addClass('box'):css('color', 'red'):attr('title', 'a\"b') \
        d:tag('span'):wikitext('x < y'):done():tag('br') print(tostring(d))";
    assert_eq!(out(html), "<div class=\"box\" title=\"a&quot;b\" style=\"color:red;\"><span>x < y</span><br /></div>\n");
    assert_eq!(
        out("print(mw.uri.encode('a b&c'), mw.uri.encode('a b', 'WIKI'), mw.uri.decode('a+b%21'))"),
        "a+b%26c\ta_b\ta b!\n"
    );
    assert_eq!(
        out("print(mw.uri.anchorEncode('Foo  bar'), mw.hash.hashValue('md5', 'abc'))"),
        "Foo_bar\t900150983cd24fb0d6963f7d28e17f72\n"
    );
    assert_eq!(out("local t = {1, {2}} t[3] = t local c = mw.clone(t) print(c[3] == c, c[2] ~= t[2], c[2][1])"), "true\ttrue\t2\n");
    assert_eq!(out("print(mw.allToString(1, nil, 'x'))"), "1\tnil\tx\n");
    assert_eq!(out("print(unpack({1, 2}), table.maxn({[1] = 1, [7] = 2}), math.log10(1000), loadstring('return 4')())"), "1\t7\t3.0\t4\n");
    assert_eq!(
        out("local function f() return x end setfenv(f, {x = 5}) print(f(), x, getfenv(f).x)"),
        "5\tnil\t5\n"
    );
    let t = "local t = mw.title.new('talk:foo bar/baz') print(t.prefixedText, t.namespace, t.baseText, t.subpageText, t.subjectPageTitle.fullText)";
    assert_eq!(out(t), "Talk:Foo bar/baz\t1\tFoo bar\tbaz\tFoo bar/baz\n");
    assert_eq!(out("local l = mw.getContentLanguage() print(l:formatNum(1234567.5), l:ucfirst('élan'), l:formatDate('Y-m-d', '2024-02-29'))"), "1,234,567.5\tÉlan\t2024-02-29\n");
}

#[test]
fn logs_load_data_and_frame() {
    let done = run_mw(
        "mw.log('a', 1) mw.logObject({x = 1}, 'o') print('out')",
        table(&[]),
        &[],
    )
    .unwrap();
    assert_eq!(done.output, "out\n");
    assert_eq!(done.log, "a\t1\no = table#1 {\n  x = 1,\n}\n");
    let pages = [("Module:Data", "return { list = {'a', 'b'}, n = 2 }")];
    let code = "local d = mw.loadData('Module:Data') print(d.n, #d.list, d.list[2], mw.loadData('Module:Data') == d, pcall(function () d.n = 3 end))";
    let done = run_mw(code, table(&[]), &pages).unwrap();
    assert_eq!(
        done.output,
        "2\t2\tb\ttrue\tfalse\tModule:Test:1: table from mw.loadData is read-only\n"
    );
    let mut w = Writer::new();
    w.table(2)
        .string(b"lua51Numbers")
        .boolean(true)
        .string(b"frame");
    w.table(3)
        .string(b"title")
        .string(b"Module:X")
        .string(b"args");
    w.table(2)
        .integer(1)
        .string(b"one")
        .string(b"name")
        .string(b"N");
    w.string(b"parent")
        .table(2)
        .string(b"title")
        .string(b"Template:T")
        .string(b"args")
        .table(1)
        .string(b"p")
        .string(b"P");
    let spec = CallSpec::invoke("Module:X", "main", "Page")
        .pool(ArenaPool::shared_with_mw())
        .mw(w.into_bytes());
    let module = "return { main = function (frame) local a = frame.args local n = 0 for k, v in pairs(a) do n = n + 1 end \
        return a[1], a['1'], a.name, n, frame:getParent().args.p, frame:getParent():getTitle(), tostring(10 / 2) .. table.concat({ 1.5, 3 / 1 }, ',') .. (1 / 2), pcall(function () a.x = 1 end) end }";
    let mut host = Pages([("Module:X".to_string(), module.to_string())].into());
    // (lua51Numbers also reaches table.concat; `..` and string.format keep 5.4's "5.0".)
    let Step::Done(result) = Call::new(spec, monotonic_ms).resume(&mut host, None) else {
        panic!()
    };
    let values = result.unwrap().values.decode().unwrap();
    let text: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    assert_eq!(
        text.join(" "),
        "String(\"one\") String(\"one\") String(\"N\") Integer(2) String(\"P\") String(\"Template:T\") \
         String(\"51.5,30.5\") Boolean(false) String(\"Module:X:1: frame.args is read-only\")"
    );
}

mod differential {
    //! On ASCII text mw.ustring's functions give what Lua's `string` gives (the classes
    //! that Unicode draws otherwise, `%p` and `%g`, are left out of the patterns).
    use super::*;
    use proptest::prelude::*;

    fn lua_quote(s: &str) -> String {
        let mut q = String::from("'");
        for b in s.bytes() {
            match b {
                b'\'' | b'\\' => {
                    q.push('\\');
                    q.push(b as char);
                }
                b'\n' => q.push_str("\\n"),
                _ => q.push(b as char),
            }
        }
        q.push('\'');
        q
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn ustring_is_string_on_ascii(
            subject in "[abc .,()%-]{0,12}",
            pattern in "[abc.()%\\[\\]^$*+?\\-adlsuwx1]{0,8}",
            init in -4i64..8,
            code_points in proptest::bool::ANY,
        ) {
            // Matched as bytes (ASCII) or, in test builds, as decoded code points: both
            // must give what `string` gives. (Other tests may run meanwhile in either way:
            // they must pass both ways too.)
            #[cfg(feature = "fault-injection")]
            pubwiki_lua_core::FORCE_CODE_POINTS.store(code_points, std::sync::atomic::Ordering::Relaxed);
            let _ = code_points;
            let (s, p) = (lua_quote(&subject), lua_quote(&pattern));
            // find, match and sub as `string`'s (an init past the end clamped, as Scribunto
            // does); gmatch and gsub go on after an empty match as Lua 5.1 did (Scribunto's
            // mw.ustring), which the reference here makes of `string.find`.
            let code = format!(
                "local function show(...) local t = table.pack(...) for i = 1, t.n do t[i] = (tostring(t[i]):gsub('^Module:Test:%d+: ', '')) end return table.concat(t, ',') end
                 local function both(f, g, ...) return show(pcall(f, ...)), show(pcall(g, ...)) end
                 local function it(f, s, p) local ok, g = pcall(f, s, p) if not ok then return show(g) end local r = {{}}
                   for _ = 1, 20 do local ok, a, b = pcall(g) if not ok then r[#r + 1] = show(a) break end if a == nil then break end r[#r + 1] = show(a, b) end return table.concat(r, ';') end
                 -- string.find in pattern mode: a pattern with no special character would
                 -- be searched as plain text, so it gets a position capture at its end
                 -- (dropped from the results).
                 local function find(s, p, pos)
                   if p:find('[%^%$%*%+%?%.%(%[%%%-]') then return string.find(s, p, pos) end
                   local r = table.pack(string.find(s, p .. '()', pos))
                   return table.unpack(r, 1, r[1] and r.n - 1 or 1)
                 end
                 local function gmatch51(s, p)
                   p = p:gsub('^%^', '%%^')
                   local ok, err = pcall(find, s, p, 1)
                   if not ok then error(err, 0) end
                   local pos = 1
                   return function ()
                     if pos > #s + 1 then return nil end
                     local r = table.pack(find(s, p, pos))
                     if not r[1] then pos = #s + 2 return nil end
                     pos = r[2] < r[1] and r[1] + 1 or r[2] + 1
                     if r.n == 2 then return s:sub(r[1], r[2]) end
                     return table.unpack(r, 3, r.n)
                   end
                 end
                 -- The first match at or after `pos`, found by string.gsub (which pushes no
                 -- capture for %0, so unfinished captures do not fail): start and end.
                 local function first(s, p, pos)
                   local marked, n = string.gsub(s:sub(pos), p, '\\1%0\\2', 1)
                   if n == 0 then return nil end
                   local a = marked:find('\\1', 1, true)
                   local b = marked:find('\\2', a, true)
                   return pos + a - 1, pos + b - 3
                 end
                 local function gsub51(s, p, r)
                   local out, n, pos, anchored = {{}}, 0, 1, p:sub(1, 1) == '^'
                   while pos <= #s + 1 do
                     local a, b = first(s, p, pos)
                     if not a then break end
                     n = n + 1
                     out[#out + 1] = s:sub(pos, a - 1) .. '<' .. s:sub(a, b) .. '>'
                     if b >= a then pos = b + 1 else out[#out + 1] = s:sub(a, a) pos = a + 1 end
                     if anchored then break end
                   end
                   return table.concat(out) .. s:sub(pos), n
                 end
                 local init = math.min({init}, #{s} + 1)
                 print(both(string.find, mw.ustring.find, {s}, {p}, init))
                 print(both(string.match, mw.ustring.match, {s}, {p}, init))
                 print(both(gsub51, mw.ustring.gsub, {s}, {p}, '<%0>'))
                 print(it(gmatch51, {s}, {p}), it(mw.ustring.gmatch, {s}, {p}))
                 print(both(string.sub, mw.ustring.sub, {s}, {init}, {init} + 3))"
            );
            let output = run_mw(&code, table(&[]), &[]).map(|done| done.output).unwrap_or_else(|e| e.message);
            for line in output.lines() {
                let (a, b) = line.split_once('\t').unwrap_or((line, ""));
                prop_assert_eq!(a, b, "subject {:?} pattern {:?} init {}: {}", subject, pattern, init, line);
            }
        }
    }
}

#[test]
fn punctuation_is_unicode_s() {
    assert_eq!(
        out("print(('$'):find('%p'), mw.ustring.find('$', '%p'), mw.ustring.find('!', '%p'))"),
        "1\tnil\t1\t1\n"
    );
}

#[test]
fn long_strings_checked_once_give_the_same_answers() {
    // mw.ustring remembers the long string it last checked (and its count and decoded
    // form): answers on it, on another string between, and on a copy, must not change.
    let code = r#"
        local a = string.rep('añb😀', 2000)
        local b = string.rep('xyz', 1000) .. 'é'
        local bad = string.rep('a', 300) .. '\xff'
        local out = {}
        for round = 1, 3 do
          for i = 1, 7997, 997 do
            out[#out + 1] = mw.ustring.sub(a, i, i + 2) .. mw.ustring.sub(b, i % 3000 + 1, i % 3000 + 1)
            out[#out + 1] = tostring(mw.ustring.find(a, '😀', i)) .. ',' .. tostring(mw.ustring.find(b, 'é'))
            out[#out + 1] = tostring(pcall(mw.ustring.len, bad)) .. tostring(select(2, pcall(mw.ustring.sub, bad, 1)) ~= nil)
          end
          out[#out + 1] = mw.ustring.len(a) .. ' ' .. mw.ustring.len(b) .. ' ' .. mw.ustring.sub(a, -3)
          local n = 0 for w in mw.ustring.gmatch(a, 'ñb') do n = n + 1 end
          out[#out + 1] = n .. ' ' .. select(2, mw.ustring.gsub(a, '😀', '.'))
          a = a:sub(1, -1 - #'😀') .. '😀' -- the same text, another string
        end
        return table.concat(out, '|')"#;
    let output = run_mw(
        &format!("print((function () {code} end)())"),
        table(&[]),
        &[],
    )
    .unwrap()
    .output;
    let round = "añby|4,3001|truetrue|ñb😀z|1000,3001|truetrue|b😀ax|1996,3001|truetrue|😀añy|2992,3001|truetrue|\
        añbz|3992,3001|truetrue|ñb😀x|4988,3001|truetrue|b😀ay|5984,3001|truetrue|😀añz|6980,3001|truetrue|\
        añbx|7980,3001|truetrue|8000 3001 ñb😀|2000 2000";
    assert_eq!(output, format!("{round}|{round}|{round}\n"));
}

#[test]
fn frame_args_stay_read_only() {
    let mut w = Writer::new();
    w.table(1).string(b"frame");
    w.table(2)
        .string(b"title")
        .string(b"Module:X")
        .string(b"args");
    w.table(1).integer(1).string(b"one");
    let spec = CallSpec::invoke("Module:X", "main", "Page")
        .pool(ArenaPool::shared_with_mw())
        .mw(w.into_bytes());
    let module = "return { main = function (frame) local f, s = pairs(frame.args) \
        local writes = { pcall(rawset, frame.args, 1, 'x'), type(s) == 'table' and pcall(rawset, s, 1, 'x') or 'no table' } \
        return frame.args[1], select('#', f()), writes[1], writes[2] end }";
    let mut host = Pages([("Module:X".to_string(), module.to_string())].into());
    let Step::Done(result) = Call::new(spec, monotonic_ms).resume(&mut host, None) else {
        panic!()
    };
    let values: Vec<String> = result
        .unwrap()
        .values
        .decode()
        .unwrap()
        .iter()
        .map(|v| format!("{v:?}"))
        .collect();
    // `pairs` gives no table to write to; rawset (as in Scribunto) writes the view itself.
    assert_eq!(
        values.join(" "),
        "String(\"x\") Integer(2) Boolean(true) String(\"no table\")"
    );
}

#[test]
fn memory_limits_just_above_the_image_end_with_memory_errors() {
    // The call's set-up (its coroutine, an invoked module's names, mw's configuration)
    // allocates in a state whose image may fill most of the limit: a memory error there
    // is the call's error (it once aborted the process).
    let empty = table(&[]);
    for pool in [ArenaPool::shared(), ArenaPool::shared_with_mw()] {
        for limit in (4_000..600_000).step_by(1_999) {
            let limits = Limits {
                memory_bytes: limit,
                time_ms: 1000.0,
                output_bytes: 0,
            };
            for spec in [
                CallSpec::chunk("io.write('x')", "m"),
                CallSpec::invoke("Module:X", "main", "m"),
            ] {
                let spec = spec
                    .limits(limits.clone())
                    .pool(pool.clone())
                    .mw(empty.clone());
                let spec = if std::sync::Arc::ptr_eq(&pool, &ArenaPool::shared()) {
                    CallSpec { mw: None, ..spec }
                } else {
                    spec
                };
                let mut host = Pages::default();
                match Call::new(spec, monotonic_ms).resume(&mut host, None) {
                    Step::Done(Err(error)) => assert!(
                        matches!(error.kind.as_str(), "memory" | "output" | "runtime"),
                        "{limit}: {error:?}"
                    ),
                    Step::Done(Ok(_)) => panic!("{limit}: no error"),
                    Step::Waiting { .. } => panic!("waited"),
                    Step::Preempted => panic!("preempted without a budget"),
                }
            }
        }
    }
}

#[test]
fn html_builder_as_scribunto_builds_and_refuses() {
    let cases: &[(&str, &str)] = &[
        ("mw.html.create('div', { selfClosing = true })", "<div />"),
        (
            "mw.html.create('div'):css('a', 'b'):cssText('c:d'):css(1, 2)",
            "<div style=\"a:b;c:d;1:2;\"></div>",
        ),
        (
            "mw.html.create('div'):css('color', 'red'):css('color', nil)",
            "<div></div>",
        ),
        (
            "mw.html.create('div'):addClass('x'):attr('k', 'v'):addClass(7)",
            "<div class=\"x 7\" k=\"v\"></div>",
        ),
        (
            "mw.html.create('div'):attr('a', 'b'):attr('a', nil):attr('c', 'd'):attr('c', 'e')",
            "<div c=\"e\"></div>",
        ),
        (
            "mw.html.create(''):wikitext('t'):tag('i'):attr('a', '\"<&>'):allDone()",
            "t<i a=\"&quot;&lt;&amp;&gt;\"></i>",
        ),
        (
            "mw.html.create():node(mw.html.create('br')):newline()",
            "<br />\n",
        ),
        (
            "mw.html.create('div'):css('a\"b', 'é;')",
            "<div style=\"a&quot;b:\\E9 \\3B ;\"></div>",
        ),
        ("mw.html.create('$$')", "Invalid tag name: $$"),
        ("mw.html.create({})", "Tag name must be a string"),
        (
            "mw.html.create('div'):attr('§', 'x')",
            "Invalid attribute name: §",
        ),
        (
            "mw.html.create('div'):attr(1, 'x')",
            "Invalid name given: The name must be a string",
        ),
        (
            "mw.html.create('div'):attr('a', true)",
            "Invalid value given: The value must be either a string or a number",
        ),
        (
            "mw.html.create('div'):attr({ a = {} })",
            "Invalid table given: Must be name (string) value (string|number) pairs",
        ),
        (
            "mw.html.create('div'):attr({ a = 'b' }, 'c')",
            "If a key->value table is given as first parameter, value must be left empty",
        ),
        (
            "mw.html.create('div'):wikitext({})",
            "Invalid wikitext given: Must be either a string or a number",
        ),
        (
            "mw.html.create('hr'):wikitext('x')",
            "Self-closing tags can't have child nodes",
        ),
        (
            "mw.html.create('img'):node(mw.html.create('b'))",
            "Self-closing tags can't have child nodes",
        ),
        (
            "mw.html.create('div'):addClass({})",
            "Invalid class given: The name must be either a string or a number",
        ),
        (
            "mw.html.create('div'):cssText({})",
            "Invalid CSS given: Must be either a string or a number",
        ),
    ];
    for (expression, expected) in cases {
        let code = format!(
            "local ok, r = pcall(function () return tostring({expression}) end) \
             io.write(ok and r or (tostring(r):gsub('^Module:Test:%d+: ', '')))"
        );
        assert_eq!(out(&code), *expected, "{expression}");
    }
}

#[test]
fn text_as_scribunto_writes_it() {
    let cases: &[(&str, &str)] = &[
        ("mw.text.encode('<b>foo\\194\\160\"bar\"</b> & \\'baz\\'')", "&lt;b&gt;foo&nbsp;&quot;bar&quot;&lt;/b&gt; &amp; &#039;baz&#039;"),
        ("mw.text.encode('<b>\"ba\"</b>', 'aeiou')", "<b>\"b&#97;\"</b>"),
        ("mw.text.decode('&lt;&#102;&#x6f;&#x0066;&#00111; &hearts; &amp;quot;')", "<fofo &hearts; &quot;"),
        ("mw.text.decode('&hearts;&eacute;', true)", "♥é"),
        ("mw.text.nowiki('*\"&\\'<=>[]{|}#*:;\\n*\\n#\\n:\\n;\\nhttp://example.com:80/\\nRFC 123, ISBN 456')",
         "&#42;&#34;&#38;&#39;&#60;&#61;&#62;&#91;&#93;&#123;&#124;&#125;#*:;\n&#42;\n&#35;\n&#58;\n&#59;\nhttp&#58;//example.com:80/\nRFC&#32;123, ISBN&#32;456"),
        ("mw.text.tag('b', setmetatable({ n = 42, key = 'v', present = true, absent = false }, { __pairs = function (t) \
            local keys, i = { 'absent', 'present', 'key', 'n' }, 0 \
            return function () i = i + 1 if keys[i] then return keys[i], rawget(t, keys[i]) end end end }))",
         "<b present key=\"v\" n=\"42\">"),
        ("mw.text.tag{ name = 'br', attrs = { b = 1, a = 'x' }, content = false }", "<br a=\"x\" b=\"1\" />"),
        ("table.concat(mw.text.split(',,x', ','), '|')", "||x"),
        ("table.concat(mw.text.split('xxx', ',?'), '|')", "x|x|x"),
        ("table.concat(mw.text.split('x,x,', ','), '|')", "x|x|"),
        ("mw.text.listToText({1, 2, 3, 4}, nil, ' or ')", "1, 2, 3 or 4"),
        ("mw.text.truncate('foobarbaz', 3)", "foo..."),
        ("mw.text.truncate('foobarbaz', 6)", "foobarbaz"),
        ("mw.text.truncate('foobarbaz', -3)", "...baz"),
        ("mw.text.truncate('foobarbaz', 6, nil, true)", "foo..."),
        ("mw.text.truncate('foobarbaz', -6, nil, true)", "...baz"),
        ("mw.text.truncate('foobarbaz', 1, nil, true)", "..."),
        ("mw.text.truncate('foobarbaz', 3, '!')", "foo!"),
        ("mw.text.trim('xxx foo bar xxx', 'x')", " foo bar "),
    ];
    for (expression, expected) in cases {
        let code = format!(
            "local ok, r = pcall(function () return ({expression}) end) io.write(ok and r or ('ERR ' .. tostring(r)))"
        );
        assert_eq!(out(&code), *expected, "{expression}");
    }
}

#[test]
fn ustring_as_scribunto_iterates_and_bounds() {
    let cases: &[(&str, &str)] = &[
        // gmatch and gsub go on after an empty match as Lua 5.1 did.
        ("local t = {} for m in mw.ustring.gmatch('a11a', 'a?') do t[#t + 1] = '<' .. m .. '>' end return table.concat(t)", "<a><><><a><>"),
        ("local t = {} for m in mw.ustring.gmatch('☢a', 'a?') do t[#t + 1] = '<' .. m .. '>' end return table.concat(t)", "<><a><>"),
        ("local t = {} for m in mw.ustring.gmatch('b', 'a*b*') do t[#t + 1] = '<' .. m .. '>' end return table.concat(t)", "<b><>"),
        ("return (select(2, mw.ustring.gsub('abc', '%w*', 'x'))) .. ' ' .. mw.ustring.gsub('abc', '%w*', 'x')", "2 xx"),
        ("return mw.ustring.gsub('ábć', '()', '%1') .. ''", "1á2b3ć4"),
        ("return mw.ustring.gsub('á', '', 'X') .. ''", "XáX"),
        // A `%` before anything but a digit or `%` stays.
        ("return mw.ustring.gsub('foo', 'foo', 'x%yz') .. mw.ustring.gsub('foo', 'foo', 'bar%')", "x%yzbar%"),
        ("return mw.ustring.gsub('foo; fóó', '%a+', '%1!') .. ''", "foo!; fóó!"),
        // An init past the end is the end.
        ("return table.concat({ mw.ustring.find('¡a¡ ¡.¡', '()', 20) }, ',')", "8,7,8"),
        ("return table.concat({ mw.ustring.find('¡a¡ ¡.¡', '', 20, true) }, ',')", "8,7"),
        ("return table.concat({ mw.ustring.find('¡a¡ ¡.¡', '()', -20) }, ',')", "1,0,1"),
        ("return mw.ustring.match('¡a¡ ¡.¡', '()', 20)", "8"),
        ("return table.concat({ mw.ustring.find('fóó', '()(f)()(óó)()') }, ',')", "1,3,1,f,2,óó,4"),
        ("return table.concat({ mw.ustring.find('foo foofóó foófoó bar', '(f%a+)%1') }, ',')", "12,17,foó"),
        ("return table.concat({ mw.ustring.find('foo ¡bar baz', '%f[%z]') }, ',')", "13,12"),
        ("return table.concat({ mw.ustring.find('bar «foo «foo» foo» bar', '%b«»') }, ',')", "5,19"),
        ("return table.concat({ mw.ustring.find('bar ¡fóo bar', '¡f[a-uá-ú]+') }, ',')", "5,8"),
        ("return mw.ustring.gsub('12345', 3, 9) .. ''", "12945"),
        ("return table.concat({ mw.ustring.codepoint(string.rep('főó ', 2500), 9000, 9004) }, ',')", "32,102,337,243,32"),
        ("return tostring(mw.ustring.byteoffset('foó', 1, -1)) .. tostring(mw.ustring.byteoffset('fóo', 0, 3))", "nil2"),
        ("return select(2, pcall(mw.ustring.gsub, string.rep('x', mw.ustring.maxStringLength + 1), 'a', 'b'))", "bad argument #1 to 'gsub' (string is longer than 2097152 bytes)"),
        ("return select(2, pcall(mw.ustring.gsub, 'a', string.rep('x', 10001), 'b'))", "bad argument #2 to 'gsub' (pattern is longer than 10000 bytes)"),
    ];
    for (code, expected) in cases {
        let code = format!("local ok, r = pcall(function () {code} end) io.write(tostring(r))");
        assert_eq!(out(&code), *expected, "{code}");
    }
}

#[test]
fn uri_as_scribunto_encodes_and_round_trips() {
    let mut w = Writer::new();
    w.table(1).string(b"site");
    w.table(3)
        .string(b"server")
        .string(b"//wiki.local")
        .string(b"canonicalServer")
        .string(b"http://wiki.local")
        .string(b"fragmentMode")
        .string(b"legacy");
    let config = w.into_bytes();
    let cases: &[(&str, &str)] = &[
        ("return mw.uri.encode('__foo b\\195\\161r + baz__')", "__foo+b%C3%A1r+%2B+baz__"),
        ("return mw.uri.encode('__foo b\\195\\161r + baz__', 'PATH')", "__foo%20b%C3%A1r%20%2B%20baz__"),
        ("return mw.uri.encode('__foo b\\195\\161r + baz__', 'WIKI')", "__foo_b%C3%A1r_%2B_baz__"),
        ("return mw.uri.decode('__foo+b%C3%A1r+%2B+baz__', 'PATH')", "__foo+b\u{e1}r+++baz__"),
        ("return mw.uri.decode('__foo+b%C3%A1r+%2B+baz__', 'WIKI')", "  foo+b\u{e1}r+++baz  "),
        ("return mw.uri.anchorEncode('__foo b\\195\\161r__')", "foo_b.C3.A1r"),
        ("return tostring(mw.uri.new('http://www.example.com/test?foo=1&bar&baz=1&baz=2#fragment'))", "http://www.example.com/test?foo=1&bar&baz=1&baz=2#fragment"),
        ("local u = mw.uri.new('http://www.example.com/test?foo=1&bar&baz=1&baz=2#f') return u.host .. u.path .. tostring(u.query.bar) .. u.query.baz[2]", "www.example.com/testfalse2"),
        ("return tostring(mw.uri.localUrl('Example', { action = 'edit' }))", "/w/index.php?title=Example&action=edit"),
        ("return tostring(mw.uri.fullUrl('Example'))", "//wiki.local/wiki/Example"),
        ("return tostring(mw.uri.canonicalUrl('Example', 'action=edit'))", "http://wiki.local/w/index.php?title=Example&action=edit"),
        // Every combination of a URI's parts comes back as it was.
        ("local bad = {} for bits = 0, 255 do \
            local function has(i) return bits & (1 << i) ~= 0 end \
            local u = (has(0) and 'http:' or '') .. ((has(1) or has(2) or has(3) or has(4)) and '//' or '') \
              .. (has(1) and 'user' or '') .. (has(2) and ':password' or '') .. ((has(1) or has(2)) and '@' or '') \
              .. (has(3) and 'host.example.com' or '') .. (has(4) and ':123' or '') .. (has(5) and '/path' or '') \
              .. (has(6) and '?query=1' or '') .. (has(7) and '#fragment' or '') \
            if tostring(mw.uri.new(u)) ~= u then bad[#bad + 1] = u end end \
          return #bad .. ' ' .. table.concat(bad, ' ')", "0 "),
    ];
    for (code, expected) in cases {
        let code = format!("local ok, r = pcall(function () {code} end) io.write(tostring(r))");
        let output = run_mw(&code, config.clone(), &[])
            .map(|d| d.output)
            .unwrap_or_else(|e| e.message);
        assert_eq!(output, *expected, "{code}");
    }
}
