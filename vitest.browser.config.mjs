import { defineConfig } from 'vitest/config'

// Tests in a real browser: Debian's Chromium (scripts/install-browser.sh installs it),
// driven by Playwright. Run with `npx vitest run --config vitest.browser.config.mjs`.
//   chromium   the API suite in Chromium (__test__/browser/), importing 'pubwiki-lua' by
//              name, resolved through package.json's `exports` like a user's bundler does
//   vite-app     e2e/vite-app built by `vite build` and run by the Vite dev server, each loaded
//                in headless Chromium (e2e/vite-app.test.mjs)
//   webpack-app  e2e/webpack-app built by webpack 5 (production and development), served and
//                loaded in headless Chromium (e2e/webpack-app.test.mjs)
export const chromium = {
  executablePath: process.env.PUBWIKI_LUA_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['__test__/browser/**/*.test.{js,mjs}'],
          // The fake MediaWiki the mw tests load modules from (a server on loopback).
          globalSetup: ['__test__/browser/wiki-setup.mjs'],
          browser: {
            enabled: true,
            provider: 'playwright',
            headless: true,
            screenshotFailures: false,
            instances: [{ browser: 'chromium', launch: chromium }],
          },
        },
      },
      {
        extends: true,
        test: {
          name: 'vite-app',
          include: ['e2e/vite-app.test.mjs'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'webpack-app',
          include: ['e2e/webpack-app.test.mjs'],
          environment: 'node',
        },
      },
    ],
  },
})
