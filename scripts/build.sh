#!/usr/bin/env bash
# Builds both backends: the native addon (napi-rs) and the wasm build. Idempotent: the
# installers and cargo skip work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm ci` refuses this lock file where the registry lacks other platforms' optional
  # packages of @napi-rs/cli; `npm install` then installs the same locked versions.
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund
fi

npx napi build --platform --release \
  --manifest-path crates/node/Cargo.toml --package-json-path package.json \
  --output-dir . --no-js --dts target/napi-binding.d.ts

bash scripts/install-wasm-tools.sh
bash scripts/build-wasm.sh
