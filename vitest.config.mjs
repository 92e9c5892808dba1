import { defineConfig } from 'vitest/config'

// The same suite runs once per backend (PUBWIKI_LUA_BACKEND picks it in index.js).
const backends = (process.env.PUBWIKI_LUA_BACKENDS ?? 'native').split(',')

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: backends.map((backend) => ({
      extends: true,
      test: {
        name: backend,
        include: ['__test__/**/*.test.{js,mjs}'],
        env: { PUBWIKI_LUA_BACKEND: backend },
      },
    })),
  },
})
