//! Values that share structure, converted for the host: a table referenced many times is
//! written out each time (the wire format is a tree), within a budget of the call's memory
//! limit, and traversed once however often it is met (convert.rs).

use std::time::{Duration, Instant};

use pubwiki_lua_core::wire::{Writer, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, run, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, Request, Step,
    Values,
};

fn limits(memory: usize) -> Limits {
    Limits {
        memory_bytes: memory,
        time_ms: 1000.0,
        ..Limits::default()
    }
}

fn returned(code: &str, memory: usize) -> Result<Vec<LuaValue>, pubwiki_lua_core::RunError> {
    run(code.as_bytes(), "test", &limits(memory)).map(|out| out.values.decode().unwrap())
}

/// A DAG of `levels` tables, each holding the next twice: 2^levels tables written out.
fn dag(levels: u32) -> String {
    format!("local t = {{}} for i = 1, {levels} do t = {{t, t}} end")
}

#[test]
fn shared_tables_are_written_out_like_copies() {
    let values = returned(
        &format!(
            "{} local s = {{name = 'x', n = 1}} return t, {{s, s, {{s}}}}",
            dag(3)
        ),
        8 << 20,
    )
    .unwrap();
    let empty = LuaValue::Object(vec![]);
    let l1 = LuaValue::Array(vec![empty.clone(), empty]);
    let l2 = LuaValue::Array(vec![l1.clone(), l1]);
    assert_eq!(values[0], LuaValue::Array(vec![l2.clone(), l2]));
    let LuaValue::Array(items) = &values[1] else {
        panic!("{values:?}")
    };
    assert_eq!(items[0], items[1]);
    assert_eq!(items[2], LuaValue::Array(vec![items[0].clone()]));
}

#[test]
fn a_value_whose_copy_passes_the_memory_limit_is_a_memory_error() {
    for code in [
        // One 1 MiB string, 1,100 times: ~1 MiB in the state, 1.1 GB written out.
        "local s = string.rep('x', 1 << 20) local t = {} for i = 1, 1100 do t[i] = s end return t"
            .to_string(),
        // 26 tables in the state, 2^26 written out.
        format!("{} return t", dag(26)),
        format!("{} return 1, t", dag(40)),
        // Each its own value: together they pass the limit.
        "local s = string.rep('x', 3 << 20) return s, s, s".to_string(),
    ] {
        let started = Instant::now();
        let error = returned(&code, 8 << 20).expect_err(&code);
        assert_eq!(error.kind, ErrorKind::Memory, "{code}: {error:?}");
        assert!(
            error.message.contains(
                "cannot be converted: its copy would take more than the memory limit (8388608 bytes)"
            ),
            "{code}: {}",
            error.message
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{code}: {:?}",
            started.elapsed()
        );
    }
    // The same values fit a bigger limit, or none at all when nothing is shared.
    assert!(returned("local s = string.rep('x', 3 << 20) return s, s", 8 << 20).is_ok());
    assert_eq!(
        returned(&format!("{} return #t", dag(40)), 8 << 20).unwrap()[0],
        LuaValue::Integer(2)
    );
}

#[test]
fn a_shared_table_is_traversed_once() {
    // An array part of a million nil slots: each traversal skips them all (~ms). Met 50,000
    // times, traversing it each time took minutes; it is copied instead.
    let code = "local e = {} for i = 1, 1e6 do e[i] = true end for i = 1, 1e6 do e[i] = nil end \
                local t = {} for i = 1, 50000 do t[i] = e end return t";
    let started = Instant::now();
    let values = returned(code, 64 << 20).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let LuaValue::Array(items) = &values[0] else {
        panic!()
    };
    assert_eq!(items.len(), 50000);
    assert!(items.iter().all(|item| *item == LuaValue::Object(vec![])));
}

#[test]
fn nesting_counts_through_shared_tables() {
    // 60 levels, met at a depth of 50: 110 levels written out.
    let code = "local deep = {} local c = deep for i = 1, 59 do c[1] = {} c = c[1] end \
                local top = {} local d = top for i = 1, 50 do d[1] = {} d = d[1] end \
                d[1] = deep return deep, top";
    let error = returned(code, 8 << 20).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert!(
        error
            .message
            .contains("return value #2 cannot be converted: tables nested deeper than 100 levels"),
        "{}",
        error.message
    );
    // A cycle is still a cycle, whether met before or not.
    let error = returned("local a = {} local b = {a} a[1] = b return b, a", 8 << 20).unwrap_err();
    assert!(
        error.message.contains("a table contains itself"),
        "{}",
        error.message
    );
}

/// A host that records the arguments of every call and answers with nothing.
struct Recorder(Vec<usize>);

impl Host for Recorder {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (_, args, _) = request.as_call();
        self.0.push(args.len());
        let mut reply = Writer::new();
        reply.tag(REPLY_VALUES).count(0);
        reply.into_bytes()
    }
}

fn with_host(
    code: &str,
    state: bool,
) -> (
    Result<Vec<LuaValue>, pubwiki_lua_core::RunError>,
    Vec<usize>,
) {
    let mut globals = Writer::new();
    globals.table(1).string(b"see").function(0, "see");
    let mut spec = CallSpec::chunk(code, "test")
        .limits(limits(8 << 20))
        .globals(globals.into_bytes());
    spec.state = state;
    let mut call = Call::new(spec, monotonic_ms);
    let mut host = Recorder(Vec::new());
    let result = match call.resume(&mut host, None) {
        Step::Done(result) => result.map(|out| Values::decode(&out.values).unwrap()),
        Step::Waiting { .. } => panic!("waited"),
        Step::Preempted => panic!("preempted without a budget"),
    };
    (result, host.0)
}

#[test]
fn host_function_arguments_and_state_values_have_the_same_budget() {
    let (result, calls) = with_host(
        &format!(
            "{} local ok, e = pcall(see, t) local s = string.rep('x', 3 << 20) local ok2, e2 = pcall(see, 1, s, s, s) \
             see('small', t[1] == t[2]) return e, e2",
            dag(30)
        ),
        false,
    );
    let values = result.unwrap();
    assert_eq!(
        values[0],
        LuaValue::String(
            "bad argument #1 to 'see' (cannot be converted: its copy would take more than the memory limit (8388608 bytes))"
                .into()
        )
    );
    assert!(
        matches!(&values[1], LuaValue::String(e) if e.contains("bad argument #4 to 'see'")),
        "{values:?}"
    );
    assert_eq!(calls.len(), 1, "only the small call reached the host");

    let (result, _) = with_host(
        &format!("{} return select(2, pcall(State.set, 'k', t))", dag(30)),
        true,
    );
    let values = result.unwrap();
    assert!(
        matches!(&values[0], LuaValue::String(e) if e.ends_with(
            "(cannot be stored: its copy would take more than the memory limit (8388608 bytes))"
        )),
        "{values:?}"
    );
}
