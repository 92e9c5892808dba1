// The host bridge suite in Node, once per backend (PUBWIKI_LUA_BACKEND), through the
// CommonJS entry; shared/bridge-suite.mjs also runs in Chromium (browser/bridge.test.mjs).
import { createRequire } from 'node:module'
import { bridgeSuite } from './shared/bridge-suite.mjs'

const require = createRequire(import.meta.url)

bridgeSuite(require('..'))
