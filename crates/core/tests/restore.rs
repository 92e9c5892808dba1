//! Calls restored from an arena's image (arena.rs): nothing one call does reaches the next
//! on the same arena, whatever it changed and however it ended; the pool grows with the
//! calls in flight and gives memory back.

use std::sync::Arc;

use pubwiki_lua_core::wire::{Writer, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, ArenaPool, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, Request,
    RunError, RunOutput, Step,
};

fn pool() -> Arc<ArenaPool> {
    Arc::new(ArenaPool::with_preload(Vec::new(), Limits::DEFAULT))
}

fn run_in(pool: &Arc<ArenaPool>, code: &str, limits: Limits) -> Result<RunOutput, RunError> {
    let spec = CallSpec::chunk(code, "restore")
        .limits(limits)
        .pool(pool.clone());
    Call::new(spec, monotonic_ms).run_to_end()
}

fn values(pool: &Arc<ArenaPool>, code: &str) -> Vec<LuaValue> {
    let out = run_in(pool, code, Limits::default()).unwrap_or_else(|e| panic!("{code}: {e:?}"));
    out.values.decode().unwrap()
}

fn string(s: &str) -> LuaValue {
    LuaValue::String(s.to_string())
}

/// What a fresh call sees of the state: globals, libraries, metatables, package.loaded.
const LOOK: &str = r#"
    local seen = {}
    for k in pairs(_G) do seen[#seen + 1] = k end
    for k in pairs(string) do seen[#seen + 1] = "string." .. k end
    for k in pairs(package.loaded) do seen[#seen + 1] = "loaded." .. k end
    table.sort(seen)
    return table.concat(seen, ","), getmetatable("").__index == string, ("x"):upper(),
        tostring(rawget(_G, "leak")), collectgarbage("count") < 64
"#;

#[test]
fn a_call_leaves_no_trace_in_the_next_on_its_arena() {
    let pool = pool();
    let pristine = values(&pool, LOOK);
    for change in [
        "leak = 1 string.leak = 1 _G.print = nil",
        "getmetatable('').__index = { upper = function() return 'hacked' end }",
        "getmetatable('').__metatable = false setmetatable(_G, { __index = function() return 'leak' end })",
        "package.loaded.leak = true package.loaded.string = nil package.preload.x = print",
        "table.insert = nil coroutine.wrap = nil math.random = nil os.clock = nil",
        "local t = {} for i = 1, 1e5 do t[i] = ('x'):rep(i % 100) end leak = t",
        "local co = coroutine.wrap(function() while true do coroutine.yield(leak) end end) co() leak = co",
        "local n = 0 function counter() n = n + 1 return n end counter() counter()",
        "_ENV = nil",
        "collectgarbage('generational') collectgarbage('stop')",
    ] {
        let _ = run_in(&pool, change, Limits::default());
        assert_eq!(values(&pool, LOOK), pristine, "after {change}");
        assert_eq!(pool.idle().0, 1, "one arena serves the calls one after the other");
    }
}

#[test]
fn every_call_has_its_own_random_sequence() {
    let pool = pool();
    let draw = "return math.random(1 << 40), math.random(1 << 40)";
    let a = values(&pool, draw);
    let b = values(&pool, draw);
    assert_ne!(a, b);
    // A call that seeds its own generator changes no later call's sequence.
    let seeded = values(&pool, &format!("math.randomseed(42) {draw}"));
    assert_eq!(
        values(&pool, &format!("math.randomseed(42) {draw}")),
        seeded
    );
    assert_ne!(values(&pool, draw), seeded);
}

#[test]
fn a_call_ended_by_any_limit_leaves_an_arena_the_next_call_uses_cleanly() {
    let pool = pool();
    let pristine = values(&pool, LOOK);
    let limits = |memory: usize, time: f64, output: usize| Limits {
        memory_bytes: memory,
        time_ms: time,
        output_bytes: output,
    };
    for (code, limits, kind) in [
        ("leak = 1 while true do end", limits(8 << 20, 50.0, 1 << 20), ErrorKind::Timeout),
        ("leak = {} while true do leak[#leak + 1] = {} end", limits(2 << 20, 5000.0, 1 << 20), ErrorKind::Memory),
        ("leak = 1 while true do io.write('xxxx') end", limits(8 << 20, 5000.0, 1000), ErrorKind::Output),
        ("leak = 1 local t <close> = setmetatable({}, {__close = function() while true do end end}) error('x')", limits(8 << 20, 50.0, 1 << 20), ErrorKind::Timeout),
        ("leak = 1 string.x = ('x'):rep(1 << 20) error(setmetatable({}, {__tostring = function() while true do end end}))", limits(8 << 20, 50.0, 1 << 20), ErrorKind::Timeout),
        ("leak = 1 return ('x'):rep(100000):rep(100)", limits(4 << 20, 5000.0, 1 << 20), ErrorKind::Memory),
        ("leak = 1 local t = {} for i = 1, 30 do t = {t, t} end return t", limits(1 << 20, 5000.0, 1 << 20), ErrorKind::Memory),
        ("leak = 1 return 1 +", Limits::default(), ErrorKind::Syntax),
        // The image alone does not fit: refused before any code runs.
        ("leak = 1", limits(4096, 5000.0, 1 << 20), ErrorKind::Memory),
    ] {
        let error = run_in(&pool, code, limits).unwrap_err();
        assert_eq!(error.kind, kind, "{code}: {}", error.message);
        assert_eq!(values(&pool, LOOK), pristine, "after {code}");
    }
    assert_eq!(pool.idle().0, 1);
}

#[test]
fn a_panic_in_a_call_retires_its_arena() {
    let pool = pool();
    values(&pool, "return 1");
    assert_eq!(pool.idle().0, 1);
    let spec = CallSpec::chunk("return 1", "pubwiki-lua:panic").pool(pool.clone());
    let result = Call::new(spec, monotonic_ms).run_to_end();
    if cfg!(feature = "fault-injection") {
        assert_eq!(result.unwrap_err().message, "internal error in pubwiki-lua");
        assert_eq!(
            pool.idle().0,
            0,
            "the arena of a call that panicked is not pooled"
        );
    }
    assert_eq!(values(&pool, "return 2"), vec![LuaValue::Integer(2)]);
}

/// A host whose one function (`later`) always answers later.
struct Later;

impl Host for Later {
    fn request(&mut self, _request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        vec![REPLY_PENDING]
    }
}

fn answer(value: i64) -> Vec<u8> {
    let mut w = Writer::new();
    w.tag(REPLY_VALUES).count(1).integer(value);
    w.into_bytes()
}

#[test]
fn the_pool_grows_with_calls_in_flight_and_shrinks_as_they_end() {
    let pool = pool();
    let mut globals = Writer::new();
    globals.table(1).string(b"later").function(0, "later");
    let globals = globals.into_bytes();
    let mut calls: Vec<Call> = (0..40)
        .map(|i| {
            let code = format!("leak = {i} return later() + {i}");
            let spec = CallSpec::chunk(code, "w")
                .globals(globals.clone())
                .pool(pool.clone());
            Call::new(spec, monotonic_ms)
        })
        .collect();
    // Every call waits, each holding an arena of its own.
    for call in &mut calls {
        assert!(matches!(
            call.resume(&mut Later, None),
            Step::Waiting { .. }
        ));
    }
    assert_eq!(pool.idle().0, 0);
    for (i, mut call) in calls.into_iter().enumerate() {
        let Step::Done(Ok(out)) = call.resume(&mut Later, Some(answer(100))) else {
            panic!("call {i}")
        };
        assert_eq!(
            out.values.decode().unwrap(),
            vec![LuaValue::Integer(100 + i as i64)]
        );
    }
    let (idle, _) = pool.idle();
    assert_eq!(idle, pubwiki_lua_core::MAX_IDLE_ARENAS);
    assert_eq!(values(&pool, "return leak"), vec![LuaValue::Nil]);
}

#[test]
fn an_arena_gives_back_what_its_call_grew_beyond_its_image() {
    let pool = pool();
    values(&pool, "return 1");
    let (_, small) = pool.idle();
    let big = "local t = {} for i = 1, 200 do t[i] = ('x'):rep(1 << 20, '', i) end return #t";
    let limits = Limits {
        memory_bytes: 512 << 20,
        ..Limits::default()
    };
    assert_eq!(
        run_in(&pool, big, limits).unwrap().values.decode().unwrap(),
        vec![LuaValue::Integer(200)]
    );
    let (idle, held) = pool.idle();
    assert_eq!(idle, 1);
    assert!(
        held <= small + pubwiki_lua_core::SPARE_BYTES + (1 << 20),
        "{held} bytes kept"
    );
    assert_eq!(
        values(&pool, "return type(string.rep)"),
        vec![string("function")]
    );
}

fn preloaded(modules: &[(&str, &str)], limits: Limits) -> Arc<ArenaPool> {
    let modules = modules
        .iter()
        .map(|(name, source)| (name.to_string(), source.as_bytes().to_vec()))
        .collect();
    Arc::new(ArenaPool::with_preload(modules, limits))
}

#[test]
fn preloaded_modules_are_in_the_image_and_every_call_gets_them_pristine() {
    let pool = preloaded(
        &[
            ("Module:Util", "print('loading util') return { n = 0, twice = function(x) return 2 * x end }"),
            ("Module:Page", "local util = require('Module:Util') return { render = function(x) util.n = util.n + 1 return util.twice(x), util.n end }"),
        ],
        Limits::default(),
    );
    for _ in 0..3 {
        // Loaded once, into the image: no output of its loading in any call.
        let out = run_in(
            &pool,
            "return require('Module:Page').render(21)",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(out.output, "");
        assert_eq!(
            out.values.decode().unwrap(),
            vec![LuaValue::Integer(42), LuaValue::Integer(1)]
        );
    }
    let spec = CallSpec::invoke("Module:Page", "render", "Page").pool(pool.clone());
    let mut args = Writer::new();
    args.count(1).integer(5);
    let out = Call::new(spec.arguments(args.into_bytes()), monotonic_ms)
        .run_to_end()
        .unwrap();
    assert_eq!(
        out.values.decode().unwrap(),
        vec![LuaValue::Integer(10), LuaValue::Integer(1)]
    );
    // A call that breaks a preloaded module breaks it for itself only.
    run_in(
        &pool,
        "require('Module:Util').twice = nil package.loaded['Module:Page'] = nil",
        Limits::default(),
    )
    .unwrap();
    assert_eq!(
        values(&pool, "return require('Module:Util').twice(2)"),
        vec![LuaValue::Integer(4)]
    );
}

#[test]
fn preloaded_modules_are_pure_and_bounded() {
    for (modules, message) in [
        (vec![("A", "return fetch()")], "preload: A:1: attempt to call a nil value (global 'fetch')"),
        (vec![("A", "return require('B')")], "preload: A:1: module 'B' is not preloaded (a preloaded module may require only preloaded modules)"),
        (vec![("A", "error('broken')")], "preload: A:1: broken"),
        (vec![("A", "return State")], ""),
        (vec![("A", "while true do end")], "preload: A:1: time limit exceeded (100 ms)"),
    ] {
        let limits = Limits {
            time_ms: 100.0,
            ..Limits::default()
        };
        let pool = preloaded(&modules, limits);
        let result = run_in(&pool, "return 1", Limits::default());
        match result {
            Ok(_) => assert_eq!(message, "", "{modules:?}"),
            Err(error) => assert_eq!(error.message, message),
        }
    }
}
