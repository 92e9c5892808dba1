#!/usr/bin/env bash
# `npm run cross -- windows` and `npm run cross -- darwin` (scripts/cross.sh calls this):
# what this x64 Debian machine can check of the platforms the release workflow builds on
# their own runners (.github/workflows/release.yml).
#
#   windows  the core's whole cargo test suite (fault injection on, as in `npm test`) for
#            x86_64-pc-windows-gnu, built with MinGW and run by Wine (its own prefix in the
#            cache): time limits there go through the Windows watchdog (it suspends the
#            late call's thread: crates/core/src/watchdog.rs); then clippy of the addon
#            crate for that target. The addon is not built:
#            linking it needs Node's import library for MinGW, and the release's target is
#            MSVC anyway (same Rust code, other toolchain; the C library differs: see below).
#   darwin   clippy (-D warnings) of the core and the addon for x86_64-apple-darwin and
#            aarch64-apple-darwin, with the C compiled for this machine
#            (scripts/darwin-check-cc.sh): a compile-check of our Rust code, nothing run.
#
# One known difference under MinGW: its C library (msvcrt) writes three exponent digits,
# so io.write(2^63) gives 9.2233720368548e+018 where every other platform, the MSVC
# build's UCRT included, writes e+18; run.rs's io_write_formats_like_lua is skipped here.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${PUBWIKI_LUA_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pubwiki-lua-cross}"
# Their own target directory: the host's builds are left alone.
export CARGO_TARGET_DIR="$PWD/target/cross-check"

for platform in "$@"; do
  case "$platform" in
    windows)
      echo "cross-check: the core's tests for x86_64-pc-windows-gnu under Wine" >&2
      WINEPREFIX="$cache/wine" WINEDEBUG=-all \
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$(command -v wine64 || echo /usr/lib/wine/wine64)" \
        nice -n 10 cargo test --release --target x86_64-pc-windows-gnu -p pubwiki-lua-core \
        --features fault-injection -- --skip io_write_formats_like_lua
      echo "cross-check: clippy of the addon for x86_64-pc-windows-gnu" >&2
      # napi-build looks for libnode.dll to link against; a check never links.
      mkdir -p "$cache/libnode" && touch "$cache/libnode/libnode.dll"
      LIBNODE_PATH="$cache/libnode" cargo clippy --target x86_64-pc-windows-gnu \
        -p pubwiki-lua-core -p pubwiki-lua-node -- -D warnings
      ;;
    darwin)
      for target in x86_64-apple-darwin aarch64-apple-darwin; do
        echo "cross-check: clippy of the core and the addon for $target" >&2
        var="${target//-/_}"
        env "CC_$var=$PWD/scripts/darwin-check-cc.sh" "AR_$var=ar" \
          cargo clippy --target "$target" -p pubwiki-lua-core -p pubwiki-lua-node \
          --all-targets --features pubwiki-lua-core/fault-injection -- -D warnings
      done
      ;;
    *) echo "cross-check: unknown platform '$platform' (windows, darwin)" >&2; exit 64 ;;
  esac
done
