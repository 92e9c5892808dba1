#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium at /usr/bin/chromium (driven by the
# npm package playwright, whose own browser downloads are never used). Idempotent: does
# nothing when /usr/bin/chromium is there. PUBWIKI_LUA_CHROMIUM names another binary.
set -euo pipefail

chromium="${PUBWIKI_LUA_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0
if [ "$chromium" != /usr/bin/chromium ]; then
  echo "install-browser: $chromium (PUBWIKI_LUA_CHROMIUM) is not an executable" >&2
  exit 1
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-browser: installing Debian's chromium" >&2
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium
"$chromium" --version
