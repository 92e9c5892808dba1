#!/usr/bin/env bash
# Every test: the core's cargo tests, the wasm loader's node tests, then the Vitest suite
# against each backend.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh
cargo test --release -p pubwiki-lua-core --features fault-injection
node --test crates/wasm/test/
PUBWIKI_LUA_BACKENDS=native,wasm npx vitest run
