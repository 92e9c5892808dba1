// The hostile battery in Node, once per backend (PUBWIKI_LUA_BACKEND). The battery itself is
// shared/hostile-suite.mjs (also run in Chromium by __test__/browser/hostile.test.mjs).
import { createRequire } from 'node:module'
import { hostileSuite } from './shared/hostile-suite.mjs'

hostileSuite(createRequire(import.meta.url)('..'))
