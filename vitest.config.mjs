import { configDefaults, defineConfig } from 'vitest/config'

// The same suite runs once per backend (PUBWIKI_LUA_BACKEND picks it in index.js).
// __test__/browser/ runs in Chromium instead: vitest.browser.config.mjs.
const backends = (process.env.PUBWIKI_LUA_BACKENDS ?? 'native').split(',')

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // One file at a time: the parallelism and time-limit tests measure wall time, which a
    // test file running beside them on a 2-core machine would distort.
    fileParallelism: false,
    projects: backends.map((backend) => ({
      extends: true,
      test: {
        name: backend,
        include: ['__test__/**/*.test.{js,mjs}'],
        exclude: [...configDefaults.exclude, '__test__/browser/**'],
        env: { PUBWIKI_LUA_BACKEND: backend },
      },
    })),
  },
})
