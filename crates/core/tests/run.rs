use pubwiki_lua_core::{run, ErrorKind, Limits, LuaValue, RunError};

fn ok(code: &str) -> (String, Vec<LuaValue>) {
    let out = run(code.as_bytes(), "test", &Limits::default())
        .unwrap_or_else(|e| panic!("{code}: {e:?}"));
    (out.output, out.values.decode().unwrap())
}

fn output(code: &str) -> String {
    ok(code).0
}

fn err_with(code: &str, limits: Limits) -> RunError {
    run(code.as_bytes(), "test", &limits).expect_err(code)
}

fn err(code: &str) -> RunError {
    err_with(code, Limits::default())
}

#[test]
fn print_uses_lua_tostring() {
    assert_eq!(
        output("print(1, 1.0, 2^63, 'a', nil, true)"),
        "1\t1.0\t9.2233720368548e+18\ta\tnil\ttrue\n"
    );
    assert_eq!(
        output("print(setmetatable({}, {__tostring = function() return 'T' end}))"),
        "T\n"
    );
    assert!(output("print(setmetatable({}, {__name = 'Thing'}))").starts_with("Thing: "));
    assert_eq!(output("print()"), "\n");
}

#[test]
fn io_write_formats_like_lua() {
    assert_eq!(
        output("io.write('a', 1, 1.0, ' ', 2^63)"),
        "a11 9.2233720368548e+18"
    );
    assert_eq!(output("io.write('a'):write('b')"), "ab");
    let e = err("io.write({})");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert!(
        e.message
            .contains("bad argument #1 to 'write' (string expected, got table)"),
        "{}",
        e.message
    );
}

#[test]
fn output_bytes() {
    assert_eq!(output("io.write('a\\0b')"), "a\0b");
    assert_eq!(output("io.write('\\xff')"), "\u{fffd}");
    assert_eq!(output("print('héllo ✓')"), "héllo ✓\n");
}

#[test]
fn return_values() {
    let (_, v) = ok("return nil, true, 3, 1.5, 'x', {1, 2}, {a = 1}, {}, print");
    assert_eq!(
        v,
        vec![
            LuaValue::Nil,
            LuaValue::Boolean(true),
            LuaValue::Integer(3),
            LuaValue::Number(1.5),
            LuaValue::String("x".into()),
            LuaValue::Array(vec![LuaValue::Integer(1), LuaValue::Integer(2)]),
            LuaValue::Object(vec![("a".into(), LuaValue::Integer(1))]),
            LuaValue::Object(vec![]),
            LuaValue::Opaque("function"),
        ]
    );
    let (_, v) = ok("return {[1] = 'a', [3] = 'c'}");
    assert!(matches!(&v[0], LuaValue::Object(entries) if entries.len() == 2));
    let e = err("local t = {} t.self = t return t");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert!(e.message.contains("return value #1"), "{}", e.message);
    let (_, v) = ok("local s = {1} return {s, s}");
    assert_eq!(v.len(), 1);
}

#[test]
fn errors_are_classified() {
    let e = err("x = = 1");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert!(e.message.starts_with("test:1:"), "{}", e.message);
    let e = err("print('before')\nlocal x = nil\nx()");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert!(
        e.message.starts_with("test:3: attempt to call a nil value"),
        "{}",
        e.message
    );
    assert_eq!(e.output, "before\n");
    assert!(e.traceback.contains("stack traceback"), "{}", e.traceback);
    assert_eq!(
        err("error({code = 1})").message,
        "(error object is a table value)"
    );
    assert_eq!(err("error(nil)").message, "(error object is a nil value)");
    assert_eq!(
        err("error(setmetatable({}, {__tostring = function() return 'custom' end}))").message,
        "custom"
    );
    assert_eq!(
        err("error(setmetatable({}, {__tostring = function() error('x') end}))").message,
        "(error object is a table value)"
    );
    assert_eq!(err("error(42)").message, "42");
}

#[test]
fn sandbox_removes_unsafe_functions() {
    for name in [
        "dofile",
        "loadfile",
        "string.dump",
        "os.execute",
        "os.exit",
        "os.getenv",
        "os.remove",
        "os.rename",
        "os.tmpname",
        "io.open",
        "io.read",
        "io.lines",
        "io.popen",
        "package.path",
        "package.cpath",
        "package.loadlib",
        "package.searchpath",
        "package.searchers",
        "debug.getinfo",
        "debug.sethook",
        "debug.getregistry",
    ] {
        assert_eq!(output(&format!("print({name} == nil)")), "true\n", "{name}");
    }
    for name in [
        "print",
        "load",
        "pcall",
        "string.format",
        "table.sort",
        "math.floor",
        "utf8.char",
        "coroutine.wrap",
        "os.time",
        "os.clock",
        "os.date",
        "os.difftime",
        "io.write",
        "debug.traceback",
        "require",
    ] {
        assert_eq!(
            output(&format!("print(type({name}))")),
            "function\n",
            "{name}"
        );
    }
    let e = err("assert(load(string.char(27) .. 'Lua'))");
    assert!(e.message.contains("binary chunk"), "{}", e.message);
    assert_eq!(output("print(load('return 1 + 1')())"), "2\n");
    assert_eq!(
        output("local env = {x = 5} print(load('return x', 'c', 't', env)())"),
        "5\n"
    );
}

#[test]
fn script_cannot_forge_its_id() {
    let e = err("_G.__SCRIPT_ID = 'other' error('boom')");
    assert!(e.message.starts_with("test:1: boom"), "{}", e.message);
}

#[test]
fn time_limit_holds_against_pcall() {
    let limits = Limits {
        time_ms: 100.0,
        ..Limits::default()
    };
    for code in [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "local co = coroutine.wrap(function() while true do end end) co()",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "xpcall(function() while true do end end, function() while true do end end)",
        "print('partial') while true do local ok = pcall(error, 'x') end",
        "local t = setmetatable({}, {__index = function() while true do end end}) return t.x",
        "table.sort({3, 2, 1}, function(a, b) while true do end end)",
        "string.gsub('abc', '.', function() while true do end end)",
        "local t = setmetatable({}, {__lt = function() while true do end end}) return t < t",
        "print(setmetatable({}, {__tostring = function() while true do end end}))",
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
    ] {
        let start = std::time::Instant::now();
        let e = err_with(code, limits.clone());
        assert_eq!(e.kind, ErrorKind::Timeout, "{code}: {e:?}");
        assert!(start.elapsed().as_millis() < 1000, "{code}");
    }
    assert_eq!(
        err_with("print('partial') while true do end", limits).output,
        "partial\n"
    );
}

#[test]
fn memory_limit_holds() {
    let limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    for code in [
        "local s = string.rep('x', 2^30)",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local s = 'x' while true do s = s .. s end",
        "local t = {} while true do pcall(function() for i = 1, 1e9 do t[#t + 1] = {} end end) end",
        "collectgarbage('stop') local t = {} for i = 1, 1e9 do t[i] = tostring(i) end",
    ] {
        let e = err_with(code, limits.clone());
        assert_eq!(e.kind, ErrorKind::Memory, "{code}: {e:?}");
    }
}

#[test]
fn gc_metamethods_are_refused() {
    let e = err("setmetatable({}, {__gc = function() while true do end end}) collectgarbage()");
    assert!(e.message.contains("__gc"), "{}", e.message);
    assert_eq!(output("local mt = {} setmetatable({}, mt) mt.__gc = function() print('gc') end collectgarbage() print('ok')"), "ok\n");
}

#[test]
fn output_limit_holds() {
    let limits = Limits {
        output_bytes: 10,
        ..Limits::default()
    };
    let e = err_with("for i = 1, 100 do print(i) end", limits.clone());
    assert_eq!(e.kind, ErrorKind::Output);
    assert_eq!(e.output, "1\n2\n3\n4\n5\n");
    let e = err_with("while true do pcall(print, 'xxxxxxxx') end", limits);
    assert_eq!(e.kind, ErrorKind::Output);
}

#[test]
fn stack_overflow_is_an_error() {
    // Deep Lua recursion ends at Lua's stack limit or the memory limit, whichever comes first.
    let e = err("local function f() return 1 + f() end f()");
    assert!(
        matches!(e.kind, ErrorKind::Runtime | ErrorKind::Memory),
        "{e:?}"
    );
    let e = err_with(
        "local function f() return 1 + f() end f()",
        Limits {
            memory_bytes: usize::MAX,
            ..Limits::default()
        },
    );
    assert!(e.message.contains("stack overflow"), "{}", e.message);
    for code in [
        "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
        "local function f(s) return (s:gsub('.', f)) end f('x')",
        "local t = setmetatable({}, {__tostring = function(t) return tostring(t) end}) print(t)",
    ] {
        let e = err(code);
        assert_eq!(e.kind, ErrorKind::Runtime, "{code}: {e:?}");
        assert!(
            e.message.contains("stack overflow"),
            "{code}: {}",
            e.message
        );
    }
}

#[test]
fn calls_are_independent() {
    assert_eq!(
        output("string.x = 1 getmetatable('').__index = {} print(1)"),
        "1\n"
    );
    assert_eq!(output("print(string.x, ('a'):upper())"), "nil\tA\n");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || output(&format!("for j = 1, 1000 do x = {i} end print(x)")))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("{i}\n"));
    }
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_panic_in_the_core_becomes_an_error() {
    let e = run(b"print(1)", "pubwiki-lua:panic", &Limits::default()).expect_err("injected panic");
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert_eq!(e.message, "internal error in pubwiki-lua");
    assert_eq!(output("print('still fine')"), "still fine\n");
}

#[test]
fn coroutine_switches_do_not_postpone_the_time_limit() {
    let limits = Limits {
        time_ms: 100.0,
        ..Limits::default()
    };
    let code = "local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end";
    assert_eq!(err_with(code, limits.clone()).kind, ErrorKind::Timeout);
    let code = "local f = coroutine.wrap(function() while true do coroutine.yield() end end) while true do f() end";
    assert_eq!(err_with(code, limits).kind, ErrorKind::Timeout);
}

#[test]
fn integers_print_as_lua_prints_them() {
    assert_eq!(
        output("print(0, -5, 42, math.maxinteger, math.mininteger, 7 // 2, -0) io.write(0, -5, math.mininteger, 3 // 1)"),
        "0\t-5\t42\t9223372036854775807\t-9223372036854775808\t3\t0\n0-5-92233720368547758083"
    );
    assert_eq!(
        output("print(tostring(math.mininteger), tostring(-1), tostring(1.0), tostring(setmetatable({}, {__tostring = function() return 'T' end})), select('#', tostring(1)))"),
        "-9223372036854775808\t-1\t1.0\tT\t1\n"
    );
    assert!(err("tostring()")
        .message
        .contains("bad argument #1 to 'tostring' (value expected)"));
}

#[test]
fn sandbox_globals_are_exactly_these() {
    assert_eq!(
        output("local names = {} for k in pairs(_G) do names[#names + 1] = k end table.sort(names) print(table.concat(names, ' '))"),
        "_G _VERSION assert collectgarbage coroutine debug error getmetatable io ipairs load math \
         next os package pairs pcall print rawequal rawget rawlen rawset require select \
         setmetatable string table tonumber tostring type utf8 warn xpcall\n"
    );
}
