#!/usr/bin/env bash
# Lint and format checks, for every crate and every JavaScript file (npm run lint; the first
# step of npm test). Fails on any finding; `cargo fmt --all` (and in crates/wasm) mends the
# formatting.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all -- --check
(cd crates/wasm && cargo fmt -- --check)
cargo clippy --release --all-targets -p pubwiki-lua-core --features fault-injection -- -D warnings
cargo clippy --release --all-targets -p pubwiki-lua-node -- -D warnings
# The wasm crate for its target, in the target directory scripts/build-wasm.sh uses.
(cd crates/wasm && CARGO_TARGET_DIR="$PWD/../../target/wasm-build" \
  cargo clippy --release --all-targets --target wasm32-unknown-unknown -- -D warnings)

npx eslint .
npx knip
echo "lint: ok"
