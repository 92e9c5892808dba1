//! `require` of host modules, `package`, the compiled-module cache and invoked calls, at
//! the core's level (the JS suite covers them through the public API).

use std::collections::HashMap;
use std::sync::Arc;

use pubwiki_lua_core::wire::{Writer, REPLY_ERROR, REPLY_PENDING, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, ErrorKind, Host, Limits, LuaValue, ModuleCache,
    Request, RunError, RunOutput, Step, Values,
};

/// Serves modules from a map; `later` modules are answered only when the call waits.
#[derive(Default)]
struct Modules {
    sources: HashMap<String, Vec<u8>>,
    later: bool,
    asked: Vec<String>,
    /// Host function 0: `hello(x)` -> "hello " .. x, answered later if `later`.
    greetings: usize,
}

fn reply_values(build: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    w.tag(REPLY_VALUES);
    build(&mut w);
    w.into_bytes()
}

impl Modules {
    fn with(sources: &[(&str, &str)]) -> Modules {
        Modules {
            sources: sources
                .iter()
                .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
                .collect(),
            ..Modules::default()
        }
    }

    fn source_reply(&self, name: &str) -> Vec<u8> {
        if name == "Throws" {
            let mut w = Writer::new();
            w.tag(REPLY_ERROR).bytes(b"resolver failed").varint(9);
            return w.into_bytes();
        }
        reply_values(|w| match self.sources.get(name) {
            Some(source) => {
                w.count(1).string(source);
            }
            None => {
                w.count(1).nil();
            }
        })
    }
}

impl Host for Modules {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        match request {
            Request::Module { name, .. } => {
                self.asked.push(name.to_string());
                if self.later {
                    return vec![REPLY_PENDING];
                }
                self.source_reply(name)
            }
            Request::Call { args, .. } => {
                self.greetings += 1;
                if self.later {
                    return vec![REPLY_PENDING];
                }
                greeting(args)
            }
        }
    }
}

fn greeting(args: &[u8]) -> Vec<u8> {
    let args = Values(args.to_vec()).decode().unwrap();
    let LuaValue::String(who) = &args[0] else {
        panic!("{args:?}")
    };
    reply_values(|w| {
        w.count(1).string(format!("hello {who}").as_bytes());
    })
}

/// Globals with `hello` as host function 0.
fn hello_global() -> Vec<u8> {
    let mut w = Writer::new();
    w.table(1).string(b"hello").function(0, "hello");
    w.into_bytes()
}

/// Runs `call` to its end; each wait is answered with the module source (or greeting) it
/// waits for, in the order asked.
fn drive(mut call: Call, host: &mut Modules) -> Result<RunOutput, RunError> {
    let mut step = call.resume(host, None);
    let mut answered_modules = 0;
    let mut answered_greetings = 0;
    loop {
        match step {
            Step::Done(result) => return result,
            Step::Waiting { .. } => {
                let answer = if host.asked.len() > answered_modules {
                    answered_modules += 1;
                    host.source_reply(&host.asked[answered_modules - 1].clone())
                } else {
                    answered_greetings += 1;
                    let _ = answered_greetings;
                    reply_values(|w| {
                        w.count(1).string(b"hello later");
                    })
                };
                step = call.resume(host, Some(answer));
            }
            Step::Preempted => panic!("preempted without a budget"),
        }
    }
}

fn run(code: &str, host: &mut Modules) -> Result<RunOutput, RunError> {
    drive(
        Call::new(
            CallSpec::chunk(code, "main").globals(hello_global()),
            monotonic_ms,
        ),
        host,
    )
}

fn ok(code: &str, host: &mut Modules) -> (String, Vec<LuaValue>) {
    let out = run(code, host).unwrap_or_else(|e| panic!("{code}: {e:?}"));
    (out.output, out.values.decode().unwrap())
}

fn s(text: &str) -> LuaValue {
    LuaValue::String(text.into())
}

const UTIL: &str = "local name = ... print('loading ' .. name) local M = {} function M.twice(x) return 2 * x end return M";

#[test]
fn require_chains_run_each_module_once_with_its_name() {
    let mut host = Modules::with(&[
        ("Module:Util", UTIL),
        (
            "Module:A",
            "local util = require('Module:Util') return { value = util.twice(21), name = ... }",
        ),
        (
            "Module:B",
            "require('Module:Util') return require('Module:A').value + 1",
        ),
    ]);
    let (out, values) = ok(
        "local b = require('Module:B') local a = require('Module:A') return b, a.value, a.name, require('Module:Util') == require('Module:Util')",
        &mut host,
    );
    assert_eq!(out, "loading Module:Util\n");
    assert_eq!(
        values,
        vec![
            LuaValue::Integer(43),
            LuaValue::Integer(42),
            s("Module:A"),
            LuaValue::Boolean(true)
        ]
    );
    assert_eq!(host.asked, vec!["Module:B", "Module:Util", "Module:A"]);
}

#[test]
fn async_sources_and_modules_that_wait_for_host_functions() {
    let mut host = Modules::with(&[
        ("Module:Util", UTIL),
        ("Module:Greeter", "local util = require('Module:Util') return { text = hello('module'), n = util.twice(2) }"),
    ]);
    host.later = true;
    let (out, values) = ok(
        "local g = require('Module:Greeter') return g.text, g.n",
        &mut host,
    );
    assert_eq!(out, "loading Module:Util\n");
    assert_eq!(values, vec![s("hello later"), LuaValue::Integer(4)]);
}

#[test]
fn missing_modules_cycles_and_resolver_errors_are_catchable_errors() {
    let mut host = Modules::with(&[
        ("Cycle:A", "return require('Cycle:B')"),
        ("Cycle:B", "return require('Cycle:A')"),
    ]);
    let (_, values) = ok(
        "local r = {} for _, m in ipairs({'Nope', 'Cycle:A', 'Throws'}) do r[#r + 1] = select(2, pcall(require, m)) end return table.unpack(r)",
        &mut host,
    );
    assert_eq!(
        values,
        vec![
            s("module 'Nope' not found"),
            s("Cycle:B:1: cycle in require: Cycle:A -> Cycle:B -> Cycle:A"),
            s("main:1: resolver failed"),
        ]
    );
    // After the failed loads nothing is left marked as loading.
    let (_, values) = ok(
        "pcall(require, 'Cycle:A') return pcall(require, 'Cycle:A')",
        &mut host,
    );
    assert_eq!(
        values[1],
        s("Cycle:B:1: cycle in require: Cycle:A -> Cycle:B -> Cycle:A")
    );
    let error = run("local x = 1\nrequire('Missing')", &mut host).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (ErrorKind::Runtime, "main:2: module 'Missing' not found")
    );
    let error = run("require('Throws')", &mut host).unwrap_err();
    assert_eq!(
        (error.message.as_str(), error.cause),
        ("main:1: resolver failed", Some(9))
    );
}

#[test]
fn errors_inside_modules_name_the_module_and_line() {
    let mut host = Modules::with(&[
        ("Module:Syntax", "local x = 1\nx = = 2"),
        (
            "Module:Fails",
            "local M = {}\nfunction M.run()\n  local t = nil\n  return t.x\nend\nreturn M",
        ),
        ("Module:Binary", "\x1bLua\x54\x00"),
    ]);
    let error = run("require('Module:Syntax')", &mut host).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert_eq!(error.message, "main:1: error loading module 'Module:Syntax':\n\tModule:Syntax:2: unexpected symbol near '='");
    let error = run("local m = require('Module:Fails')\nm.run()", &mut host).unwrap_err();
    assert_eq!(
        error.message,
        "Module:Fails:4: attempt to index a nil value (local 't')"
    );
    assert!(
        error
            .traceback
            .contains("Module:Fails:4: in function 'Module:Fails.run'")
            || error.traceback.contains("Module:Fails:4:"),
        "{}",
        error.traceback
    );
    assert!(
        error.traceback.contains("main:2: in main chunk"),
        "{}",
        error.traceback
    );
    let error = run("require('Module:Binary')", &mut host).unwrap_err();
    assert!(
        error
            .message
            .contains("attempt to load a binary chunk (mode is 't')"),
        "{}",
        error.message
    );
}

#[test]
fn package_holds_loaded_preload_and_config_and_the_standard_libraries() {
    let mut host = Modules::default();
    let (_, values) = ok(
        r#"
        local names = {} for k in pairs(package) do names[#names + 1] = k end table.sort(names)
        local same = true
        for _, lib in ipairs({'_G', 'string', 'table', 'math', 'utf8', 'coroutine', 'os', 'io', 'debug', 'package'}) do
          same = same and require(lib) == (lib == '_G' and _G or _G[lib]) and package.loaded[lib] == require(lib)
        end
        package.preload.pre = function(...) return {...} end
        local pre = require('pre')
        return table.concat(names, ' '), package.config, same, pre[1], pre[2], require('pre') == pre, debug.getinfo == nil
        "#,
        &mut host,
    );
    assert_eq!(
        values,
        vec![
            s("config loaded preload"),
            s("/\n;\n?\n!\n-\n"),
            LuaValue::Boolean(true),
            s("pre"),
            s(":preload:"),
            LuaValue::Boolean(true),
            LuaValue::Boolean(true)
        ]
    );
    assert!(host.asked.is_empty(), "{:?}", host.asked);
}

#[test]
fn a_module_that_loops_times_out() {
    let mut host = Modules::with(&[("Module:Loop", "while true do end")]);
    let limits = Limits {
        time_ms: 100.0,
        ..Limits::default()
    };
    let spec = CallSpec::chunk("require('Module:Loop')", "main").limits(limits);
    let call = Call::new(spec, monotonic_ms);
    let error = drive(call, &mut host).unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (
            ErrorKind::Timeout,
            "Module:Loop:1: time limit exceeded (100 ms)"
        )
    );
}

#[test]
fn invoke_calls_a_module_function_with_arguments() {
    let mut host = Modules::with(&[
        ("Module:Infobox", "local p = {} function p.main(frame, extra) return 'title: ' .. frame.args.title, extra, select('#', frame, extra) end p.data = 1 return p"),
        ("Module:Greets", "return { main = function(who) return hello(who) end }"),
    ]);
    let mut args = Writer::new();
    args.count(2)
        .table(1)
        .string(b"args")
        .table(1)
        .string(b"title")
        .string(b"Lua");
    args.integer(7);
    let spec = CallSpec::invoke("Module:Infobox", "main", "Page:Lua").arguments(args.into_bytes());
    let call = Call::new(spec, monotonic_ms);
    let out = drive(call, &mut host).unwrap();
    assert_eq!(
        out.values.decode().unwrap(),
        vec![s("title: Lua"), LuaValue::Integer(7), LuaValue::Integer(2)]
    );
    let mut args = Writer::new();
    args.count(1).string(b"invoker");
    let spec = CallSpec::invoke("Module:Greets", "main", "Page:Lua")
        .globals(hello_global())
        .arguments(args.into_bytes());
    let call = Call::new(spec, monotonic_ms);
    assert_eq!(
        drive(call, &mut host).unwrap().values.decode().unwrap(),
        vec![s("hello invoker")]
    );
    for (module, function, message) in [
        (
            "Module:Infobox",
            "nope",
            "function 'nope' not found in module 'Module:Infobox'",
        ),
        (
            "Module:Infobox",
            "data",
            "function 'data' not found in module 'Module:Infobox'",
        ),
        (
            "Module:Missing",
            "main",
            "module 'Module:Missing' not found",
        ),
    ] {
        let call = Call::new(CallSpec::invoke(module, function, "Page:Lua"), monotonic_ms);
        let error = drive(call, &mut host).unwrap_err();
        assert_eq!(
            (error.kind, error.message.as_str()),
            (ErrorKind::Runtime, message)
        );
    }
}

#[test]
fn the_cache_keeps_compiled_modules_by_name_and_source() {
    let cache = Arc::new(ModuleCache::default());
    let mut host = Modules::with(&[("Module:Util", UTIL), ("Module:Bad", "return 1 +")]);
    let code = "local util = require('Module:Util') return util.twice(4)";
    for _ in 0..3 {
        let spec = CallSpec::chunk(code, "main").module_cache(cache.clone());
        let call = Call::new(spec, monotonic_ms);
        let out = drive(call, &mut host).unwrap();
        assert_eq!(
            (out.output.as_str(), out.values.decode().unwrap()),
            ("loading Module:Util\n", vec![LuaValue::Integer(8)])
        );
    }
    // Module:Util, and the calls' chunk.
    assert_eq!(cache.len(), 2);
    // A changed source is compiled again, and errors still name the line.
    host.sources.insert(
        "Module:Util".into(),
        b"local M = {}\nfunction M.twice(x) error('changed') end\nreturn M".to_vec(),
    );
    for _ in 0..2 {
        let spec = CallSpec::chunk(code, "main").module_cache(cache.clone());
        let call = Call::new(spec, monotonic_ms);
        assert_eq!(
            drive(call, &mut host).unwrap_err().message,
            "Module:Util:2: changed"
        );
    }
    let spec = CallSpec::chunk("require('Module:Bad')", "main").module_cache(cache.clone());
    let call = Call::new(spec, monotonic_ms);
    assert!(drive(call, &mut host)
        .unwrap_err()
        .message
        .contains("error loading module 'Module:Bad'"));
    // (The chunk of "main" is the last one run under that name.)
    assert_eq!(cache.len(), 2);
}

#[test]
fn the_cache_keeps_compiled_chunks_by_script_id_and_code() {
    let cache = Arc::new(ModuleCache::default());
    let run = |code: &str, script_id: &str| {
        let spec = CallSpec::chunk(code, script_id).module_cache(cache.clone());
        drive(Call::new(spec, monotonic_ms), &mut Modules::with(&[]))
    };
    let failing = "local x = ...\nerror('at line 2')";
    for _ in 0..3 {
        assert_eq!(run(failing, "a").unwrap_err().message, "a:2: at line 2");
        // The same code under another name is that name's own chunk.
        assert_eq!(run(failing, "b").unwrap_err().message, "b:2: at line 2");
    }
    assert_eq!(cache.len(), 2);
    // Changed code under a name runs as written, and replaces the kept one.
    for _ in 0..2 {
        let out = run("return 6 * 7", "a").unwrap();
        assert_eq!(out.values.decode().unwrap(), vec![LuaValue::Integer(42)]);
    }
    assert_eq!(cache.len(), 2);
    // A module and a chunk of the same name are kept apart.
    let cache = Arc::new(ModuleCache::default());
    let mut host = Modules::with(&[("a", "return 'module a'")]);
    for _ in 0..2 {
        let spec = CallSpec::chunk("return require('a')", "a").module_cache(cache.clone());
        let out = drive(Call::new(spec, monotonic_ms), &mut host).unwrap();
        assert_eq!(
            out.values.decode().unwrap(),
            vec![LuaValue::String("module a".into())]
        );
    }
    assert_eq!(cache.len(), 2);
}
