#!/usr/bin/env bash
# Installs the database servers the State tests and the bench start for themselves
# (scripts/test-servers.mjs): Debian's PostgreSQL (initdb and postgres under
# /usr/lib/postgresql/*/bin) and redis-server. Idempotent and quick when both are there;
# nothing is started or enabled here (the tests run their own on free loopback ports).
set -euo pipefail

need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-servers: installing Debian's ${need[*]}" >&2
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
# policy-rc.d-less containers: the packages' services may fail to start; the tests do not
# use them, so their failure to start is no failure here.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
command -v redis-server >/dev/null
