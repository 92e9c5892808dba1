//! The JS call object (lib/call.mjs `callObject`) read into the core's `CallSpec`.
//!
//! Read field by field with napi's C API and the field names as C strings: napi-rs's
//! `#[napi(object)]` makes a JS string per field name and checks each value's type with
//! a call of its own, three napi calls a field where this makes one or two (the object is
//! read on every call, the hot path). lib/call.mjs has checked every field already; a field
//! of the wrong type here is a bug, reported as an error of the call.

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use pubwiki_lua_core::{CallSpec, Entry, Limits};

use crate::WireInput;

/// A call as JS describes it.
pub struct JsCall(pub CallSpec);

impl TypeName for JsCall {
    fn type_name() -> &'static str {
        "CallObject"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for JsCall {}

impl FromNapiValue for JsCall {
    unsafe fn from_napi_value(env: sys::napi_env, object: sys::napi_value) -> Result<Self> {
        let field = Field { env, object };
        let script_id = field.string(c"scriptId")?.unwrap_or_default();
        let entry = match field.string(c"invokeModule")? {
            Some(module) => Entry::Invoke {
                module,
                function: field.string(c"invokeFunction")?.unwrap_or_default(),
            },
            None => Entry::Chunk(field.string(c"code")?.unwrap_or_default().into_bytes()),
        };
        let limits = Limits::with_overrides(
            field.number(c"memoryLimit")?,
            field.number(c"timeLimit")?,
            field.number(c"outputLimit")?,
        );
        Ok(JsCall(CallSpec {
            entry,
            script_id,
            limits,
            globals: field.bytes(c"globals")?,
            arguments: field.bytes(c"arguments")?,
            state: field.flag(c"state")?,
            synchronous: field.flag(c"synchronous")?,
            module_cache: None,
            pool: None,
            mw: field.bytes(c"mw")?,
        }))
    }
}

/// The fields of one JS object; `None` for a field that is undefined.
struct Field {
    env: sys::napi_env,
    object: sys::napi_value,
}

impl Field {
    unsafe fn get(&self, name: &CStr) -> Result<Option<sys::napi_value>> {
        let mut value = ptr::null_mut();
        check_status!(sys::napi_get_named_property(
            self.env,
            self.object,
            name.as_ptr(),
            &mut value
        ))?;
        let mut kind = 0;
        check_status!(sys::napi_typeof(self.env, value, &mut kind))?;
        Ok((kind != sys::ValueType::napi_undefined).then_some(value))
    }

    unsafe fn string(&self, name: &CStr) -> Result<Option<String>> {
        self.get(name)?
            .map(|value| String::from_napi_value(self.env, value))
            .transpose()
    }

    unsafe fn number(&self, name: &CStr) -> Result<Option<f64>> {
        self.get(name)?
            .map(|value| f64::from_napi_value(self.env, value))
            .transpose()
    }

    unsafe fn bytes(&self, name: &CStr) -> Result<Option<Vec<u8>>> {
        self.get(name)?
            .map(|value| WireInput::from_napi_value(self.env, value).map(|bytes| bytes.0))
            .transpose()
    }

    unsafe fn flag(&self, name: &CStr) -> Result<bool> {
        Ok(self
            .get(name)?
            .map(|value| bool::from_napi_value(self.env, value))
            .transpose()?
            .unwrap_or(false))
    }
}
