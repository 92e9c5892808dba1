/*
 * C Lua 5.4 reference for the pubwiki-lua benchmark harness (bench/run.mjs).
 *
 *   bench <workload> <iterations> [warmup] < code.lua
 *
 * Reads the Lua chunk from stdin, then runs it <iterations> times, every time
 * in a fresh state: luaL_newstate + luaL_openlibs + print replacement +
 * luaL_dostring + lua_close.  `print` is replaced by a C function that
 * appends to a host buffer (tab-separated luaL_tolstring of each argument,
 * newline-terminated, like the stock print), so the print workload measures
 * host capture rather than stdout.  [warmup] extra untimed runs come first.
 *
 * Prints one JSON object on stdout:
 *   {"workload":..., "iterations":N, "total_s":..., "times_s":[...],
 *    "result":"<tostring of the chunk's first return value>",
 *    "output_bytes":<bytes captured by print in the last run>}
 *
 * With BENCH_LUA_HOOK_COUNT=n in the environment (n > 0) every state also
 * gets a no-op LUA_MASKCOUNT hook every n instructions, to show what an
 * instruction-count hook (as used for time limits) costs by itself.
 *
 * The special workload name "rss" runs <iterations> fresh-state calls and
 * reports VmRSS (from /proc/self/status) before the first call, after 1000
 * calls and after all of them, plus getrusage's ru_maxrss:
 *   {"workload":"rss", "rss_kb":{"0":...,"1000":...,"<N>":...}, "maxrss_kb":...}
 */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static buf_t out; /* print capture of the current call */

static void buf_add(buf_t *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 4096;
    while (nc < b->len + n) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    b->p = np;
    b->cap = nc;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static int capture_print(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t l;
    const char *s = luaL_tolstring(L, i, &l);
    if (i > 1) buf_add(&out, "\t", 1);
    buf_add(&out, s, l);
    lua_pop(L, 1);
  }
  buf_add(&out, "\n", 1);
  return 0;
}

static int hook_count; /* 0: no hook */

static void noop_hook(lua_State *L, lua_Debug *ar) {
  (void)L;
  (void)ar;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One fresh-state call.  Copies tostring(first result) into *result (if not
 * NULL), the error message into *err on failure, and returns captured bytes. */
static size_t run_once(const char *code, buf_t *result, buf_t *err) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "luaL_newstate failed\n");
    exit(2);
  }
  luaL_openlibs(L);
  lua_register(L, "print", capture_print);
  if (hook_count > 0) lua_sethook(L, noop_hook, LUA_MASKCOUNT, hook_count);
  if (luaL_dostring(L, code) != LUA_OK) {
    if (err) {
      size_t l;
      const char *m = lua_tolstring(L, -1, &l);
      err->len = 0;
      if (m) buf_add(err, m, l);
    }
  } else if (result) {
    result->len = 0;
    if (lua_gettop(L) > 0) {
      size_t l;
      const char *s = luaL_tolstring(L, 1, &l);
      buf_add(result, s, l);
    }
  }
  lua_close(L);
  size_t bytes = out.len;
  buf_free(&out);
  return bytes;
}

static char *read_all(FILE *f) {
  buf_t b = {0};
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_add(&b, tmp, n);
  buf_add(&b, "", 1); /* NUL */
  return b.p;
}

static void json_str(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static long vmrss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  fclose(f);
  return kb;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s <workload> <iterations> [warmup] < code.lua\n", argv[0]);
    return 1;
  }
  const char *workload = argv[1];
  long iters = strtol(argv[2], NULL, 10);
  long warmup = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
  if (iters < 1) iters = 1;
  const char *hc = getenv("BENCH_LUA_HOOK_COUNT");
  hook_count = hc ? atoi(hc) : 0;
  char *code = read_all(stdin);
  buf_t result = {0}, err = {0};

  if (strcmp(workload, "rss") == 0) {
    long base = vmrss_kb(), at1k = -1;
    for (long i = 1; i <= iters; i++) {
      run_once(code, NULL, &err);
      if (i == 1000) at1k = vmrss_kb();
    }
    long atN = vmrss_kb();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"workload\":\"rss\",\"iterations\":%ld,\"rss_kb\":{\"0\":%ld,\"1000\":%ld,\"%ld\":%ld},"
           "\"maxrss_kb\":%ld",
           iters, base, at1k, iters, atN, ru.ru_maxrss);
    if (err.len) {
      printf(",\"error\":");
      json_str(err.p, err.len);
    }
    printf("}\n");
    return 0;
  }

  for (long i = 0; i < warmup; i++) run_once(code, &result, &err);

  double *times = malloc(sizeof(double) * (size_t)iters);
  size_t bytes = 0;
  double t_all = now_s();
  for (long i = 0; i < iters; i++) {
    double t0 = now_s();
    bytes = run_once(code, &result, &err);
    times[i] = now_s() - t0;
  }
  double total = now_s() - t_all;

  printf("{\"workload\":");
  json_str(workload, strlen(workload));
  printf(",\"iterations\":%ld,\"total_s\":%.9f,\"times_s\":[", iters, total);
  /* per-iteration times only when there are few of them */
  if (iters <= 100)
    for (long i = 0; i < iters; i++) printf("%s%.9f", i ? "," : "", times[i]);
  printf("],\"result\":");
  json_str(result.p ? result.p : "", result.len);
  printf(",\"output_bytes\":%zu", bytes);
  if (err.len) {
    printf(",\"error\":");
    json_str(err.p, err.len);
  }
  printf("}\n");
  free(times);
  free(code);
  return 0;
}
