// The host bridge suite in real Chromium, importing the package by its name (see api.test.mjs).
import * as lua from 'pubwiki-lua'
import { ready } from 'pubwiki-lua'
import { bridgeSuite } from '../shared/bridge-suite.mjs'

await ready

bridgeSuite(lua)
