/*
 * <setjmp.h> for Lua compiled to wasm32 with LLVM's wasm setjmp/longjmp lowering
 * (clang -mllvm -wasm-enable-sjlj). Debian's wasi-libc (2022) ships none.
 *
 * The compiler rewrites every setjmp/longjmp call into calls to __wasm_setjmp,
 * __wasm_setjmp_test and __wasm_longjmp (the wasi-libc "libsetjmp" ABI), implemented in
 * ../sjlj.c; longjmp becomes a wasm exception caught by the function that called setjmp.
 */
#ifndef PUBWIKI_LUA_WASM_SETJMP_H
#define PUBWIKI_LUA_WASM_SETJMP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Holds struct jmp_buf_impl of sjlj.c (16 bytes on wasm32), with room to spare. */
typedef unsigned long long jmp_buf[4];

int setjmp(jmp_buf env) __attribute__((__returns_twice__));
_Noreturn void longjmp(jmp_buf env, int val);

/* LUA_USE_POSIX makes Lua use the _-prefixed names; they are the same here. */
#define _setjmp setjmp
#define _longjmp longjmp

#ifdef __cplusplus
}
#endif

#endif
