// Scribunto's `mw` in real Chromium, against the fake MediaWiki the Node side started
// (wiki-setup.mjs).
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { inject } from 'vitest'
import { mwSuite } from '../shared/mw-suite.mjs'

await ready

mwSuite(lua, inject('wiki'))
