//! Cases found by the program fuzzer (tests/fuzz_programs.rs) or while looking into its
//! findings, minimized.

use std::time::{Duration, Instant};

use pubwiki_lua_core::{run, ErrorKind, Limits, LuaValue, RunError};

fn limits(time_ms: f64, output_bytes: usize) -> Limits {
    Limits {
        time_ms,
        output_bytes,
        ..Limits::default()
    }
}

/// Runs `code` with a 50 ms limit and checks that it times out well within a second.
fn times_out(code: &str) -> RunError {
    let started = Instant::now();
    let error = run(code.as_bytes(), "test", &limits(50.0, 1024)).expect_err(code);
    assert_eq!(error.kind, ErrorKind::Timeout, "{code}: {error:?}");
    assert!(
        error.message.contains("time limit exceeded (50 ms)"),
        "{code}: {}",
        error.message
    );
    assert!(started.elapsed() < Duration::from_secs(1), "{code}");
    error
}

fn output(code: &str) -> String {
    run(code.as_bytes(), "test", &Limits::default())
        .unwrap_or_else(|e| panic!("{code}: {e:?}"))
        .output
}

/// Lua's table functions loop in C, where the count hook never fires; with a length that
/// costs no memory (a sparse border, `__len`, a range) they ran for hours.
#[test]
fn table_functions_stop_at_the_time_limit() {
    // {1, [2] = 1, [4] = 1, ..., [2^40] = 1} has 41 elements and length 2^40.
    let sparse = format!(
        "local t = {{1{}}}",
        (1..=40)
            .map(|k| format!(", [{}] = 1", 1u64 << k))
            .collect::<String>()
    );
    assert_eq!(output(&format!("{sparse} print(#t)")), "1099511627776\n");
    times_out(&format!("{sparse} table.insert(t, 1, 0)"));
    times_out(&format!("{sparse} table.remove(t, 1)"));
    let long = "setmetatable({}, {__len = function() return 2^40 end})";
    times_out(&format!("table.insert({long}, 1, 0)"));
    times_out(&format!("table.remove({long}, 1)"));
    times_out("table.move({}, 1, 2^40, 2)");
    times_out("table.move({}, -2^40, 0, 1)");
    // Elements that C functions give (`__index`) and take (`__newindex`) cost nothing either.
    times_out("table.concat(setmetatable({}, {__index = table.concat}), '', 1, 2^40)");
    times_out(
        "table.sort(setmetatable({}, {__len = function() return 2^31 - 2 end, \
         __index = tostring, __newindex = rawequal}))",
    );
}

/// `string.rep` of empty strings copied nothing `n` times.
#[test]
fn string_rep_of_nothing_returns_at_once() {
    let started = Instant::now();
    assert_eq!(
        output(
            "print(#string.rep('', 2^40), #string.rep('', 2^40, ''), #string.rep('', 2^62, ''))"
        ),
        "0\t0\t0\n"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        output("print(string.rep('ab', 3, ','), ('x'):rep(2), string.rep('x', 0, ','), string.rep('', 3, '-'))"),
        "ab,ab,ab\txx\t\t--\n"
    );
    let e = run(b"string.rep()", "test", &Limits::default()).unwrap_err();
    assert!(
        e.message
            .contains("bad argument #1 to 'rep' (string expected, got no value)"),
        "{}",
        e.message
    );
    let e = run(b"string.rep('x', 1e9)", "test", &Limits::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Memory, "{e:?}");
    let e = run(b"string.rep('xx', 2^62)", "test", &Limits::default()).unwrap_err();
    assert_eq!(e.message, "test:1: resulting string too large");
    let e = run(b"string.rep('x', 2^31, 'x')", "test", &Limits::default()).unwrap_err();
    assert_eq!(e.message, "test:1: resulting string too large");
}

/// The table functions are Lua's own algorithms, with Lua's results and errors.
#[test]
fn table_functions_behave_as_lua() {
    let dump = "local function dump(t, n) local o = {} for i = 1, n or #t do o[i] = tostring(rawget(t, i)) end print(table.concat(o, ',')) end ";
    let cases = [
        ("local t = {1, 2, 3} table.insert(t, 1, 0) table.insert(t, 5) table.insert(t, 3, 'm') dump(t)", "0,1,m,2,3,5\n"),
        ("local t = {1, 2, 3, 4} print(table.remove(t, 2), table.remove(t), table.remove(t, 1)) dump(t, 4)", "2\t4\t1\n3,nil,nil,nil\n"),
        ("print(table.remove({}), table.remove({}, 0), table.remove({[0] = 'z'}, 0))", "nil\tnil\tz\n"),
        ("local t = {1, 2, 3, 4, 5} table.move(t, 1, 3, 2) dump(t)", "1,1,2,3,5\n"),
        ("local t = {1, 2, 3, 4, 5} table.move(t, 2, 5, 1) dump(t)", "2,3,4,5,5\n"),
        ("dump(table.move({1, 2, 3}, 1, 3, 3, {}), 5)", "nil,nil,1,2,3\n"),
        ("local s = setmetatable({}, {__index = function(_, k) return k * 10 end}) \
          local d = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v + 1) end}) \
          dump(table.move(s, 1, 3, 1, d))", "11,21,31\n"),
        ("print(table.concat({1, 2, 'x', 3.5}, ', '), table.concat({1, 2, 3}, '', 2), table.concat({}, 'x'), table.concat({1, 2}, '-', 2, 1))", "1, 2, x, 3.5\t23\t\t\n"),
        ("print(table.concat(setmetatable({}, {__index = function(_, k) return 'v' .. k end, __len = function() return 3 end}), '-'))", "v1-v2-v3\n"),
        ("local t = {5, 3, 8, 1, 9, 2, 7, 3, 3, 6, 1} table.sort(t) dump(t) table.sort(t, function(a, b) return a > b end) dump(t)", "1,1,2,3,3,3,5,6,7,8,9\n9,8,7,6,5,3,3,3,2,1,1\n"),
        ("local t = {'pear', 'apple', 'fig', 'banana', 'kiwi', 'apple'} table.sort(t) dump(t)", "apple,apple,banana,fig,kiwi,pear\n"),
        // Lua's quicksort, comparison for comparison.
        ("local n, t = 0, {} for i = 1, 50 do t[i] = (i * 31) % 50 end \
          table.sort(t, function(a, b) n = n + 1 return a < b end) print(n, t[1], t[50])", "262\t0\t49\n"),
        ("local t = {} for i = 1, 1000 do t[i] = (i * 7919) % 1009 end table.sort(t) \
          local ok = true for i = 2, 1000 do ok = ok and t[i - 1] <= t[i] end print(ok)", "true\n"),
    ];
    for (code, expected) in cases {
        assert_eq!(output(&format!("{dump}{code}")), expected, "{code}");
    }
    let errors = [
        (
            "table.insert()",
            "bad argument #1 to 'insert' (table expected, got no value)",
        ),
        (
            "table.insert({}, 1, 2, 3)",
            "wrong number of arguments to 'insert'",
        ),
        (
            "table.insert({}, 5, 1)",
            "bad argument #2 to 'insert' (position out of bounds)",
        ),
        (
            "table.insert({}, 'x', 1)",
            "bad argument #2 to 'insert' (number expected, got string)",
        ),
        (
            "table.remove({1, 2}, 4)",
            "bad argument #2 to 'remove' (position out of bounds)",
        ),
        (
            "table.move({}, -1, math.maxinteger, 1)",
            "bad argument #3 to 'move' (too many elements to move)",
        ),
        (
            "table.move({}, 1, 2, math.maxinteger)",
            "bad argument #4 to 'move' (destination wrap around)",
        ),
        (
            "table.concat({1, {}, 3})",
            "invalid value (table) at index 2 in table for 'concat'",
        ),
        (
            "table.concat('abc')",
            "bad argument #1 to 'concat' (table expected, got string)",
        ),
        (
            "table.sort({3, 1, 2}, 5)",
            "bad argument #2 to 'sort' (function expected, got number)",
        ),
        ("table.sort({3, 'a', 1})", "attempt to compare"),
        (
            "table.sort({3, 2, 1, 5, 4}, function() return true end)",
            "invalid order function for sorting",
        ),
        (
            "table.sort(setmetatable({}, {__len = function() return math.maxinteger end}))",
            "bad argument #1 to 'sort' (array too big)",
        ),
    ];
    for (code, expected) in errors {
        let e = run(code.as_bytes(), "test", &Limits::default()).expect_err(code);
        assert_eq!(e.kind, ErrorKind::Runtime, "{code}");
        assert!(e.message.contains(expected), "{code}: {}", e.message);
    }
    let values = run(
        b"local t = {3, 1, 2} table.sort(t) return t",
        "test",
        &Limits::default(),
    )
    .unwrap()
    .values;
    assert_eq!(
        values.decode().unwrap(),
        vec![LuaValue::Array(vec![
            LuaValue::Integer(1),
            LuaValue::Integer(2),
            LuaValue::Integer(3)
        ])]
    );
}

/// A `__close` handler that fails while a limit ends the call replaced the limit's message,
/// so the error said `output` or `timeout` but the message was the handler's.
#[test]
fn a_failing_close_handler_keeps_the_limit_message() {
    let closing = "local c <close> = setmetatable({}, {__close = function() error('mine') end}) ";
    let e = run(
        format!("{closing}print('x')").as_bytes(),
        "test",
        &limits(1000.0, 0),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Output);
    assert_eq!(e.message, "test:1: output limit exceeded (0 bytes)");
    // The pattern matcher ends the call with the count hook 1000 instructions away.
    let e = times_out(&format!(
        "{closing}string.find(string.rep('a', 1e5), '.-.-.-.-b')"
    ));
    assert_eq!(e.message, "test:1: time limit exceeded (50 ms)");
    // Where no limit was hit, the handler's error is the call's error, as in Lua.
    let e = run(
        format!("{closing}error('first')").as_bytes(),
        "test",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Runtime);
    assert!(e.message.ends_with("mine"), "{}", e.message);
}

/// C functions called from C loops run no instruction the count hook could stop, and one
/// call can be long: `load(collectgarbage)` reads "0" after "0", each after a full collection
/// of a heap the script made big first; it ran for minutes.
#[test]
fn c_functions_called_in_c_loops_stop_at_the_time_limit() {
    let big_heap = "local keep = {} for i = 1, 50000 do keep[i] = {} end ";
    times_out(&format!("{big_heap} load(collectgarbage)"));
    times_out(&format!(
        "{big_heap} string.gsub(string.rep('collect', 20000, ' '), '%a+', collectgarbage)"
    ));
    // Each comparison compiles 1.2 MB of source.
    times_out(
        "local src = string.rep('local x = 1 ', 1e5) local t = {} \
         for i = 1, 1000 do t[i] = src end table.sort(t, load)",
    );
    // C readers and replacements still work.
    assert_eq!(
        output(
            "print(load(string.gmatch('return 1 + 1', '.'))(), ('a b'):gsub('%a', string.upper))"
        ),
        "2\tA B\t2\n"
    );
}

/// With fewer than three arguments, `load`'s forced mode "t" took the place of the chunk
/// name (`load(s)` named its chunk `[string "t"]`) or of the chunk (`load()` compiled "t").
#[test]
fn load_keeps_its_arguments() {
    assert_eq!(
        output("print(load('x x')) print(pcall(load('error(\"e\")')))"),
        "nil\t[string \"x x\"]:1: syntax error near 'x'\nfalse\t[string \"error(\"e\")\"]:1: e\n"
    );
    assert_eq!(
        output("print(load('x x', '=name')) print(load('return ...', 'c', 't', {})(1, 2))"),
        "nil\tname:1: syntax error near 'x'\n1\t2\n"
    );
    let e = run(b"load()", "test", &Limits::default()).unwrap_err();
    assert!(e.message.contains("function expected"), "{}", e.message);
}

/// A limit raised from the count hook kills the chunk's coroutine with Lua's hooks still
/// disabled (a hook runs with them off, and a coroutine that dies keeps that), so its
/// pending `__close` handlers must not run afterwards: one that loops ran forever (found by
/// the program fuzzer). Same for a coroutine of the script.
#[test]
fn close_handlers_do_not_run_after_a_limit_ends_the_call() {
    for code in [
        "local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end",
        "coroutine.wrap(function() local x <close> = setmetatable({}, {__close = function() while true do end end}) while true do end end)()",
        "local x <close> = setmetatable({}, {__close = function() while true do end end}) local s = string.rep('x', 2^30)",
    ] {
        let started = std::time::Instant::now();
        let limits = Limits { time_ms: 100.0, memory_bytes: 8 << 20, ..Limits::default() };
        let e = run(code.as_bytes(), "test", &limits).expect_err(code);
        assert!(matches!(e.kind, ErrorKind::Timeout | ErrorKind::Memory), "{code}: {e:?}");
        assert!(started.elapsed().as_millis() < 1000, "{code} took {:?}", started.elapsed());
    }
}

/// A coroutine that died of a limit keeps Lua's hooks off; closing it from a handler that
/// runs while the limit's error unwinds (a `__close` of the `pcall` around it) ran its own
/// `__close` handler with no hook at all, for ever. Every way of running code after a limit
/// (closing coroutines, handlers, coroutines resumed from handlers) ends with the limit.
#[test]
fn no_code_runs_unhooked_after_a_limit() {
    let looping_close = "setmetatable({}, {__close = function() while true do end end})";
    let cases = [
        // The case as reported: the guard closes the coroutine that died of the limit.
        format!(
            "local co = coroutine.create(function() local x <close> = {looping_close} while true do end end) \
             pcall(function() \
               local guard <close> = setmetatable({{}}, {{__close = function() coroutine.close(co) end}}) \
               coroutine.resume(co) end)"
        ),
        // Closed after the pcall returned (the script goes on only until the hook fires).
        format!(
            "local co = coroutine.create(function() local x <close> = {looping_close} while true do end end) \
             pcall(coroutine.resume, co) coroutine.close(co)"
        ),
        // From a message handler, and from a handler of a coroutine's own coroutine.
        format!(
            "local co = coroutine.create(function() local x <close> = {looping_close} while true do end end) \
             xpcall(coroutine.resume, function() coroutine.close(co) end, co)"
        ),
        format!(
            "coroutine.wrap(function() \
               local co = coroutine.create(function() local x <close> = {looping_close} while true do end end) \
               local guard <close> = setmetatable({{}}, {{__close = function() coroutine.close(co) end}}) \
               coroutine.resume(co) end)()"
        ),
        // Handlers that start new coroutines, or loop in pcalls, once the limit fired.
        "pcall(function() local g <close> = setmetatable({}, {__close = function() \
           coroutine.wrap(function() while true do end end)() end}) while true do end end)"
            .to_string(),
        "pcall(function() local g <close> = setmetatable({}, {__close = function() \
           while true do pcall(function() while true do end end) end end}) while true do end end)"
            .to_string(),
        // Many handlers, each looping.
        format!(
            "local function f(n) local x <close> = {looping_close} if n > 0 then f(n - 1) end while true do end end \
             pcall(f, 150)"
        ),
        // The memory and output limits, then a close.
        format!(
            "local co = coroutine.create(function() local x <close> = {looping_close} local s = string.rep('x', 2^30) end) \
             pcall(function() local g <close> = setmetatable({{}}, {{__close = function() coroutine.close(co) end}}) \
               coroutine.resume(co) end)"
        ),
        format!(
            "local co = coroutine.create(function() local x <close> = {looping_close} while true do io.write('xxxxxxxx') end end) \
             pcall(function() local g <close> = setmetatable({{}}, {{__close = function() coroutine.close(co) end}}) \
               coroutine.resume(co) end)"
        ),
    ];
    for code in &cases {
        let started = std::time::Instant::now();
        let limits = Limits {
            time_ms: 100.0,
            memory_bytes: 8 << 20,
            output_bytes: 1 << 16,
        };
        let e = run(code.as_bytes(), "test", &limits).expect_err(code);
        assert!(
            matches!(
                e.kind,
                ErrorKind::Timeout | ErrorKind::Memory | ErrorKind::Output
            ),
            "{code}: {e:?}"
        );
        assert!(
            started.elapsed().as_millis() < 1000,
            "{code} took {:?}",
            started.elapsed()
        );
        assert_eq!(output("print('next')"), "next\n");
    }
}

/// A call that hit its output or time limit with its memory full could not build the
/// limit's message (building it raised a memory error instead), and a failing `__close`
/// handler then left the call with an `output` kind and the handler's message. Found by
/// the after-limit fuzzer with a 219 KiB limit.
#[test]
fn a_limit_hit_with_memory_full_keeps_its_message() {
    let memory_bytes = 256 << 10;
    let mut outputs = 0;
    for slack in (0..400).step_by(8) {
        // The handler first, then a list of small tables until `slack` bytes are left.
        let code = format!(
            "local c <close> = setmetatable({{}}, {{__close = function() error('mine') end}}) \
             local head, limit = nil, {memory_bytes} - {slack} \
             while collectgarbage('count') * 1024 < limit do head = {{head}} end \
             io.write('x')"
        );
        let limits = Limits {
            memory_bytes,
            time_ms: 1000.0,
            output_bytes: 0,
        };
        let e = run(code.as_bytes(), "test", &limits).unwrap_err();
        match e.kind {
            ErrorKind::Memory => assert_eq!(
                e.message,
                format!("not enough memory (memory limit is {memory_bytes} bytes)")
            ),
            ErrorKind::Output => {
                outputs += 1;
                assert_eq!(e.message, "test:1: output limit exceeded (0 bytes)");
            }
            _ => panic!("{slack} bytes left: {e:?}"),
        }
    }
    assert!(
        outputs > 0,
        "every case ran out of memory before its output"
    );
}
