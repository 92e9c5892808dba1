//! `State` at the core's level: what the core checks (keys, values), and that values come
//! back exactly as stored, through a host that keeps them in a map (the JS suite covers
//! scoping, buffering and the stores).

use std::collections::BTreeMap;

use pubwiki_lua_core::wire::{Reader, Writer, REPLY_ERROR, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, Request, RunError,
    RunOutput, Step, STATE,
};

#[derive(Default)]
struct MapStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
    later: bool,
    ttls: Vec<f64>,
    pending: Option<Vec<u8>>,
}

fn values(build: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    w.tag(REPLY_VALUES);
    build(&mut w);
    w.into_bytes()
}

impl MapStore {
    fn answer(&mut self, args: &[u8]) -> Vec<u8> {
        let mut r = Reader::new(args);
        let count = r.varint().unwrap();
        let string = |r: &mut Reader| {
            assert_eq!(r.u8().unwrap(), 5);
            r.bytes().unwrap().to_vec()
        };
        let op = string(&mut r);
        let key = string(&mut r);
        match op.as_slice() {
            b"get" => match self.entries.get(&key) {
                Some(stored) => {
                    let mut reply = vec![REPLY_VALUES, 1];
                    reply.extend_from_slice(stored);
                    reply
                }
                None => values(|w| {
                    w.count(1).nil();
                }),
            },
            b"set" => {
                assert_eq!(count, 4);
                let value = string(&mut r);
                match r.u8().unwrap() {
                    0 => {}
                    4 => self.ttls.push(r.f64().unwrap()),
                    other => panic!("ttl tag {other}"),
                }
                if key == b"forbidden" {
                    let mut w = Writer::new();
                    w.tag(REPLY_ERROR)
                        .bytes(b"State.set: 'forbidden' is not writable")
                        .varint(0);
                    return w.into_bytes();
                }
                self.entries.insert(key, value);
                values(|w| {
                    w.count(0);
                })
            }
            b"delete" => {
                self.entries.remove(&key);
                values(|w| {
                    w.count(0);
                })
            }
            b"list" => {
                let under: Vec<_> = self
                    .entries
                    .iter()
                    .filter(|(k, _)| k.starts_with(&key))
                    .collect();
                let mut reply = vec![REPLY_VALUES, 1];
                let mut w = Writer::new();
                w.table(under.len());
                let mut head = w.into_bytes();
                for (k, v) in under {
                    let mut kw = Writer::new();
                    kw.string(k);
                    head.extend(kw.into_bytes());
                    head.extend_from_slice(v);
                }
                reply.extend(head);
                reply
            }
            other => panic!("op {other:?}"),
        }
    }
}

impl Host for MapStore {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (function, args, _) = request.as_call();
        assert_eq!(function, STATE);
        let reply = self.answer(args);
        if self.later {
            self.pending = Some(reply);
            return vec![REPLY_PENDING];
        }
        reply
    }
}

fn run(code: &str, store: &mut MapStore) -> Result<RunOutput, RunError> {
    let mut call = Call::new(CallSpec::chunk(code, "Module:S").with_state(), monotonic_ms);
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

fn values_of(code: &str, store: &mut MapStore) -> Vec<LuaValue> {
    run(code, store)
        .unwrap_or_else(|e| panic!("{code}: {e:?}"))
        .values
        .decode()
        .unwrap()
}

const ROUND_TRIP: &str = r#"
    local t = {1, 2.0, "three", {nested = {true, false}}, [10] = "sparse", [2.5] = "float key", [true] = "bool key", ["\0bin\255"] = "\1\2"}
    State.set("v", t)
    State.set("int", 3) State.set("float", 3.0) State.set("bytes", "a\0\255z") State.set("no", false)
    local back = State.get("v")
    return math.type(State.get("int")), math.type(State.get("float")), State.get("bytes") == "a\0\255z", State.get("no"),
      math.type(back[1]), math.type(back[2]), back[3], back[4].nested[2], back[10], back[2.5], back[true], back["\0bin\255"] == "\1\2",
      State.get("missing", "default"), State.get("missing")
"#;

#[test]
fn values_come_back_exactly_as_stored() {
    for later in [false, true] {
        let mut store = MapStore {
            later,
            ..MapStore::default()
        };
        let s = |text: &str| LuaValue::String(text.into());
        assert_eq!(
            values_of(ROUND_TRIP, &mut store),
            vec![
                s("integer"),
                s("float"),
                LuaValue::Boolean(true),
                LuaValue::Boolean(false),
                s("integer"),
                s("float"),
                s("three"),
                LuaValue::Boolean(false),
                s("sparse"),
                s("float key"),
                s("bool key"),
                LuaValue::Boolean(true),
                s("default"),
                LuaValue::Nil,
            ],
            "later: {later}"
        );
    }
}

#[test]
fn keys_and_values_are_checked_where_they_are_given() {
    let mut store = MapStore::default();
    for (code, message) in [
        ("State.get('')", "bad argument #1 to 'get' (a key is a non-empty UTF-8 string of at most 256 bytes)"),
        ("State.get(1)", "bad argument #1 to 'get' (a key is a non-empty UTF-8 string of at most 256 bytes)"),
        ("State.set(string.rep('k', 257), 1)", "bad argument #1 to 'set' (a key is a non-empty UTF-8 string of at most 256 bytes)"),
        ("State.set('\\255', 1)", "bad argument #1 to 'set' (a key is a non-empty UTF-8 string of at most 256 bytes)"),
        ("State.set('k', print)", "bad argument #2 to 'set' (cannot be stored: a function cannot be stored)"),
        ("State.set('k', {f = {coroutine.create(print)}})", "bad argument #2 to 'set' (cannot be stored: a coroutine cannot be stored)"),
        ("local t = {} t.t = t State.set('k', t)", "bad argument #2 to 'set' (cannot be stored: a table contains itself)"),
        ("State.set('k', {[{}] = 1})", "bad argument #2 to 'set' (cannot be stored: a table key that is not a string, number or boolean cannot be stored)"),
        ("State.set('k', 1, -5)", "bad argument #3 to 'set' (a TTL is a positive number of seconds)"),
        ("State.set('k', 1, 'soon')", "bad argument #3 to 'set' (number expected, got string)"),
        ("State.set('forbidden', 1)", "State.set: 'forbidden' is not writable"),
    ] {
        let error = run(code, &mut store).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Runtime, "{code}");
        assert_eq!(error.message, format!("Module:S:1: {message}"), "{code}");
    }
    let mut deep = String::from("1");
    for _ in 0..101 {
        deep = format!("{{{deep}}}");
    }
    let error = run(&format!("State.set('k', {deep})"), &mut store).unwrap_err();
    assert!(
        error.message.contains("nested deeper than 100 levels"),
        "{}",
        error.message
    );
    assert!(store.entries.is_empty());
}

#[test]
fn ttl_delete_and_list() {
    let mut store = MapStore::default();
    let got = values_of(
        "State.set('a.x', 1, 0.5) State.set('a.y', 2) State.set('b', 3) State.delete('a.y') local t = State.list('a.') local n = 0 for k, v in pairs(t) do n = n + 1 end return n, t['a.x']",
        &mut store,
    );
    assert_eq!(got, vec![LuaValue::Integer(1), LuaValue::Integer(1)]);
    assert_eq!(store.ttls, vec![0.5]);
}

#[test]
fn state_is_there_only_when_the_host_keeps_state() {
    let out = pubwiki_lua_core::run(b"return State", "s", &Limits::default()).unwrap();
    assert_eq!(out.values.decode().unwrap(), vec![LuaValue::Nil]);
}
