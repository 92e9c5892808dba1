#!/usr/bin/env bash
# The "C compiler" of scripts/cross-check.sh's macOS compile-check: no macOS SDK can be had
# here, so the C of Lua (mlua's vendored sources) and mimalloc is compiled for this machine
# instead, with the Apple-only flags dropped. The objects are never linked (cargo clippy
# stops before linking); what the check checks is our Rust code for the macOS targets.
args=()
skip=0
for arg in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case "$arg" in
    -arch | -isysroot) skip=1 ;;
    -mmacosx-version-min=* | --target=* | -target) ;;
    *) args+=("$arg") ;;
  esac
done
exec gcc "${args[@]}"
