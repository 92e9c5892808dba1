/*
 * The interpreter's spending points for c/fuel.h, included by c/interpreter.c between
 * Lua's ldo.c and lvm.c.
 *
 * Steps are spent only where Lua code can come back to code it has run: at jumps, at the
 * jump back of `for` loops, and on entering or returning to a function. Each spends at least
 * as many steps as instructions can run before the next such point (a jump's distance, the
 * function's length). Counting every instruction instead cost fib(30) 10% more
 * instructions (callgrind on Node's optimised wasm code: 1.050G, now 0.959G; wasmoon 0.992G).
 * String comparisons, the long operations inside an instruction that neither allocate nor
 * call a C function, spend steps too.
 *
 * The points are three of Lua's own macros, redefined here for lvm.c with their upstream
 * bodies plus the spending, and two string comparisons: ldo.c has included every header
 * lvm.c needs, so lvm.c's includes change nothing back. No Lua source is copied or edited.
 */
#ifndef PUBWIKI_FUEL_VM_H
#define PUBWIKI_FUEL_VM_H

#include "fuel.h"

/* Every jump (OP_JMP, and the conditional jumps that follow tests): its distance. */
static inline int pubwiki_spend_jump(int offset) {
    pubwiki_spend(offset < 0 ? 1 - offset : 1 + offset);
    return offset;
}
#undef GETARG_sJ
#define GETARG_sJ(i) pubwiki_spend_jump(getarg(i, POS_sJ, SIZE_sJ) - OFFSET_sJ)

/* The jump back of numeric and generic `for` loops: the loop's length. Bx's other uses
 * (constants, prototypes, the jump over a loop that does not run) spend nothing. */
static inline int pubwiki_spend_loop(Instruction i, int bx) {
    OpCode op = GET_OPCODE(i);
    if (op == OP_FORLOOP || op == OP_TFORLOOP) {
        pubwiki_spend(bx);
    }
    return bx;
}
#undef GETARG_Bx
#define GETARG_Bx(i) pubwiki_spend_loop(i, getarg(i, POS_Bx, SIZE_Bx))

/* Entering a Lua function or returning to one (lvm.c's only use of ci_func): the function's
 * length. (What is left of it after the saved pc would be closer, and cost fib(30) 6% more.) */
static inline LClosure *pubwiki_spend_frame(CallInfo *ci) {
    LClosure *cl = clLvalue(s2v(ci->func.p));
    pubwiki_spend(cl->p->sizecode);
    return cl;
}
#undef ci_func
#define ci_func(ci) pubwiki_spend_frame(ci)

/* `<`/`<=` on strings (lvm.c's l_strcmp) compare up to the first difference: 1 MB takes
 * 0.7 ms, so a comparison spends a step per 64 bytes it looked at. strcoll is strcmp in
 * wasi-libc (it has no collation but the C locale's), written out here for that count. */
static inline int pubwiki_strcoll(const char *l, const char *r) {
    const char *start = l;
    while (*l == *r && *l != '\0') {
        l++;
        r++;
    }
    pubwiki_spend(1 + (int)((l - start) >> 6));
    return (unsigned char)*l - (unsigned char)*r;
}
#define strcoll(l, r) pubwiki_strcoll(l, r)

/* `==` on long strings (a memcmp in lstring.c: 4 MB take ~0.4 ms): a step per 64 bytes. */
static inline int pubwiki_eqlngstr(TString *a, TString *b) {
    pubwiki_spend(1 + (int)(a->u.lnglen >> 6));
    return (luaS_eqlngstr)(a, b);
}
#define luaS_eqlngstr(a, b) pubwiki_eqlngstr(a, b)

#endif
