#!/usr/bin/env bash
# Builds both backends: the native addon (napi-rs) and the wasm build. Idempotent: the
# installers and cargo skip work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-build-tools.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The lock file lists every platform's optional packages, so `npm ci` takes it; should a
  # registry lack one of them, `npm install` still installs the same locked versions.
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund
fi

npx napi build --platform --release \
  --manifest-path crates/node/Cargo.toml --package-json-path package.json \
  --output-dir . --no-js --dts target/napi-binding.d.ts

bash scripts/install-wasm-tools.sh
bash scripts/build-wasm.sh
