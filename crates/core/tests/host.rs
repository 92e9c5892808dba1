//! The host bridge at the core's level: globals, host functions answered at once, later
//! (a suspended call), with an error, or not at all; where Lua can and cannot wait.

use pubwiki_lua_core::wire::{Writer, REPLY_ERROR, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, Request, RunError,
    RunOutput, Step, Values,
};

/// What a test host function does with its arguments.
enum Answer {
    Now(Vec<u8>),
    Later,
}

type Function = Box<dyn FnMut(Vec<LuaValue>) -> Answer>;

struct TestHost {
    functions: Vec<Function>,
    calls: Vec<(String, Vec<LuaValue>)>,
}

impl Host for TestHost {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let Request::Call {
            function,
            name,
            args,
            ..
        } = request
        else {
            // No modules here (tests/modules.rs has them).
            return values(|w| {
                w.count(1).nil();
            });
        };
        let args = Values(args.to_vec()).decode().expect("arguments decode");
        self.calls.push((name.to_string(), args.clone()));
        match (self.functions[function as usize])(args) {
            Answer::Now(reply) => reply,
            Answer::Later => vec![REPLY_PENDING],
        }
    }
}

fn values(build: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    w.tag(REPLY_VALUES);
    build(&mut w);
    w.into_bytes()
}

fn one_integer(i: i64) -> Vec<u8> {
    values(|w| {
        w.count(1).integer(i);
    })
}

fn error_reply(message: &str, cause: u32) -> Vec<u8> {
    let mut w = Writer::new();
    w.tag(REPLY_ERROR)
        .bytes(message.as_bytes())
        .varint(cause as u64);
    w.into_bytes()
}

/// Globals naming functions 0..n (in order) plus the data written by `data`.
fn globals(names: &[&str], data: impl FnOnce(&mut Writer) -> usize) -> Vec<u8> {
    let mut fields = Writer::new();
    let n = data(&mut fields);
    let mut w = Writer::new();
    w.table(names.len() + n);
    for (index, name) in names.iter().enumerate() {
        w.string(name.as_bytes()).function(index as u32, name);
    }
    let mut bytes = w.into_bytes();
    bytes.extend(fields.into_bytes());
    bytes
}

fn call(code: &str, names: &[&str], limits: Limits) -> Call {
    Call::new(
        CallSpec::chunk(code, "test")
            .limits(limits)
            .globals(globals(names, |_| 0)),
        monotonic_ms,
    )
}

/// Runs `call` to its end, answering waits in order from `answers`.
fn drive(
    mut call: Call,
    host: &mut TestHost,
    answers: Vec<Vec<u8>>,
) -> (Result<RunOutput, RunError>, usize) {
    let mut answers = answers.into_iter();
    let mut waits = 0;
    let mut step = call.resume(host, None);
    loop {
        match step {
            Step::Done(result) => return (result, waits),
            Step::Waiting { .. } => {
                waits += 1;
                step = call.resume(host, answers.next());
            }
            Step::Preempted => panic!("preempted without a budget"),
        }
    }
}

fn host(functions: Vec<Function>) -> TestHost {
    TestHost {
        functions,
        calls: Vec::new(),
    }
}

fn adder() -> Function {
    Box::new(|args| match args.as_slice() {
        [LuaValue::Integer(a), LuaValue::Integer(b)] => Answer::Now(one_integer(a + b)),
        _ => Answer::Now(error_reply("add wants two integers", 0)),
    })
}

fn later() -> Function {
    Box::new(|_| Answer::Later)
}

fn decoded(result: Result<RunOutput, RunError>) -> (String, Vec<LuaValue>) {
    let out = result.unwrap_or_else(|e| panic!("{e:?}"));
    (out.output, out.values.decode().unwrap())
}

#[test]
fn data_globals_and_a_sync_host_function() {
    let g = globals(&["add"], |w| {
        w.string(b"args").table(2);
        w.string(b"title").string(b"Lua");
        w.string(b"year").integer(1993);
        1
    });
    let code = "print(args.title) return add(args.year, 33)";
    let call = Call::new(CallSpec::chunk(code, "test").globals(g), monotonic_ms);
    let mut host = host(vec![adder()]);
    let (result, waits) = drive(call, &mut host, vec![]);
    assert_eq!(
        decoded(result),
        ("Lua\n".into(), vec![LuaValue::Integer(2026)])
    );
    assert_eq!(waits, 0);
    assert_eq!(
        host.calls,
        vec![(
            "add".to_string(),
            vec![LuaValue::Integer(1993), LuaValue::Integer(33)]
        )]
    );
}

#[test]
fn host_errors_are_lua_errors_at_the_call_site() {
    let mut h = host(vec![Box::new(|_| {
        Answer::Now(error_reply("no such page", 7))
    })]);
    let code = "local ok, e = pcall(fetch, 'x') print(ok, e)\nfetch('y')";
    let (result, _) = drive(call(code, &["fetch"], Limits::default()), &mut h, vec![]);
    let error = result.unwrap_err();
    assert_eq!(error.output, "false\ttest:1: no such page\n");
    assert_eq!(
        (error.kind, error.message.as_str(), error.cause),
        (ErrorKind::Runtime, "test:2: no such page", Some(7))
    );
    assert!(
        error.traceback.contains("in function 'fetch'"),
        "{}",
        error.traceback
    );
    // A message the script made itself names no cause.
    let mut h = host(vec![Box::new(|_| Answer::Now(error_reply("gone", 3)))]);
    let (result, _) = drive(
        call(
            "local ok, e = pcall(fetch) error('wrapped: ' .. e)",
            &["fetch"],
            Limits::default(),
        ),
        &mut h,
        vec![],
    );
    assert_eq!(result.unwrap_err().cause, None);
}

#[test]
fn waits_from_the_chunk_pcall_xpcall_and_coroutines() {
    let code = r#"
        local a = fetch(1)
        local ok, b = pcall(fetch, 2)
        local _, c = xpcall(function() return fetch(3) end, debug.traceback)
        local gen = coroutine.wrap(function()
            for i = 4, 5 do coroutine.yield(fetch(i)) end
        end)
        local d, e = gen(), gen()
        local co = coroutine.create(function()
            local inner = coroutine.wrap(function() return fetch(6) end)
            coroutine.yield(inner())
            return fetch(7)
        end)
        local _, f = coroutine.resume(co)
        local _, g = coroutine.resume(co)
        return a, b, c, d, e, f, g, coroutine.status(co)
    "#;
    let mut h = host(vec![later()]);
    let answers = (1..=7).map(|i| one_integer(i * 10)).collect();
    let (result, waits) = drive(call(code, &["fetch"], Limits::default()), &mut h, answers);
    let (_, values) = decoded(result);
    let mut expected: Vec<LuaValue> = (1..=7).map(|i| LuaValue::Integer(i * 10)).collect();
    expected.push(LuaValue::String("dead".into()));
    assert_eq!(values, expected);
    assert_eq!(waits, 7);
}

#[test]
fn an_answer_that_is_an_error_raises_where_the_script_waited() {
    let mut h = host(vec![later()]);
    let code = "local ok, e = pcall(fetch) print(e) return fetch()";
    let (result, waits) = drive(
        call(code, &["fetch"], Limits::default()),
        &mut h,
        vec![error_reply("first", 1), error_reply("second", 2)],
    );
    let error = result.unwrap_err();
    assert_eq!(waits, 2);
    assert_eq!(error.output, "test:1: first\n");
    assert_eq!(
        (error.message.as_str(), error.cause),
        ("test:1: second", Some(2))
    );
}

#[test]
fn where_lua_cannot_wait_a_pending_answer_is_an_error() {
    for (code, inside) in [
        ("table.sort({3, 2, 1}, function(a, b) fetch() return a < b end)", "table.sort"),
        ("string.gsub('abc', '%w', function(c) return fetch() end)", "string.gsub"),
        ("print(setmetatable({}, {__tostring = function() return fetch() end}))", "print"),
        ("table.sort({3, 2, 1}, function(a, b) return coroutine.wrap(function() return fetch() end)() end)", "table.sort"),
        ("local f, e = load(function() return fetch() end) error(e, 0)", "load"),
    ] {
        let mut h = host(vec![later()]);
        let (result, waits) = drive(call(code, &["fetch"], Limits::default()), &mut h, vec![]);
        let error = result.expect_err(code);
        assert_eq!(waits, 0, "{code}");
        assert!(
            error.message.ends_with(&format!("cannot wait for 'fetch' here (inside {inside})")),
            "{code}: {}",
            error.message
        );
    }
    // Sync answers work there.
    let mut h = host(vec![adder()]);
    let (result, _) = drive(
        call("local t = {3, 1, 2} table.sort(t, function(a, b) return add(a, 0) < add(b, 0) end) return t", &["add"], Limits::default()),
        &mut h,
        vec![],
    );
    assert_eq!(
        decoded(result).1,
        vec![LuaValue::Array(vec![
            LuaValue::Integer(1),
            LuaValue::Integer(2),
            LuaValue::Integer(3)
        ])]
    );
}

#[test]
fn a_synchronous_call_cannot_wait() {
    let mut h = host(vec![later()]);
    let spec = CallSpec::chunk("return pcall(fetch)", "test")
        .globals(globals(&["fetch"], |_| 0))
        .synchronous();
    let call = Call::new(spec, monotonic_ms);
    let (result, _) = drive(call, &mut h, vec![]);
    assert_eq!(
        decoded(result).1,
        vec![
            LuaValue::Boolean(false),
            LuaValue::String("test:1: cannot wait for 'fetch' in a synchronous call".into())
        ]
    );
}

#[test]
fn a_wait_abandoned_at_the_deadline_is_a_timeout_pcall_cannot_catch() {
    let limits = Limits {
        time_ms: 50.0,
        ..Limits::default()
    };
    let mut h = host(vec![later()]);
    let code = "print('before') local ok = pcall(fetch) print('after', ok) while true do end";
    let mut call = call(code, &["fetch"], limits.clone());
    assert!(matches!(call.resume(&mut h, None), Step::Waiting { .. }));
    std::thread::sleep(std::time::Duration::from_millis(60));
    // A late answer is ignored: the time is up.
    let Step::Done(result) = call.resume(&mut h, Some(one_integer(1))) else {
        panic!("still waiting")
    };
    let error = result.unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str(), error.output.as_str()),
        (
            ErrorKind::Timeout,
            "test:1: time limit exceeded (50 ms)",
            "before\n"
        )
    );
    // The driver giving up (no answer) ends the same way.
    let mut call2 = self::call("fetch()", &["fetch"], limits.clone());
    assert!(matches!(call2.resume(&mut h, None), Step::Waiting { .. }));
    let Step::Done(result) = call2.resume(&mut h, None) else {
        panic!()
    };
    assert_eq!(result.unwrap_err().kind, ErrorKind::Timeout);
}

#[test]
fn a_loop_of_sync_host_calls_stops_at_its_time_limit() {
    let limits = Limits {
        time_ms: 100.0,
        ..Limits::default()
    };
    let mut h = host(vec![adder()]);
    let started = std::time::Instant::now();
    let (result, _) = drive(
        call(
            "local n = 0 while true do n = add(n, 1) end",
            &["add"],
            limits,
        ),
        &mut h,
        vec![],
    );
    assert_eq!(result.unwrap_err().kind, ErrorKind::Timeout);
    assert!(started.elapsed().as_millis() < 1000);
}

#[test]
fn results_count_against_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let big = vec![b'x'; 2 << 20];
    for reply in [
        values(|w| {
            w.count(1).string(&big);
        }),
        values(|w| {
            w.count(1).oversized();
        }),
    ] {
        let mut h = host(vec![later()]);
        let code = "print('p') local ok, e = pcall(fetch) print('caught?')";
        let (result, _) = drive(call(code, &["fetch"], limits.clone()), &mut h, vec![reply]);
        let error = result.unwrap_err();
        assert_eq!(
            (error.kind, error.output.as_str()),
            (ErrorKind::Memory, "p\n")
        );
    }
    // Globals too.
    let g = globals(&[], |w| {
        w.string(b"big").string(&big);
        1
    });
    let spec = CallSpec::chunk("return 1", "test").limits(limits.clone());
    for spec in [spec.clone().globals(g), spec.arguments(values_of(&big))] {
        let result = Call::new(spec, monotonic_ms).resume(&mut host(vec![]), None);
        let Step::Done(Err(error)) = result else {
            panic!()
        };
        assert_eq!(
            (error.kind, error.message.as_str()),
            (
                ErrorKind::Memory,
                "not enough memory (memory limit is 1048576 bytes)"
            )
        );
    }
}

/// Wire values: one string.
fn values_of(string: &[u8]) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.count(1).string(string);
    writer.into_bytes()
}

#[test]
fn arguments_that_cannot_be_converted_are_argument_errors() {
    let mut h = host(vec![adder()]);
    let (result, _) = drive(
        call(
            "local t = {} t.t = t add(1, t)",
            &["add"],
            Limits::default(),
        ),
        &mut h,
        vec![],
    );
    assert_eq!(
        result.unwrap_err().message,
        "test:1: bad argument #2 to 'add' (cannot be converted: a table contains itself)"
    );
    assert!(h.calls.is_empty());
}

#[test]
fn arguments_are_read_raw_never_through_metamethods() {
    let mut h = host(vec![Box::new(|_| {
        Answer::Now(values(|w| {
            w.count(0);
        }))
    })]);
    let code = r#"
        local hostile = setmetatable({1}, {__index = function() error("index") end, __pairs = function() error("pairs") end, __len = function() error("len") end})
        log(hostile) return "ok"
    "#;
    let (result, _) = drive(call(code, &["log"], Limits::default()), &mut h, vec![]);
    assert_eq!(decoded(result).1, vec![LuaValue::String("ok".into())]);
    assert_eq!(
        h.calls[0].1,
        vec![LuaValue::Array(vec![LuaValue::Integer(1)])]
    );
}

#[test]
fn the_chunk_still_looks_like_the_main_thread() {
    let (out, values) = decoded(pubwiki_lua_core::run(
        b"local co, main = coroutine.running() return main, coroutine.isyieldable(), pcall(coroutine.yield, 1)",
        "test",
        &Limits::default(),
    ));
    assert_eq!(out, "");
    assert_eq!(
        values,
        vec![
            LuaValue::Boolean(true),
            LuaValue::Boolean(false),
            LuaValue::Boolean(false),
            LuaValue::String("attempt to yield from outside a coroutine".into())
        ]
    );
    let (_, values) = decoded(pubwiki_lua_core::run(
        b"local co = coroutine.create(function() local _, main = coroutine.running() coroutine.yield(main, coroutine.isyieldable()) end) return coroutine.resume(co)",
        "test",
        &Limits::default(),
    ));
    assert_eq!(
        values,
        vec![
            LuaValue::Boolean(true),
            LuaValue::Boolean(false),
            LuaValue::Boolean(true)
        ]
    );
}

#[test]
fn host_functions_returned_by_the_host_are_callable() {
    // Function 0 returns function 1, which adds.
    let mut h = host(vec![
        Box::new(|_| {
            Answer::Now(values(|w| {
                w.count(1).function(1, "make().add");
            }))
        }),
        adder(),
    ]);
    let (result, _) = drive(
        call(
            "local add = make() return add(40, 2), type(add)",
            &["make"],
            Limits::default(),
        ),
        &mut h,
        vec![],
    );
    assert_eq!(
        decoded(result).1,
        vec![LuaValue::Integer(42), LuaValue::String("function".into())]
    );
    assert_eq!(h.calls[1].0, "make().add");
}
