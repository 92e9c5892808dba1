//! Property test over the run entry: arbitrary bytes and token soups as code, random limits.
//! Whatever the input, a call returns (Ok or a classified error), stays within its output
//! limit and leaves the process healthy. CI runs the default case count and the saved
//! regressions; for a long local run: `PROPTEST_CASES=200000 cargo test --release -p pubwiki-lua-core --test fuzz`.

use proptest::prelude::*;
use pubwiki_lua_core::{run, ErrorKind, Limits};

const TOKENS: &[&str] = &[
    "local ",
    "x",
    "y",
    "t",
    "f",
    "=",
    "==",
    "~=",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    ".",
    "..",
    "...",
    ":",
    "#",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "^",
    "&",
    "|",
    "~",
    "<<",
    ">>",
    "<",
    ">",
    "<=",
    ">=",
    " and ",
    " or ",
    " not ",
    "function ",
    " end ",
    "if ",
    " then ",
    " else ",
    " while ",
    " do ",
    " for ",
    " in ",
    " return ",
    " break ",
    "goto ",
    "::l::",
    "repeat ",
    " until ",
    "nil",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "1e308",
    "0x7fffffffffffffff",
    "math.mininteger",
    "1.5",
    "'s'",
    "\"\\0\"",
    "[[long]]",
    "print",
    "io.write",
    "pcall",
    "xpcall",
    "error",
    "setmetatable",
    "getmetatable",
    "string.rep",
    "string.format",
    "('%d')",
    "('%s'):rep(1e6)",
    "string.gsub",
    "string.find",
    "'.-.-b'",
    "table.concat",
    "table.sort",
    "table.unpack",
    "coroutine.wrap",
    "coroutine.yield",
    "coroutine.resume",
    "coroutine.create",
    "coroutine.close",
    "load",
    "select",
    "rawset",
    "rawget",
    "next",
    "pairs",
    "ipairs",
    "tostring",
    "tonumber",
    "utf8.char",
    "utf8.codepoint",
    "os.date",
    "os.time",
    "debug.traceback",
    "collectgarbage",
    "__index",
    "__newindex",
    "__call",
    "__tostring",
    "__close",
    "__eq",
    "__lt",
    "__len",
    "__concat",
    "<close>",
    "<const>",
    "\n",
    " ",
    "--",
    "\\",
    "'\\xff'",
];

fn code() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(prop::sample::select(TOKENS), 0..60)
            .prop_map(|tokens| tokens.concat().into_bytes()),
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    (16_384usize..8 << 20, 1u32..40, 0usize..4096).prop_map(
        |(memory_bytes, time_ms, output_bytes)| Limits {
            memory_bytes,
            time_ms: time_ms as f64,
            output_bytes,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Integration tests have no lib.rs beside them for the default persistence to find.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/fuzz.txt"),
        )),
        ..ProptestConfig::default()
    })]
    #[test]
    fn any_input_ends_in_a_result(code in code(), limits in limits()) {
        match run(&code, "fuzz", &limits) {
            Ok(done) => prop_assert!(done.output.len() <= limits.output_bytes * 3),
            Err(error) => {
                // U+FFFD replacements can triple invalid bytes; the byte limit applies before.
                prop_assert!(error.output.len() <= limits.output_bytes * 3);
                prop_assert!(!error.message.is_empty());
                if error.kind == ErrorKind::Syntax {
                    prop_assert!(error.traceback.is_empty());
                }
            }
        }
        // The next call always works.
        prop_assert_eq!(run(b"print(1)", "after", &Limits::default()).unwrap().output, "1\n");
    }
}
