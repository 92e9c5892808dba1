#!/usr/bin/env bash
# Every test: the core's cargo tests, then the Vitest suite against the built addon.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh
cargo test --release -p pubwiki-lua-core
npx vitest run
