#!/usr/bin/env bash
# Every test: lint and format (scripts/lint.sh), the core's cargo tests, the wasm loader's
# node tests, the Vitest suite against each backend (the State tests start their own
# PostgreSQL and redis-server), then the browser tests in Chromium
# (vitest.browser.config.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh
bash scripts/lint.sh
bash scripts/install-browser.sh
bash scripts/install-lua-reference.sh
# PostgreSQL and redis-server, which the State tests start on loopback ports of their own.
bash scripts/install-servers.sh
# CI draws the same property-test cases on every run, so that a red run points at the
# commit that made it red; other runs draw new cases (a long run: README, Security).
if [[ "${CI:-}" == true ]]; then
  export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-2026120601}"
fi
cargo test --release -p pubwiki-lua-core --features fault-injection
node --test crates/wasm/test/
# One backend after the other: wall-time tests (parallelism, time limits) must not share
# the 2 cores with the other backend's suite.
PUBWIKI_LUA_BACKENDS=native npx vitest run
PUBWIKI_LUA_BACKENDS=wasm npx vitest run
npx vitest run --config vitest.browser.config.mjs
