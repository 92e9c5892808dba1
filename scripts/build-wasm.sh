#!/usr/bin/env bash
# Builds the WebAssembly version of pubwiki-lua into wasm/ at the repository root
# (replacing what is there):
#
#   wasm/pubwiki_lua_wasm_bg.wasm   the module (wasm-opt'ed when binaryen is available)
#   wasm/pubwiki_lua_wasm.mjs       its wasm-bindgen glue (--target web) made a factory of
#                                   instances (scripts/wasm-glue-factory.mjs), with
#                                   pubwiki_lua_wasm.d.mts and pubwiki_lua_wasm_instance.d.mts
#   wasm/node.js, node.d.ts         Node backend (CommonJS), from crates/wasm/js
#   wasm/web.mjs, web.d.mts         browser and bundler backend (ES module), from crates/wasm/js
#                                   (both over lib/wasm-backend.mjs)
#
# Needs the tools of scripts/install-wasm-tools.sh. wasm-opt is taken from the npm package
# `binaryen` (node_modules/.bin/wasm-opt), else from PATH; without it the module is left
# unoptimised (and larger). Environment:
#   CARGO_TARGET_DIR   cargo's target directory (default: target/wasm-build)
#   WASM_OPT           path of wasm-opt to use; WASM_OPT=none skips it
#   WASM_OPT_LEVEL     wasm-opt's optimisation flag (default -O3)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate="$repo/crates/wasm"
out="$repo/wasm"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/wasm-build}"
name=pubwiki_lua_wasm

start=$(date +%s)

# 1. Rust + Lua (C) -> wasm32-unknown-unknown.
cargo build --release --target wasm32-unknown-unknown --manifest-path "$crate/Cargo.toml"
raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/$name.wasm"

# 2. wasm-bindgen (the CLI must have the exact version of the wasm-bindgen crate).
want="$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' "$crate/Cargo.toml")"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
if [ "$have" != "$want" ]; then
    echo "build-wasm: wasm-bindgen-cli $want needed, found '${have:-none}': run scripts/install-wasm-tools.sh" >&2
    exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# One glue for browsers, bundlers and Node (where node.js gives it the compiled module).
wasm-bindgen --target web --out-dir "$tmp/web" --out-name "$name" "$raw"
mv "$tmp/web/${name}_bg.wasm" "$tmp/${name}_bg.wasm"

# 3. wasm-opt. The features are those the module uses: exception handling (Lua's
#    setjmp/longjmp), plus what rustc and clang enable by default for wasm32.
wasm_opt="${WASM_OPT:-}"
if [ -z "$wasm_opt" ]; then
    if [ -x "$repo/node_modules/.bin/wasm-opt" ]; then
        wasm_opt="$repo/node_modules/.bin/wasm-opt"
    elif command -v wasm-opt >/dev/null 2>&1; then
        wasm_opt="$(command -v wasm-opt)"
    fi
fi
if [ -n "$wasm_opt" ] && [ "$wasm_opt" != none ]; then
    "$wasm_opt" "$tmp/${name}_bg.wasm" -o "$tmp/${name}_bg.opt.wasm" \
        "${WASM_OPT_LEVEL:--O3}" \
        --enable-exception-handling --enable-bulk-memory --enable-mutable-globals \
        --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
        --enable-multivalue \
        --strip-debug --strip-producers --strip-target-features
    mv "$tmp/${name}_bg.opt.wasm" "$tmp/${name}_bg.wasm"
else
    echo "build-wasm: wasm-opt not found (npm install binaryen): module left unoptimised" >&2
fi

# 4. The module must import nothing but the wasm-bindgen glue (no WASI, no env).
node --input-type=module - "$tmp/${name}_bg.wasm" <<'EOF'
import { readFileSync } from 'node:fs';
const module = new WebAssembly.Module(readFileSync(process.argv[2]));
const foreign = WebAssembly.Module.imports(module).filter((i) => i.module !== './pubwiki_lua_wasm_bg.js');
if (foreign.length) {
    console.error('build-wasm: unexpected imports:', foreign.map((i) => `${i.module}.${i.name}`).join(', '));
    process.exit(1);
}
EOF

# 5. Install into wasm/. An explicit .mjs extension: the glue is read right whatever the
#    "type" of the enclosing package.json.
rm -rf "$out"
mkdir -p "$out"
cp "$tmp/${name}_bg.wasm" "$out/"
node "$repo/scripts/wasm-glue-factory.mjs" "$tmp/web/$name.js" "$tmp/web/$name.d.ts" "$out/$name.mjs" "$out/$name.d.mts"
cp "$crate/js/node.js" "$crate/js/node.d.ts" "$crate/js/web.mjs" "$crate/js/web.d.mts" "$out/"

bytes=$(wc -c < "$out/${name}_bg.wasm")
gz=$(gzip -9 -c "$out/${name}_bg.wasm" | wc -c)
echo "build-wasm: wasm/${name}_bg.wasm: $bytes bytes raw, $gz bytes gzipped (-9); built in $(( $(date +%s) - start )) s"
