//! Slices with a budget (`Call::resume_within`): a slice that outlasts its budget ends
//! preempted where Lua can yield, and the call goes on where it stopped, with its limits,
//! its coroutines and its host's waits as they were.

use std::time::Instant;

use pubwiki_lua_core::wire::{Writer, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, NoHost, Request,
    RunError, RunOutput, Step,
};

/// Runs `call` with a budget for every slice; returns its result and how often it was
/// preempted. Waits are answered at once with `answer` (one integer).
fn run(
    mut call: Call,
    budget_ms: f64,
    host: &mut dyn Host,
    answer: i64,
) -> (Result<RunOutput, RunError>, usize) {
    let mut preempted = 0;
    let mut reply = None;
    loop {
        match call.resume_within(host, reply.take(), Some(budget_ms)) {
            Step::Done(result) => return (result, preempted),
            Step::Preempted => preempted += 1,
            Step::Waiting { .. } => {
                let mut w = Writer::new();
                w.tag(REPLY_VALUES).count(1).integer(answer);
                reply = Some(w.into_bytes());
            }
        }
    }
}

fn chunk(code: &str) -> Call {
    Call::new(CallSpec::chunk(code, "p"), monotonic_ms)
}

fn values(result: Result<RunOutput, RunError>) -> Vec<LuaValue> {
    result.unwrap().values.decode().unwrap()
}

#[test]
fn a_long_slice_is_preempted_and_goes_on_where_it_stopped() {
    let code = "local n = 0 for i = 1, 3e7 do n = n + 1 end print('done') return n";
    let started = Instant::now();
    let (result, preempted) = run(chunk(code), 2.0, &mut NoHost, 0);
    assert!(
        preempted > 0,
        "a loop of 30 million turns outlasts 2 ms slices"
    );
    let out = result.unwrap();
    assert_eq!(out.output, "done\n");
    assert_eq!(
        out.values.decode().unwrap(),
        vec![LuaValue::Integer(30_000_000)]
    );
    assert!(started.elapsed().as_secs_f64() < 30.0);
    // A short call is never preempted.
    assert_eq!(run(chunk("return 1"), 2.0, &mut NoHost, 0).1, 0);
}

#[test]
fn preemption_inside_coroutines_and_protected_calls_keeps_their_semantics() {
    let code = r#"
        local gen = coroutine.wrap(function()
            for i = 1, 40 do
                local n = 0 for j = 1, 2e5 do n = n + j end
                coroutine.yield(i)
            end
        end)
        local sum = 0
        for _ = 1, 40 do
            local ok, v = pcall(gen)
            sum = sum + v
        end
        local co = coroutine.create(function(a)
            local n = 0 for j = 1, 5e6 do n = n + 1 end
            local b = coroutine.yield(a + n)
            return b * 2
        end)
        local _, first = coroutine.resume(co, 1)
        local _, second = coroutine.resume(co, 21)
        return sum, first, second, coroutine.status(co)
    "#;
    let (result, preempted) = run(chunk(code), 1.0, &mut NoHost, 0);
    assert!(preempted > 0);
    assert_eq!(
        values(result),
        vec![
            LuaValue::Integer(820),
            LuaValue::Integer(5_000_001),
            LuaValue::Integer(42),
            LuaValue::String("dead".into())
        ]
    );
}

#[test]
fn where_lua_cannot_yield_the_slice_runs_on_until_it_can() {
    // A comparator called by table.sort (C) cannot yield: the slice goes on through it.
    let code = r#"
        local t = {} for i = 1, 3000 do t[i] = (i * 7919) % 3000 end
        table.sort(t, function(a, b) local n = 0 for i = 1, 200 do n = n + i end return a < b end)
        local n = 0 for i = 1, 1e7 do n = n + 1 end
        return t[1], t[3000], n
    "#;
    let (result, _) = run(chunk(code), 1.0, &mut NoHost, 0);
    assert_eq!(
        values(result),
        vec![
            LuaValue::Integer(0),
            LuaValue::Integer(2999),
            LuaValue::Integer(10_000_000)
        ]
    );
}

#[test]
fn the_time_limit_holds_across_preempted_slices() {
    let limits = Limits {
        time_ms: 200.0,
        ..Limits::default()
    };
    for code in [
        "while true do end",
        "local co = coroutine.wrap(function() while true do end end) co()",
        "while true do pcall(function() while true do end end) end",
    ] {
        let started = Instant::now();
        let call = Call::new(
            CallSpec::chunk(code, "p").limits(limits.clone()),
            monotonic_ms,
        );
        let (result, preempted) = run(call, 5.0, &mut NoHost, 0);
        assert!(preempted > 0, "{code}");
        assert_eq!(result.unwrap_err().kind, ErrorKind::Timeout, "{code}");
        assert!(started.elapsed().as_millis() < 5000, "{code}");
    }
}

/// A host whose function `later` answers later.
struct Later;

impl Host for Later {
    fn request(&mut self, _request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        vec![REPLY_PENDING]
    }
}

#[test]
fn preempted_slices_and_waits_for_the_host_mix() {
    let mut globals = Writer::new();
    globals.table(1).string(b"later").function(0, "later");
    let code = r#"
        local total = 0
        for i = 1, 5 do
            local n = 0 for j = 1, 2e6 do n = n + 1 end
            total = total + later() + n
        end
        return total
    "#;
    let spec = CallSpec::chunk(code, "p").globals(globals.into_bytes());
    let (result, preempted) = run(Call::new(spec, monotonic_ms), 1.0, &mut Later, 10);
    assert!(preempted > 0);
    assert_eq!(values(result), vec![LuaValue::Integer(10_000_050)]);
}

/// `inner()` runs a call of 30 ms inside the call that asked; `mark(n)` notes `n`.
#[derive(Default)]
struct Nesting {
    marked: std::rc::Rc<std::cell::Cell<i64>>,
}

impl Host for Nesting {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (function, args, _) = request.as_call();
        if function == 1 {
            if let [LuaValue::Integer(n)] =
                pubwiki_lua_core::Values(args.to_vec()).decode().unwrap()[..]
            {
                self.marked.set(n);
            }
        } else {
            let code = "local t = os.clock() while os.clock() - t < 0.03 do end";
            let mut inner = Call::new(CallSpec::chunk(code, "inner").synchronous(), monotonic_ms);
            assert!(matches!(inner.resume(&mut NoHost, None), Step::Done(Ok(_))));
        }
        let mut w = Writer::new();
        w.tag(REPLY_VALUES).count(0);
        w.into_bytes()
    }
}

#[test]
fn a_slice_that_is_due_when_a_call_run_inside_it_ends_is_preempted_soon() {
    // The slice's time is up while the inner call runs; once it ends, the outer slice must
    // stop within the slice hook's 10,000 instructions (2,000-odd turns of the loop).
    let mut globals = Writer::new();
    globals
        .table(2)
        .string(b"inner")
        .function(0, "inner")
        .string(b"mark")
        .function(1, "mark");
    let code = "inner() local n = 0 while true do n = n + 1 if n % 10000 == 0 then mark(n) end end";
    let spec = CallSpec::chunk(code, "outer")
        .globals(globals.into_bytes())
        .limits(Limits {
            time_ms: 2000.0,
            ..Limits::default()
        });
    let mut call = Call::new(spec, monotonic_ms);
    let mut host = Nesting::default();
    let marked = host.marked.clone();
    assert!(matches!(
        call.resume_within(&mut host, None, Some(1.0)),
        Step::Preempted
    ));
    assert_eq!(
        marked.get(),
        0,
        "the outer loop ran on after its slice was due"
    );
}
