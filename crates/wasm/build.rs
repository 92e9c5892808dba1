//! Compiles Lua 5.4, a small setjmp/longjmp runtime and stubs of the WASI functions for
//! wasm32, and links them with wasi-libc's libc.a.
//!
//! mlua's `vendored` feature cannot do this (lua-src refuses wasm32-unknown-unknown), so
//! on wasm the core enables mlua-sys's `external` feature and this script supplies the
//! library. Lua's C sources are those of the published `lua-src` crate (a build
//! dependency of this crate, so the same sources as the native build), located with
//! `cargo metadata`; nothing of Lua is copied into the repository.
//!
//! Tools (installed by scripts/install-wasm-tools.sh; all can be overridden):
//! - C compiler: `$CC_wasm32_unknown_unknown`, else `clang-19`, else `clang`
//! - archiver: `$AR_wasm32_unknown_unknown`, else `llvm-ar-19`, else `llvm-ar`
//! - wasi-libc: `$WASI_SYSROOT` (with include/ and lib/), else Debian's
//!   /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi
//! - Lua sources: `$LUA_SRC_DIR` (the directory holding lapi.c), else from lua-src.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=c");
    for var in [
        "LUA_SRC_DIR",
        "WASI_SYSROOT",
        "CC_wasm32_unknown_unknown",
        "AR_wasm32_unknown_unknown",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    if env::var("CARGO_CFG_TARGET_FAMILY").as_deref() != Ok("wasm") {
        // Only the wasm build needs this library; on other targets the core links mlua's
        // vendored Lua and this crate has nothing to export.
        return;
    }

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let c_dir = manifest_dir.join("c");
    let lua_dir = lua_source_dir(&manifest_dir);
    let (wasi_include, wasi_lib) = wasi_libc();

    let mut build = cc::Build::new();
    if env::var_os("CC_wasm32_unknown_unknown").is_none() {
        build.compiler(find_tool(&["clang-19", "clang"]));
    }
    if env::var_os("AR_wasm32_unknown_unknown").is_none() {
        build.archiver(find_tool(&["llvm-ar-19", "llvm-ar"]));
    }
    build
        // Later than cc's own --target, so it wins: wasi-libc's headers need __wasi__.
        .flag("--target=wasm32-wasi")
        .flag("-nostdlibinc")
        .flag("-isystem")
        .flag(c_dir.join("include").to_str().unwrap())
        .flag("-isystem")
        .flag(wasi_include.to_str().unwrap())
        // setjmp/longjmp as wasm exceptions (legacy EH encoding: clang-19's default,
        // which Node 20 and current browsers run).
        .flag("-mllvm")
        .flag("-wasm-enable-sjlj")
        .flag("-fno-common")
        // memcpy/memset as single instructions, and float-to-integer conversions without
        // range checks (both in every current engine; rustc enables them by default too).
        .flag("-mbulk-memory")
        .flag("-mnontrapping-fptoint")
        // As lua-src builds Lua for WASI; the native build gets LUA_USE_LINUX instead.
        .define("LUA_USE_POSIX", None)
        .define("LUA_COMPAT_5_3", None)
        // lstate.h needs sig_atomic_t; no signal function is used.
        .define("_WASI_EMULATED_SIGNAL", None)
        .include(&lua_dir)
        .warnings(false);
    // The interpreter (c/interpreter.c: ldo.c and lvm.c as one unit) counts steps for the
    // time limit (see c/fuel.h). It dispatches with a `switch` rather than computed gotos,
    // which wasm lacks: clang then copies the dispatch into every instruction, and fib(30)
    // ran 3% more instructions that way.
    let mut interpreter = build.clone();
    interpreter
        .include(&c_dir)
        .define("LUA_USE_JUMPTABLE", "0")
        .file(c_dir.join("interpreter.c"));
    interpreter.compile("lua5.4-vm");
    build
        .file(c_dir.join("sjlj.c"))
        .file(c_dir.join("wasi_stubs.c"))
        .file(c_dir.join("fuel.c"));
    for entry in std::fs::read_dir(&lua_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        // lua.c and luac.c are the stand-alone programs (absent from lua-src 5.4 anyway);
        // ldo.c and lvm.c are in c/interpreter.c.
        if name.ends_with(".c") && !["lua.c", "luac.c", "ldo.c", "lvm.c"].contains(&name) {
            build.file(&path);
        }
    }
    build.compile("lua5.4");

    println!("cargo:rustc-link-search=native={}", wasi_lib.display());
    println!("cargo:rustc-link-lib=static:-bundle=c");
    // A signature mismatch between a C declaration and its definition would otherwise
    // only warn, and link a trapping stub.
    println!("cargo:rustc-link-arg=--fatal-warnings");
}

/// Lua 5.4's C sources inside the lua-src package this crate depends on.
fn lua_source_dir(manifest_dir: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("LUA_SRC_DIR") {
        return PathBuf::from(dir);
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Filtered to the platforms of this build, whose packages cargo has already fetched.
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &env::var("HOST").unwrap()])
        .args(["--filter-platform", &env::var("TARGET").unwrap()])
        .arg("--manifest-path")
        .arg(manifest_dir.join("Cargo.toml"))
        .output()
        .expect("build.rs: cannot run `cargo metadata` to locate lua-src (set LUA_SRC_DIR)");
    assert!(
        output.status.success(),
        "build.rs: `cargo metadata` failed (set LUA_SRC_DIR): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata = String::from_utf8(output.stdout).unwrap();
    let package_dir = lua_src_package_dir(&metadata)
        .expect("build.rs: lua-src not found in `cargo metadata` output (set LUA_SRC_DIR)");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&package_dir)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("lua-5.4"))
        })
        .collect();
    dirs.sort();
    dirs.pop()
        .unwrap_or_else(|| panic!("build.rs: no lua-5.4.* in {}", package_dir.display()))
}

/// The directory of the `lua-src` package in `cargo metadata` JSON, without a JSON parser:
/// a package object starts with `{"name":"lua-src","version":` (dependency entries have
/// `"source"` after the name) and its only `manifest_path` key is its own.
fn lua_src_package_dir(metadata: &str) -> Option<PathBuf> {
    let start = metadata.find(r#"{"name":"lua-src","version":"#)?;
    let key = r#""manifest_path":""#;
    let from = start + metadata[start..].find(key)? + key.len();
    let len = metadata[from..].find('"')?;
    // Paths are JSON strings: only `\\` can occur in practice (Windows separators).
    let manifest = metadata[from..from + len].replace(r"\\", r"\");
    Some(Path::new(&manifest).parent()?.to_path_buf())
}

/// wasi-libc's include and lib directories.
fn wasi_libc() -> (PathBuf, PathBuf) {
    let (include, lib) = match env::var_os("WASI_SYSROOT") {
        Some(root) => {
            let root = PathBuf::from(root);
            (root.join("include"), root.join("lib"))
        }
        None => (
            PathBuf::from("/usr/include/wasm32-wasi"),
            PathBuf::from("/usr/lib/wasm32-wasi"),
        ),
    };
    assert!(
        include.join("stdio.h").exists() && lib.join("libc.a").exists(),
        "build.rs: wasi-libc not found at {} and {} (run scripts/install-wasm-tools.sh, or set WASI_SYSROOT)",
        include.display(),
        lib.display()
    );
    (include, lib)
}

/// The first of `names` found on PATH.
fn find_tool(names: &[&str]) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("build.rs: none of {names:?} found on PATH (run scripts/install-wasm-tools.sh)");
}
