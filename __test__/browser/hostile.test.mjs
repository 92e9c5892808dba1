// The hostile battery in real Chromium, importing the package by its name (see api.test.mjs).
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { Store } from 'n3'
import { hostileSuite } from '../shared/hostile-suite.mjs'

await ready

hostileSuite(lua, { tripleStore: () => new lua.N3TripleStore(new Store()) })
