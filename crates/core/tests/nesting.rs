//! Calls run inside calls on one thread's stack (a host function that runs a script before
//! it returns): nested at most `MAX_NESTING` deep, and all of them together within Lua's
//! bound on C calls, as one call is (running.rs).

use pubwiki_lua_core::wire::{Writer, REPLY_ERROR, REPLY_VALUES};
use pubwiki_lua_core::{
    monotonic_ms, Call, CallSpec, Deadline, Host, LuaValue, Request, RunError, RunOutput, Step,
    MAX_NESTING,
};

/// `render(n)` runs `code` again with `n + 1` as its argument, inside the call that asked.
struct Renderer {
    code: String,
    deepest: usize,
}

fn globals() -> Vec<u8> {
    let mut w = Writer::new();
    w.table(1).string(b"render").function(0, "render");
    w.into_bytes()
}

fn arguments(n: i64) -> Vec<u8> {
    let mut w = Writer::new();
    w.count(1).integer(n);
    w.into_bytes()
}

fn call(code: &str, n: i64) -> Call {
    let spec = CallSpec::chunk(code, "nested")
        .globals(globals())
        .arguments(arguments(n))
        .synchronous();
    Call::new(spec, monotonic_ms)
}

fn run(call: &mut Call, host: &mut Renderer) -> Result<RunOutput, RunError> {
    match call.resume(host, None) {
        Step::Done(result) => result,
        Step::Waiting { .. } => panic!("a synchronous call waited"),
        Step::Preempted => panic!("preempted without a budget"),
    }
}

impl Host for Renderer {
    fn request(&mut self, request: Request<'_>, _deadline: Deadline) -> Vec<u8> {
        let (_, args, _) = request.as_call();
        let n = match pubwiki_lua_core::Values(args.to_vec()).decode().unwrap()[..] {
            [LuaValue::Integer(n)] => n,
            ref other => panic!("{other:?}"),
        };
        self.deepest = self.deepest.max(n as usize);
        let mut inner = call(&self.code.clone(), n + 1);
        let mut reply = Writer::new();
        match run(&mut inner, self) {
            Ok(out) => {
                reply.tag(REPLY_VALUES);
                let values = out.values.as_bytes();
                let mut bytes = reply.into_bytes();
                bytes.extend_from_slice(values);
                return bytes;
            }
            Err(error) => {
                reply
                    .tag(REPLY_ERROR)
                    .bytes(error.message.as_bytes())
                    .varint(0);
            }
        }
        reply.into_bytes()
    }
}

#[test]
fn nested_calls_stop_at_the_nesting_limit() {
    let code = "local n = ... return render(n)";
    let mut host = Renderer {
        code: code.into(),
        deepest: 0,
    };
    let error = run(&mut call(code, 1), &mut host).unwrap_err();
    assert!(
        error.message.ends_with(&format!("calls nested too deep: at most {MAX_NESTING} may run inside each other (through host functions that run scripts)")),
        "{}",
        error.message
    );
    assert_eq!(host.deepest, MAX_NESTING);
    // Within the limit, the innermost answer comes back out through every level.
    let code =
        format!("local n = ... if n == {MAX_NESTING} then return 'deep' end return render(n)");
    let mut host = Renderer {
        code: code.clone(),
        deepest: 0,
    };
    let out = run(&mut call(&code, 1), &mut host).unwrap();
    assert_eq!(
        out.values.decode().unwrap(),
        vec![LuaValue::String("deep".into())]
    );
}

#[test]
fn nested_calls_share_the_c_stack_bound() {
    // Each level first nests 50 C calls (pcall), then renders the next: by the fourth
    // level the calls on the stack have used up Lua's 200, as one call could.
    let code = "local n = ... local function f(k) if k == 0 then return render(n) end \
                return select(2, assert(pcall(f, k - 1))) end return f(50)";
    let mut host = Renderer {
        code: code.into(),
        deepest: 0,
    };
    let error = run(&mut call(code, 1), &mut host).unwrap_err();
    assert!(
        error.message.contains("stack overflow"),
        "{}",
        error.message
    );
    assert!(host.deepest <= 4, "{}", host.deepest);
}
