/*
 * Included by c/interpreter.c between Lua's ldo.c and lvm.c: a step counter for time limits
 * without a permanent count hook.
 *
 * With any count hook set, Lua 5.4 calls into its debug machinery before every instruction,
 * which halves the speed of compute-bound scripts. Natively a watchdog thread installs the
 * hook only at the deadline (crates/core/src/watchdog.rs); a single-threaded wasm instance
 * has no such thread. Instead the interpreter spends steps from `pubwiki_fuel`, and every
 * PUBWIKI_FUEL_STEPS steps `pubwiki_fuel_empty` lets the core look at the clock and, past the
 * deadline, install the hook exactly as the watchdog does.
 *
 * Steps are spent only where Lua code can come back to code it has run: at jumps, at the
 * jump back of `for` loops, and on entering or returning to a function. Each spends at least
 * as many steps as instructions can run before the next such point (a jump's distance, the
 * function's length), so a step still stands for at most one instruction, whatever the
 * shape of the loop. Counting every instruction instead cost fib(30) 10% more instructions
 * (callgrind on Node's optimised wasm code: 1.050G, now 0.959G; wasmoon 0.992G).
 *
 * The points are three of Lua's own macros, redefined here for lvm.c with their upstream
 * bodies plus the spending: ldo.c has included every header lvm.c needs, so lvm.c's
 * includes change nothing back. No Lua source is copied or edited.
 */
#ifndef PUBWIKI_FUEL_H
#define PUBWIKI_FUEL_H

extern int pubwiki_fuel;
/* Refills the counter, tells the core; returns 0. */
int pubwiki_fuel_empty(void);

static inline void pubwiki_spend(int steps) {
    pubwiki_fuel -= steps;
    if (l_unlikely(pubwiki_fuel < 0)) {
        pubwiki_fuel_empty();
    }
}

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

#endif
