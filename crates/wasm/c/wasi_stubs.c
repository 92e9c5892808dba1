/*
 * Local definitions of the WASI (snapshot preview1) functions that wasi-libc's libc.a
 * refers to, so that the module imports nothing but the wasm-bindgen glue.
 *
 * libc.a calls `__imported_wasi_snapshot_preview1_<name>`, declared as a wasm import;
 * defining the symbol here resolves it at link time instead. (They are in C rather than
 * Rust because rustc exports every #[no_mangle] function of a cdylib.) The sandbox has no
 * files, environment or processes, so those calls fail (EBADF); the clocks come from the
 * host through the Rust side (for os.time and os.date), random bytes from a clock-seeded
 * generator.
 *
 * Signatures must match wasi-libc's exactly: on a mismatch wasm-ld links a trapping stub.
 * The set is what the linked libc objects reference; scripts/build-wasm.sh fails if the
 * module imports anything outside the wasm-bindgen glue.
 */
#include <stdint.h>

typedef int32_t errno_t;
enum { SUCCESS = 0, EBADF = 8, EINVAL = 28 };

/* Milliseconds of clock `id` (0: wall clock since the epoch, else monotonic). */
static double (*host_now_ms)(int32_t id);

void pubwiki_lua_wasm_set_clock(double (*now_ms)(int32_t id)) {
    host_now_ms = now_ms;
}

#define WASI(name) __imported_wasi_snapshot_preview1_##name

errno_t WASI(clock_time_get)(int32_t id, int64_t precision, uint64_t *time) {
    (void)precision;
    if (id < 0 || id > 3 || host_now_ms == 0) {
        return EINVAL;
    }
    *time = (uint64_t)(host_now_ms(id) * 1e6);
    return SUCCESS;
}

/* No environment variables. */
errno_t WASI(environ_sizes_get)(uint32_t *count, uint32_t *buf_size) {
    *count = 0;
    *buf_size = 0;
    return SUCCESS;
}
errno_t WASI(environ_get)(int32_t environ, int32_t buf) {
    (void)environ, (void)buf;
    return SUCCESS;
}

/* No file descriptors. EBADF from fd_prestat_get also ends wasi-libc's scan for
 * preopened directories, run by its constructor. */
errno_t WASI(fd_close)(int32_t a) { (void)a; return EBADF; }
errno_t WASI(fd_fdstat_get)(int32_t a, int32_t b) { (void)a, (void)b; return EBADF; }
errno_t WASI(fd_fdstat_set_flags)(int32_t a, int32_t b) { (void)a, (void)b; return EBADF; }
errno_t WASI(fd_prestat_get)(int32_t a, int32_t b) { (void)a, (void)b; return EBADF; }
errno_t WASI(fd_prestat_dir_name)(int32_t a, int32_t b, int32_t c) { (void)a, (void)b, (void)c; return EBADF; }
errno_t WASI(fd_read)(int32_t a, int32_t b, int32_t c, int32_t d) { (void)a, (void)b, (void)c, (void)d; return EBADF; }
errno_t WASI(fd_renumber)(int32_t a, int32_t b) { (void)a, (void)b; return EBADF; }
errno_t WASI(fd_seek)(int32_t a, int64_t b, int32_t c, int32_t d) { (void)a, (void)b, (void)c, (void)d; return EBADF; }
errno_t WASI(fd_write)(int32_t a, int32_t b, int32_t c, int32_t d) { (void)a, (void)b, (void)c, (void)d; return EBADF; }
errno_t WASI(path_open)(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int64_t f, int64_t g,
                        int32_t h, int32_t i) {
    (void)a, (void)b, (void)c, (void)d, (void)e, (void)f, (void)g, (void)h, (void)i;
    return EBADF;
}
errno_t WASI(path_remove_directory)(int32_t a, int32_t b, int32_t c) { (void)a, (void)b, (void)c; return EBADF; }
errno_t WASI(path_rename)(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f) {
    (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
    return EBADF;
}
errno_t WASI(path_unlink_file)(int32_t a, int32_t b, int32_t c) { (void)a, (void)b, (void)c; return EBADF; }

/* For arc4random(), which Lua's table.sort uses (on WASI) to randomise pivots; that is its
 * only use, so a clock-seeded splitmix64 will do (native Lua seeds it with clock() and
 * time()). Failing here would make arc4random abort. */
errno_t WASI(random_get)(uint8_t *buf, uint32_t len) {
    static uint64_t state;
    if (state == 0 && host_now_ms != 0) {
        double wall = host_now_ms(0), mono = host_now_ms(1);
        state = (uint64_t)(wall * 1000.0) ^ ((uint64_t)(mono * 1e6) << 21) ^ (uint64_t)(uintptr_t)buf;
    }
    for (uint32_t i = 0; i < len; i++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
    return SUCCESS;
}

/* exit()/abort() in C code: nothing can continue, so trap. */
_Noreturn void WASI(proc_exit)(int32_t code) {
    (void)code;
    __builtin_trap();
}
