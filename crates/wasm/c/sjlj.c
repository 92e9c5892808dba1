/*
 * Runtime of LLVM's wasm setjmp/longjmp lowering (-mllvm -wasm-enable-sjlj), with the
 * ABI of wasi-libc's libsetjmp, which Debian's wasi-libc (2022) lacks.
 *
 * The compiler turns `setjmp(env)` into `__wasm_setjmp(env, label, id)` (records which
 * setjmp call of which function invocation `env` belongs to) and wraps the function's
 * calls in a catch of the __c_longjmp tag; `longjmp(env, val)` becomes
 * `__wasm_longjmp(env, val)`, which throws that tag. The catching code asks
 * `__wasm_setjmp_test(env, id)` whether the jump targets its own invocation and, if so,
 * resumes at the recorded label; otherwise it rethrows.
 *
 * Compile with -mllvm -wasm-enable-sjlj (which also enables exception handling).
 */
#include <stddef.h>
#include <stdint.h>

struct jmp_buf_impl {
    void *func_invocation_id;
    uint32_t label;
    /* Read by the generated catch code: the thrown value points here. */
    struct arg {
        void *env;
        int val;
    } arg;
};

_Static_assert(sizeof(struct jmp_buf_impl) <= 32, "jmp_buf in include/setjmp.h is too small");

void __wasm_setjmp(void *env, uint32_t label, void *func_invocation_id) {
    struct jmp_buf_impl *jb = env;
    if (label == 0 || func_invocation_id == NULL) {
        __builtin_trap(); /* ABI contract */
    }
    jb->func_invocation_id = func_invocation_id;
    jb->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *func_invocation_id) {
    struct jmp_buf_impl *jb = env;
    if (jb->label == 0 || func_invocation_id == NULL) {
        __builtin_trap(); /* ABI contract */
    }
    return jb->func_invocation_id == func_invocation_id ? jb->label : 0;
}

void __wasm_longjmp(void *env, int val) {
    struct jmp_buf_impl *jb = env;
    /* setjmp never returns 0 after a longjmp. */
    jb->arg.env = env;
    jb->arg.val = val == 0 ? 1 : val;
    __builtin_wasm_throw(1, &jb->arg); /* tag 1: __c_longjmp */
}
