/*
 * Included by c/interpreter.c just before Lua's interpreter (lvm.c): a step counter for
 * time limits without a permanent count hook.
 *
 * Lua 5.4 checks for hooks through `if (l_unlikely(trap))` before every instruction (and
 * on entering and returning to a function), and with any count hook set that check calls
 * into the debug machinery every time, which halves the speed of compute-bound scripts.
 * Natively a watchdog thread installs the hook only at the deadline
 * (crates/core/src/watchdog.rs); a single-threaded wasm instance has no such thread.
 * Instead, each of those checks whose `trap` is false counts one step down, and every
 * PUBWIKI_FUEL_STEPS steps `pubwiki_fuel_empty` lets the core look at the clock and, past
 * the deadline, install the hook exactly as the watchdog does. No condition's value is
 * changed.
 *
 * Which checks count is decided at compile time from the condition's text (clang folds the
 * comparison of two literals): counting at every `l_unlikely` would also count inside
 * instructions, ~25% more steps for no more safety (callgrind: fib(30) 2% slower).
 * Every instruction still counts, so no Lua loop runs uncounted.
 */
#ifndef PUBWIKI_FUEL_H
#define PUBWIKI_FUEL_H

extern int pubwiki_fuel;
/* Refills the counter, tells the core; returns 0. */
int pubwiki_fuel_empty(void);

#define PUBWIKI_COUNTS_STEP(condition_text) (__builtin_strcmp(condition_text, "trap") == 0)

/* luaconf.h has defined these already (for ldo.c); lvm.c gets these instead. */
#undef luai_likely
#undef luai_unlikely
#define luai_likely(x) (__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x)                                                                   \
    (__builtin_expect(((x) != 0) || (PUBWIKI_COUNTS_STEP(#x) && --pubwiki_fuel < 0 &&      \
                                     pubwiki_fuel_empty()),                                \
                      0))

#endif
