#!/usr/bin/env bash
# Installs what scripts/build-wasm.sh needs. Idempotent, and fast when everything is there.
#
#   - the Rust target wasm32-unknown-unknown
#   - clang-19, lld-19 (wasm-ld), llvm-19 (llvm-ar) and wasi-libc from Debian: Lua's C
#     sources are compiled for wasm with them (lua-src cannot target wasm32-unknown-unknown)
#   - wasm-bindgen-cli, at exactly the version of the wasm-bindgen crate in
#     crates/wasm/Cargo.toml (the two must match)
#
# wasm-opt comes from the npm package `binaryen` (a devDependency), not from here.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The version pinned in crates/wasm/Cargo.toml (`wasm-bindgen = "=0.2.x"`).
wb_version="$(sed -n 's/^wasm-bindgen *= *{* *\(version *= *\)*"=\([0-9.]*\)".*/\2/p' \
    "$repo/crates/wasm/Cargo.toml" | head -n1)"
if [ -z "$wb_version" ]; then
    echo "install-wasm-tools: cannot read the pinned wasm-bindgen version from crates/wasm/Cargo.toml" >&2
    exit 1
fi

# 1. Rust target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "install-wasm-tools: adding Rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# 2. Debian packages, only those missing (apt-get update only when something is missing).
missing=()
for pkg in clang-19 lld-19 llvm-19 wasi-libc; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-wasm-tools: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    # Wait for a dpkg lock held by another apt run instead of failing at once.
    $sudo apt-get -o DPkg::Lock::Timeout=600 update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y \
        --no-install-recommends "${missing[@]}"
fi

# 3. wasm-bindgen-cli at the crate's version.
have=""
if command -v wasm-bindgen >/dev/null 2>&1; then
    have="$(wasm-bindgen --version | awk '{print $2}')"
fi
if [ "$have" != "$wb_version" ]; then
    echo "install-wasm-tools: installing wasm-bindgen-cli $wb_version (found: ${have:-none})"
    # Not --locked: the published lock file of wasm-bindgen-cli does not build here.
    cargo install wasm-bindgen-cli --version "=$wb_version" --force
fi

echo "install-wasm-tools: ok (wasm32-unknown-unknown, clang-19, lld-19, llvm-19, wasi-libc, wasm-bindgen $wb_version)"
