//! Host functions in Lua: the C closure that stands for each function the host gave (in
//! its globals or in a result), and how a call of it reaches the host.
//!
//! Each is a closure of [`call`] with two upvalues: the host's number for the function and
//! its name for messages. A call encodes its arguments (wire.rs), asks the host and turns
//! the reply into results, a Lua error at the call site, or a wait (waiting.rs), after
//! which [`resumed`] reads the answer the call was resumed with.
//!
//! Lua errors are C longjmps through these frames: no frame owns a value with a destructor
//! when a Lua function that may raise is called.

use std::ffi::c_int;

use mlua::ffi;

use crate::call_state::call_state;
use crate::convert::{self, EncodeError, Encoder, Mode};
use crate::interrupt::raise_terminated;
use crate::lua::{lua_bytes, Lua};
use crate::request::Request;
use crate::waiting::{self, Reply};
use crate::wire::Writer;

/// The Lua function for host function number `upvalue 1`, named `upvalue 2`.
pub(crate) unsafe extern "C-unwind" fn call(state: Lua) -> c_int {
    if call_state(state).terminated.is_some() {
        return raise_terminated(state, waiting::script_level(state));
    }
    match ask_host(state) {
        Ok(()) => answer(state, false),
        Err(Refused::Argument(arg, why)) => {
            convert::push_refusal(state, c"cannot be converted", why);
            ffi::luaL_argerror(state, arg, ffi::lua_tostring(state, -1))
        }
        Err(Refused::NoHost) => ffi::luaL_error(
            state,
            c"host function called outside the call it belongs to".as_ptr(),
        ),
    }
}

enum Refused {
    Argument(c_int, EncodeError),
    NoHost,
}

/// Encodes the arguments and asks the host (waiting.rs). Raises nothing (the Rust values
/// it makes are gone before its caller calls Lua again).
unsafe fn ask_host(state: Lua) -> Result<(), Refused> {
    let top = ffi::lua_gettop(state);
    let mut args = Writer::new();
    args.count(top as usize);
    let budget = call_state(state).memory_limit;
    let mut encoder = Encoder::new(&mut args, Mode::Host, budget);
    for arg in 1..=top {
        encoder
            .value(state, arg)
            .map_err(|why| Refused::Argument(arg, why))?;
    }
    let args = args.into_bytes();
    let request = Request::Call {
        function: ffi::lua_tointeger(state, ffi::lua_upvalueindex(1)) as u32,
        name: function_name(state),
        args: &args,
        can_wait: crate::preempt::can_wait(state),
    };
    waiting::ask(state, request).map_err(|waiting::NoHost| Refused::NoHost)
}

/// This host function's name (its second upvalue), borrowed from Lua.
unsafe fn function_name<'a>(state: Lua) -> &'a str {
    let bytes = lua_bytes(state, ffi::lua_upvalueindex(2)).unwrap_or(b"?");
    std::str::from_utf8(bytes).unwrap_or("?")
}

/// Acts on the host's reply: returns its values, raises its error, or waits.
/// `resumed`: this is the answer to a wait, which cannot be another wait.
unsafe fn answer(state: Lua, resumed: bool) -> c_int {
    match waiting::reply(state) {
        Reply::Abandoned => waiting::abandoned(state),
        Reply::Values(mut reader) => waiting::push_results(state, &mut reader, call),
        Reply::Error(reader) => waiting::raise_host_error(state, reader),
        Reply::Pending if !resumed => waiting::wait(
            state,
            &|| format!("'{}'", function_name(state)),
            resumed_call,
        ),
        Reply::Pending | Reply::Malformed => waiting::raise_malformed(state, c"reply"),
    }
}

/// Continuation of a wait: the driver resumed the call with the answer.
unsafe extern "C-unwind" fn resumed_call(
    state: Lua,
    _status: c_int,
    _ctx: ffi::lua_KContext,
) -> c_int {
    waiting::resumed(state);
    answer(state, true)
}
