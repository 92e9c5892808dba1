/* The step counter of fuel.h. */
#include <stddef.h>

#define PUBWIKI_FUEL_STEPS 10000

int pubwiki_fuel = PUBWIKI_FUEL_STEPS;

static void (*fuel_handler)(void);

void pubwiki_lua_wasm_set_fuel_handler(void (*handler)(void)) {
    fuel_handler = handler;
}

int pubwiki_fuel_empty(void) {
    pubwiki_fuel = PUBWIKI_FUEL_STEPS;
    if (fuel_handler != NULL) {
        fuel_handler();
    }
    return 0;
}
