// Worker runners in real Chromium: the wasm backend in Web Workers, the page stays free.
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { workerSuite } from '../shared/worker-suite.mjs'

await ready

workerSuite(lua, new URL('../workers/stuck.browser.mjs', import.meta.url))
