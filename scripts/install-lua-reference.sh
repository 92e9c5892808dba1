#!/usr/bin/env bash
# Installs Debian's reference Lua 5.4 (`lua5.4`), against which the core's pattern tests
# compare. Idempotent: does nothing when /usr/bin/lua5.4 is there.
set -euo pipefail

[ -x /usr/bin/lua5.4 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-lua-reference: installing Debian's lua5.4" >&2
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q lua5.4
