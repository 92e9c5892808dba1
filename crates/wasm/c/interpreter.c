/*
 * Lua's interpreter as one translation unit of two of Lua's own files, compiled by build.rs
 * (which puts Lua's source directory on the include path; nothing of Lua is copied here).
 *
 * - c/fuel.h first: it defines lua_lock, which Lua's headers define only when it is not
 *   defined yet.
 * - ldo.c, so that clang can inline luaD_precall, the call half of every Lua function call,
 *   into luaV_execute: 6% fewer instructions for fib(30) (callgrind on Node, TurboFan
 *   code). A unity build of all of Lua made things slower and larger.
 * - c/fuel_vm.h after ldo.c, which has included every Lua header lvm.c uses, and before
 *   lvm.c, whose own includes then change none of the macros fuel_vm.h redefines for it.
 */
#include "fuel.h"
#include "ldo.c"
#include "fuel_vm.h"
#include "lvm.c"
