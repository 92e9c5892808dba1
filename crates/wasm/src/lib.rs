//! WebAssembly build of pubwiki-lua: a thin wasm-bindgen wrapper over `pubwiki-lua-core`.
//!
//! The JS side validates arguments; this only converts them and the result. The same
//! module serves two glues (scripts/build-wasm.sh): wasm-bindgen's `web` target for
//! browsers and bundlers, and its `nodejs` target (CommonJS, synchronous load) for Node.

use std::sync::atomic::{AtomicBool, Ordering};

use js_sys::{Array, Object, Reflect};
use pubwiki_lua_core::{run_with_clock, Limits, LuaValue};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Monotonic milliseconds (browsers, workers and Node >= 16 all have it).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    /// Milliseconds since the Unix epoch.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

fn monotonic_ms() -> f64 {
    performance_now()
}

/// The clocks of C's `clock_gettime` (c/wasi_stubs.c): 0 is the wall clock.
extern "C" fn host_now_ms(clock_id: i32) -> f64 {
    if clock_id == 0 {
        date_now()
    } else {
        performance_now()
    }
}

extern "C" {
    /// wasm-ld's function running the C constructors (wasi-libc has some).
    fn __wasm_call_ctors();
    fn pubwiki_lua_wasm_set_clock(now_ms: extern "C" fn(i32) -> f64);
    /// c/fuel.c: what the interpreter's step counter calls when it runs out.
    fn pubwiki_lua_wasm_set_fuel_handler(handler: extern "C" fn());
}

extern "C" fn fuel_empty() {
    pubwiki_lua_core::fuel_empty();
}

/// Runs when the module is instantiated (the glue calls it; later calls do nothing).
/// Calling `__wasm_call_ctors` here, and so referencing it, stops wasm-ld from wrapping
/// every export in a call to it.
#[wasm_bindgen(start)]
fn start() {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if !STARTED.swap(true, Ordering::Relaxed) {
        unsafe {
            pubwiki_lua_wasm_set_clock(host_now_ms);
            pubwiki_lua_wasm_set_fuel_handler(fuel_empty);
            pubwiki_lua_core::enable_fuel_interrupts();
            __wasm_call_ctors();
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A Lua value as JS: nil -> null, integers and floats -> number, a table with keys
 *  exactly 1..n -> array, any other table -> object (keys as Lua's tostring writes them),
 *  a function, coroutine or userdata -> "[function]", "[thread]", "[userdata]". */
export type LuaValue = null | boolean | number | string | LuaValue[] | { [key: string]: LuaValue };
/** A call's outcome, as the native addon returns it too. */
export type Outcome =
  | { ok: true; output: string; values: LuaValue[] }
  | {
      ok: false;
      kind: "syntax" | "runtime" | "memory" | "timeout" | "output";
      message: string;
      output: string;
      traceback: string;
    };
"#;

/// Runs `code` as a Lua 5.4 chunk named `script_id` in a fresh sandboxed state.
///
/// Limits are bytes and milliseconds; `undefined` keeps the core's default (the JS side
/// checks them). Returns `{ok: true, output, values}` or
/// `{ok: false, kind, message, output, traceback}`.
#[wasm_bindgen(unchecked_return_type = "Outcome")]
pub fn run(
    code: &str,
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
) -> JsValue {
    let limits = Limits::with_overrides(memory_limit, time_limit, output_limit);
    outcome(code.as_bytes(), script_id, &limits)
}

/// `run` for code given as bytes.
#[wasm_bindgen(js_name = runBytes, unchecked_return_type = "Outcome")]
pub fn run_bytes(
    code: &[u8],
    script_id: &str,
    memory_limit: Option<f64>,
    time_limit: Option<f64>,
    output_limit: Option<f64>,
) -> JsValue {
    let limits = Limits::with_overrides(memory_limit, time_limit, output_limit);
    outcome(code, script_id, &limits)
}


fn outcome(code: &[u8], script_id: &str, limits: &Limits) -> JsValue {
    let result = Object::new();
    match run_with_clock(code, script_id, limits, monotonic_ms) {
        Ok(out) => {
            set(&result, "ok", JsValue::TRUE);
            set(&result, "output", JsValue::from_str(&out.output));
            set(&result, "values", to_js_array(&out.values));
        }
        Err(err) => {
            set(&result, "ok", JsValue::FALSE);
            set(&result, "kind", JsValue::from_str(err.kind.as_str()));
            set(&result, "message", JsValue::from_str(&err.message));
            set(&result, "output", JsValue::from_str(&err.output));
            set(&result, "traceback", JsValue::from_str(&err.traceback));
        }
    }
    result.into()
}

fn set(object: &Object, key: &str, value: JsValue) {
    // Cannot fail: `object` is a plain, extensible object.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value);
}

fn to_js_array(items: &[LuaValue]) -> JsValue {
    let array = Array::new_with_length(items.len() as u32);
    for (i, item) in items.iter().enumerate() {
        array.set(i as u32, to_js(item));
    }
    array.into()
}

/// nil -> null, integers and floats -> number, arrays -> Array, other tables -> plain
/// object, functions/threads/userdata -> their type name in brackets (e.g. "[function]").
fn to_js(value: &LuaValue) -> JsValue {
    match value {
        LuaValue::Nil => JsValue::NULL,
        LuaValue::Boolean(b) => JsValue::from_bool(*b),
        LuaValue::Integer(i) => JsValue::from_f64(*i as f64),
        LuaValue::Number(n) => JsValue::from_f64(*n),
        LuaValue::String(s) => JsValue::from_str(s),
        LuaValue::Array(items) => to_js_array(items),
        LuaValue::Object(entries) => {
            let object = Object::new();
            for (key, item) in entries {
                set(&object, key, to_js(item));
            }
            object.into()
        }
        LuaValue::Opaque(type_name) => JsValue::from_str(&format!("[{type_name}]")),
    }
}
