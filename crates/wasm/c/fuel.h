/*
 * Force-included into Lua's interpreter (lvm.c) only, by build.rs: a step counter for time
 * limits without a permanent count hook.
 *
 * Lua 5.4 checks hooks through `if (l_unlikely(trap))` before every instruction, and with
 * any count hook set that check calls into the debug machinery every time, which halves the
 * speed of compute-bound scripts. Natively a watchdog thread installs the hook only at the
 * deadline (crates/core/src/watchdog.rs); a single-threaded wasm instance has no such
 * thread. Instead, every `l_unlikely(c)` in lvm.c whose condition is false (so at least one
 * per instruction) counts one step down, and every PUBWIKI_FUEL_STEPS steps
 * `pubwiki_fuel_empty` lets the core look at the clock and, past the deadline, install the
 * hook exactly as the watchdog does. The condition's value is never changed.
 *
 * luaconf.h defines these two macros only when they are not defined already.
 */
#ifndef PUBWIKI_FUEL_H
#define PUBWIKI_FUEL_H

extern int pubwiki_fuel;
/* Refills the counter, tells the core; returns 0. */
int pubwiki_fuel_empty(void);

#define luai_likely(x) (__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x) \
    (__builtin_expect(((x) != 0) || (--pubwiki_fuel < 0 && pubwiki_fuel_empty()), 0))

#endif
