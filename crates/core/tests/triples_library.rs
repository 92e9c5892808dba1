//! `State` as RDF triples at the core's level: the requests the core makes (objects in their
//! canonical form: kinds, sorted JSON keys, floats that stay floats), and rows made back into
//! Lua values (JSON parsed back exactly), through a host that keeps triples in a list and
//! answers at once or later. The JS suite covers the session, the order and the stores.

use pubwiki_lua_core::wire::{Reader, Writer, REPLY_ERROR, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, Host, LuaValue, Request, RunError, RunOutput, Step,
    TRIPLES,
};

/// A value of a request: a string, an integer or nil.
#[derive(Clone, Debug, PartialEq)]
enum Arg {
    Str(String),
    Int(i64),
    Nil,
}

#[derive(Default)]
struct ListStore {
    /// (subject, predicate, kind, lexical)
    triples: Vec<(String, String, i64, String)>,
    requests: Vec<Vec<Arg>>,
    later: bool,
    pending: Option<Vec<u8>>,
    /// Bounds on the call's writes (triples, bytes) as lib/triples.mjs keeps them: a reply
    /// to a write then says what is left, and the core may keep inserts for later.
    bounds: Option<(i64, i64)>,
    /// Writes and bytes used so far.
    used: (i64, i64),
    /// Rows name their subject and predicate with nil where the query named them (as
    /// lib/reply.mjs does), or (`Always`) in every row, which is malformed where it did not.
    nil_names: NilNames,
}

#[derive(Clone, Copy, Default, PartialEq)]
enum NilNames {
    #[default]
    Never,
    WhereNamed,
    Always,
}

fn args_of(bytes: &[u8]) -> Vec<Arg> {
    let mut r = Reader::new(bytes);
    let count = r.varint().unwrap();
    (0..count)
        .map(|_| match r.u8().unwrap() {
            0 => Arg::Nil,
            3 => Arg::Int(r.i64().unwrap()),
            5 => Arg::Str(String::from_utf8(r.bytes().unwrap().to_vec()).unwrap()),
            tag => panic!("tag {tag}"),
        })
        .collect()
}

fn text(arg: &Arg) -> String {
    match arg {
        Arg::Str(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(arg: &Arg) -> i64 {
    match arg {
        Arg::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

impl ListStore {
    fn answer(&mut self, args: Vec<Arg>) -> Vec<u8> {
        self.requests.push(args.clone());
        let mut args = &args[..];
        if args[0] == s_arg("inserted") {
            let n = int(&args[1]) as usize;
            for t in args[2..2 + 4 * n].chunks(4) {
                // Kept inserts are those the bounds certainly take.
                assert!(self.charge(&t[0], &t[1], &t[3]).is_ok(), "{t:?}");
                self.triples
                    .push((text(&t[0]), text(&t[1]), int(&t[2]), text(&t[3])));
            }
            args = &args[2 + 4 * n..];
            if args.is_empty() {
                return self.written();
            }
        }
        let op = text(&args[0]);
        if op == "insert" {
            if let Err(message) = self.charge(&args[1], &args[2], &args[4]) {
                let mut e = Writer::new();
                e.tag(REPLY_ERROR).bytes(message.as_bytes()).varint(0);
                return e.into_bytes();
            }
        }
        let mut w = Writer::new();
        w.tag(REPLY_VALUES);
        match op.as_str() {
            "insert" | "set" => {
                if op == "set" {
                    self.triples
                        .retain(|t| t.0 != text(&args[1]) || t.1 != text(&args[2]));
                }
                if text(&args[1]) == "forbidden" {
                    let mut e = Writer::new();
                    e.tag(REPLY_ERROR).bytes(b"no writing here").varint(0);
                    return e.into_bytes();
                }
                self.triples.push((
                    text(&args[1]),
                    text(&args[2]),
                    int(&args[3]),
                    text(&args[4]),
                ));
                return self.written();
            }
            "batchInsert" => {
                for t in args[1..].chunks(4) {
                    self.triples
                        .push((text(&t[0]), text(&t[1]), int(&t[2]), text(&t[3])));
                }
                w.count(0);
            }
            "delete" => {
                let object = args.get(3).map(|k| (int(k), text(&args[4])));
                self.triples.retain(|t| {
                    t.0 != text(&args[1])
                        || t.1 != text(&args[2])
                        || object.as_ref().is_some_and(|(k, o)| (t.2, &t.3) != (*k, o))
                });
                w.count(0);
            }
            "query" | "get" => {
                let wanted = |i: usize| match args.get(i) {
                    Some(Arg::Str(s)) => Some(s.clone()),
                    _ => None,
                };
                let (s, p) = (wanted(1), wanted(2));
                let found: Vec<_> = self
                    .triples
                    .iter()
                    .filter(|t| s.as_ref().is_none_or(|s| *s == t.0))
                    .filter(|t| p.as_ref().is_none_or(|p| *p == t.1))
                    .take(if op == "get" { 1 } else { usize::MAX })
                    .collect();
                w.count(4 * found.len());
                let nil = |named: bool| match self.nil_names {
                    NilNames::Never => false,
                    NilNames::WhereNamed => named,
                    NilNames::Always => true,
                };
                let (nil_subject, nil_predicate) = (nil(s.is_some()), nil(p.is_some()));
                for (s, p, kind, lexical) in found {
                    for (name, nil) in [(s, nil_subject), (p, nil_predicate)] {
                        if nil {
                            w.nil();
                        } else {
                            w.string(name.as_bytes());
                        }
                    }
                    w.integer(*kind).string(lexical.as_bytes());
                }
            }
            other => panic!("op {other}"),
        }
        w.into_bytes()
    }

    /// Counts an insert against the bounds (bytes as lib/triples.mjs counts them).
    fn charge(&mut self, s: &Arg, p: &Arg, lexical: &Arg) -> Result<(), String> {
        let Some((writes, bytes)) = self.bounds else {
            return Ok(());
        };
        let size = 2 * (text(s).len() + text(p).len() + text(lexical).len()) as i64 + 64;
        if self.used.0 + 1 > writes {
            return Err(format!(
                "State.insert: a call may write at most {writes} triples"
            ));
        }
        if self.used.1 + size > bytes {
            return Err("State.insert: past the memory limit".into());
        }
        self.used = (self.used.0 + 1, self.used.1 + size);
        Ok(())
    }

    /// The reply to a write: what is left of the bounds, if there are bounds.
    fn written(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.tag(REPLY_VALUES);
        match self.bounds {
            Some((writes, bytes)) => w
                .count(2)
                .integer(writes - self.used.0)
                .integer(bytes - self.used.1),
            None => w.count(0),
        };
        w.into_bytes()
    }
}

impl Host for ListStore {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (function, args, _) = request.as_call();
        assert_eq!(function, TRIPLES);
        let reply = self.answer(args_of(args));
        if self.later {
            self.pending = Some(reply);
            return vec![REPLY_PENDING];
        }
        reply
    }
}

fn run(code: &str, store: &mut ListStore) -> Result<RunOutput, RunError> {
    let mut call = Call::new(
        CallSpec::chunk(code, "Module:T").with_triples(),
        monotonic_ms,
    );
    let mut step = call.resume(store, None);
    loop {
        match step {
            Step::Done(result) => return result,
            Step::Waiting { .. } => {
                let answer = store.pending.take();
                step = call.resume(store, answer);
            }
            Step::Preempted => panic!("preempted without a budget"),
        }
    }
}

fn values_of(code: &str, store: &mut ListStore) -> Vec<LuaValue> {
    run(code, store)
        .unwrap_or_else(|e| panic!("{code}: {e:?}"))
        .values
        .decode()
        .unwrap()
}

fn s(text: &str) -> LuaValue {
    LuaValue::String(text.into())
}

#[test]
fn objects_cross_in_their_canonical_form() {
    let mut store = ListStore::default();
    values_of(
        r#"
        State.insert('s', 'iri', 'resource://x')
        State.insert('s', 'str', 'plain "quoted"\n')
        State.insert('s', 'int', -42)
        State.insert('s', 'float', 3.0)
        State.insert('s', 'small', 1e-7)
        State.insert('s', 'yes', true)
        State.insert('s', 'json', { z = 1, a = { 2.5, 'x', false }, m = { k = 'v\0' }, e = {} })
        State.delete('s', 'p')
        State.delete('s', 'p', 1)
        State.batchInsert({ { subject = 'b', predicate = 'q', object = 0.5 } })"#,
        &mut store,
    );
    let object = |i: usize| {
        let r = &store.requests[i];
        (int(&r[3]), text(&r[4]))
    };
    assert_eq!(object(0), (0, "resource://x".into()));
    assert_eq!(object(1), (1, "plain \"quoted\"\n".into()));
    assert_eq!(object(2), (2, "-42".into()));
    assert_eq!(object(3), (3, "3.0".into()));
    assert_eq!(object(4), (3, "1e-7".into()));
    assert_eq!(object(5), (4, "true".into()));
    assert_eq!(
        object(6),
        (
            5,
            r#"{"a":[2.5,"x",false],"e":{},"m":{"k":"v\u0000"},"z":1}"#.into()
        )
    );
    assert_eq!(
        store.requests[7],
        vec![Arg::Str("delete".into()), s_arg("s"), s_arg("p")]
    );
    assert_eq!(store.requests[8].len(), 5);
    assert_eq!(
        store.requests[9],
        vec![
            s_arg("batchInsert"),
            s_arg("b"),
            s_arg("q"),
            Arg::Int(3),
            s_arg("0.5")
        ]
    );
}

fn s_arg(text: &str) -> Arg {
    Arg::Str(text.into())
}

#[test]
fn rows_come_back_as_lua_values_now_or_later() {
    for later in [false, true] {
        let mut store = ListStore {
            later,
            ..ListStore::default()
        };
        store.triples.push((
            "h".into(),
            "json".into(),
            5,
            r#" { "s" : "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" , "n" : [1, 2.0, -3e2, 9223372036854775807, 99999999999999999999, null, true], "o": {} } "#.into(),
        ));
        let got = values_of(
            r#"
            State.insert('s', 'int', 7)
            State.set('s', 'float', 7.0)
            local t = State.query({ subject = 's' })
            local j = State.get('h', 'json')
            return #t, t[1].subject, t[1].predicate, math.type(t[1].object), math.type(State.get('s', 'float')),
              j.s, math.type(j.n[1]), math.type(j.n[2]), j.n[3], math.type(j.n[4]), math.type(j.n[5]), j.n[6], j.n[7], next(j.o),
              State.get('nobody', 'nothing')"#,
            &mut store,
        );
        assert_eq!(
            got,
            vec![
                LuaValue::Integer(2),
                s("s"),
                s("int"),
                s("integer"),
                s("float"),
                s("a\"\\/\u{8}\u{c}\n\r\té😀"),
                s("integer"),
                s("float"),
                LuaValue::Number(-300.0),
                s("integer"),
                s("float"),
                LuaValue::Nil,
                LuaValue::Boolean(true),
                LuaValue::Nil,
                LuaValue::Nil,
            ],
            "later: {later}"
        );
    }
}

/// A reply may leave out (nil) a row's subject and predicate where the query named them:
/// the rows then have the pattern's, now and after a wait. A nil where the query named
/// none is a malformed reply.
#[test]
fn rows_take_the_names_a_query_gave_from_its_pattern() {
    for later in [false, true] {
        let mut store = ListStore {
            later,
            nil_names: NilNames::WhereNamed,
            ..ListStore::default()
        };
        for (s, p, o) in [("a", "p", "1"), ("a", "q", "2"), ("b", "p", "3")] {
            store.triples.push((s.into(), p.into(), 2, o.into()));
        }
        let got = values_of(
            r#"
            local function rows(pattern)
              local out = {}
              for _, t in ipairs(State.query(pattern)) do out[#out + 1] = t.subject .. ' ' .. t.predicate .. ' ' .. t.object end
              return table.concat(out, ', ')
            end
            return rows({ subject = 'a' }), rows({ predicate = 'p' }), rows({ subject = 'a', predicate = 'q' }), rows({}),
              State.get('b', 'p')"#,
            &mut store,
        );
        assert_eq!(
            got,
            vec![
                s("a p 1, a q 2"),
                s("a p 1, b p 3"),
                s("a q 2"),
                s("a p 1, a q 2, b p 3"),
                LuaValue::Integer(3),
            ],
            "later: {later}"
        );
        store.nil_names = NilNames::Always;
        let error = run("return State.query({ subject = 'a' })", &mut store).unwrap_err();
        assert!(
            format!("{error:?}").contains("malformed reply"),
            "{error:?}"
        );
    }
}

/// Rows whose objects are tables nested as deep as a value may be (100 levels, the last a
/// number) come back whole, many in one reply: the JSON reader makes room on Lua's stack
/// level by level. One level more is a malformed reply, not a crash.
#[test]
fn the_deepest_tables_come_back_whole_in_rows() {
    let nested = |levels: usize| {
        format!(
            "{}1{}",
            r#"{"x":"#.repeat(levels - 1),
            "}".repeat(levels - 1)
        )
    };
    for later in [false, true] {
        let mut store = ListStore {
            later,
            ..ListStore::default()
        };
        for i in 0..30 {
            store
                .triples
                .push(("deep".into(), format!("p{i:02}"), 5, nested(100)));
        }
        let got = values_of(
            r#"
            local rows = State.query({ subject = 'deep' })
            local whole = 0
            for _, row in ipairs(rows) do
              local t, levels = row.object, 1
              while type(t) == 'table' do t, levels = t.x, levels + 1 end
              if levels == 100 and t == 1 then whole = whole + 1 end
            end
            return #rows, whole"#,
            &mut store,
        );
        assert_eq!(
            got,
            vec![LuaValue::Integer(30), LuaValue::Integer(30)],
            "later: {later}"
        );
        store
            .triples
            .push(("deeper".into(), "p".into(), 5, nested(102)));
        let error = run("return State.query({ subject = 'deeper' })", &mut store).unwrap_err();
        assert!(
            error.message.contains("malformed"),
            "later: {later}: {}",
            error.message
        );
    }
}

#[test]
fn refusals_and_host_errors_are_lua_errors_at_the_call() {
    let mut store = ListStore::default();
    let got = values_of(
        r#"
        local function e(...) local ok, err = pcall(...) return err end
        local deep = {} for i = 1, 101 do deep = { deep } end
        return e(State.insert, 's', 'p', { 1, nil, 3 }), e(State.insert, 's', 'p', deep),
          e(State.insert, 'forbidden', 'p', 1), e(State.query, { object = print })"#,
        &mut store,
    );
    assert_eq!(
        got,
        vec![
            s("Module:T:2: bad argument #3 to 'State.insert' (object cannot be stored: a table whose keys are neither all strings nor exactly 1..n)"),
            s("Module:T:2: bad argument #3 to 'State.insert' (object cannot be stored: tables nested deeper than 100 levels)"),
            s("Module:T:2: no writing here"),
            s("Module:T:2: bad argument #1 to 'State.query' (pattern.object cannot be stored: a function)"),
        ]
    );
    // Only the request that reached the host.
    assert_eq!(store.requests.len(), 1);
}

#[test]
fn state_is_triples_only_when_asked_and_never_beside_key_value_state() {
    let plain = Call::new(CallSpec::chunk("return State", "x"), monotonic_ms).run_to_end();
    assert_eq!(plain.unwrap().values.decode().unwrap(), vec![LuaValue::Nil]);
    let mut store = ListStore::default();
    let both = CallSpec::chunk("return State.insert == nil, State.list ~= nil", "x")
        .with_triples()
        .with_state();
    let mut call = Call::new(both, monotonic_ms);
    match call.resume(&mut store, None) {
        Step::Done(Ok(output)) => assert_eq!(
            output.values.decode().unwrap(),
            vec![LuaValue::Boolean(true), LuaValue::Boolean(true)]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn inserts_wait_for_the_next_request_while_the_host_certainly_takes_them() {
    let mut store = ListStore {
        bounds: Some((5, 10_000)),
        ..ListStore::default()
    };
    let values = values_of(
        r#"
        State.insert('a', 'p', 1)
        State.insert('b', 'p', 2)
        State.insert('c', 'p', 3)
        local rows = State.query({ predicate = 'p' })
        State.insert('d', 'p', 4)
        State.insert('e', 'p', 5)
        local ok, err = pcall(State.insert, 'f', 'p', 6)
        return #rows, err"#,
        &mut store,
    );
    // The host's rows include the inserts that waited, and the sixth write is refused at
    // its own line.
    assert_eq!(
        values,
        vec![
            LuaValue::Integer(3),
            s("Module:T:8: State.insert: a call may write at most 5 triples")
        ]
    );
    let ops: Vec<Vec<Arg>> = store
        .requests
        .iter()
        .map(|r| {
            r.iter()
                .filter(|a| matches!(a, Arg::Str(_)))
                .cloned()
                .collect()
        })
        .collect();
    let strings = |list: &[&str]| list.iter().map(|t| s_arg(t)).collect::<Vec<_>>();
    assert_eq!(
        ops,
        vec![
            // Nothing is known of the bounds before the first reply.
            strings(&["insert", "a", "p", "1"]),
            strings(&["inserted", "b", "p", "2", "c", "p", "3", "query", "p"]),
            strings(&["inserted", "d", "p", "4", "e", "p", "5", "insert", "f", "p", "6"]),
        ]
    );

    // Inserts still waiting when the chunk returns go before the call ends, and past
    // 64 KiB of them they go without waiting for another request.
    let mut store = ListStore {
        bounds: Some((100_000, 1 << 30)),
        ..ListStore::default()
    };
    values_of(
        "for i = 1, 3000 do State.insert('item:' .. i, 'name', 'a name for item ' .. i) end",
        &mut store,
    );
    assert_eq!(store.triples.len(), 3000);
    assert_eq!(store.triples[2999].0, "item:3000");
    assert!(
        (3..10).contains(&store.requests.len()),
        "{} requests",
        store.requests.len()
    );
    // A call that fails sends none of them.
    let mut store = ListStore {
        bounds: Some((100, 1 << 30)),
        ..ListStore::default()
    };
    run(
        "State.insert('a', 'p', 1) State.insert('b', 'p', 2) error('no')",
        &mut store,
    )
    .unwrap_err();
    assert_eq!(store.triples.len(), 1);
}
