/*
 * A step counter for time limits without a permanent count hook, compiled into Lua's
 * interpreter (c/interpreter.c). This part comes before any of Lua's headers; c/fuel_vm.h
 * holds the interpreter's spending points.
 *
 * With any count hook set, Lua 5.4 calls into its debug machinery before every instruction,
 * which halves the speed of compute-bound scripts. Natively a watchdog thread installs the
 * hook only at the deadline (crates/core/src/watchdog.rs); a single-threaded wasm instance
 * has no such thread. Instead the interpreter spends steps from `pubwiki_fuel`, and every
 * PUBWIKI_FUEL_STEPS steps `pubwiki_fuel_empty` lets the core look at the clock and, past the
 * deadline, install the hook exactly as the watchdog does. A step stands for about one
 * instruction's worth of work. (The core also looks at the clock as memory is allocated,
 * which covers C functions that build big strings: crates/core/src/fuel.rs.)
 */
#ifndef PUBWIKI_FUEL_H
#define PUBWIKI_FUEL_H

extern int pubwiki_fuel;
/* Refills the counter, tells the core; returns 0. */
int pubwiki_fuel_empty(void);

static inline void pubwiki_spend(int steps) {
    pubwiki_fuel -= steps;
    if (__builtin_expect(pubwiki_fuel < 0, 0)) {
        pubwiki_fuel_empty();
    }
}

/* What a call of a C function spends, whatever it does: one C function can take as long
 * as thousands of instructions (utf8.len over 1 MB: 1.5 ms), so a loop of such calls
 * reaches the clock every ~20 turns. Cheap calls pay for that clock: a loop of math.abs
 * calls runs 12% more instructions, one of s:byte 4.5% (callgrind). Weighing each call by
 * its arguments instead (a loop over them) cost more than the clock. */
#define PUBWIKI_C_CALL_STEPS 500

/* Lua brackets every call of a C function, hook and continuation with lua_unlock/lua_lock
 * (no-ops unless defined before its headers); the lock after it spends the steps. */
#define lua_lock(L) pubwiki_spend(PUBWIKI_C_CALL_STEPS)
#define lua_unlock(L) ((void)0)

#endif
