// The modules suite in real Chromium; the library folder comes in through Vite's raw imports.
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import expected from '../lua-modules/main.expected?raw'
import { modulesSuite } from '../shared/modules-suite.mjs'

await ready

const sources = import.meta.glob('../lua-modules/**/*.lua', { query: '?raw', import: 'default', eager: true })
const files = Object.fromEntries(Object.entries(sources).map(([path, source]) => [path.replace('../lua-modules/', ''), source]))

modulesSuite(lua, { files, expected })
