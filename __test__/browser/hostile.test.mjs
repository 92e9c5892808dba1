// The hostile battery in real Chromium, importing the package by its name (see api.test.mjs).
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { hostileSuite } from '../shared/hostile-suite.mjs'

await ready

hostileSuite(lua)
