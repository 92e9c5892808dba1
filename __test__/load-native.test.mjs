// lib/load-native.js: which platform package (napi-rs's tag) this process needs, from platform
// facts injected here, so that every branch (glibc, musl, each fallback) runs on any machine;
// and the per-platform packages in npm/ agree with package.json's napi.targets. Run once, in
// the native project (nothing here depends on the backend).
import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parseTriple } from '@napi-rs/cli'

const require = createRequire(import.meta.url)
const { detectLibc, platformTag, systemFacts } = require('../lib/load-native.js')
const here = process.env.PUBWIKI_LUA_BACKEND ?? 'native'

const glibcReport = { header: { glibcVersionRuntime: '2.36', glibcVersionCompiler: '2.28' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] }
// What a musl Node (Alpine's) reports: no glibc in the header, musl's loader among its objects.
const muslReport = { header: { osName: 'Linux' }, sharedObjects: ['/usr/bin/node', '/lib/ld-musl-x86_64.so.1'] }
const glibcLdd = '#! /bin/bash\n# This is the `ldd` command, which lists what shared libraries are\nTEXTDOMAIN=libc\nRTLDLIST="/lib/ld-linux.so.2 /lib64/ld-linux-x86-64.so.2"\n'
const muslLddVersion = 'musl libc (x86_64)\nVersion 1.2.5\nDynamic Program Loader\nUsage: /lib/ld-musl-x86_64.so.1 [options] [--] pathname\n'

// Facts that answer in turn and record which of them were asked.
function facts({ mappedFiles = null, report = null, lddFile = null, lddVersion = null }) {
  const asked = []
  const answer = (name, value) => () => {
    asked.push(name)
    return value
  }
  return {
    asked,
    mappedFiles: answer('mappedFiles', mappedFiles),
    report: answer('report', report),
    lddFile: answer('lddFile', lddFile),
    lddVersion: answer('lddVersion', lddVersion),
  }
}
// Lines of /proc/self/maps in a glibc Node (Debian's) and a musl Node (Alpine's).
const glibcMaps = '7f3a1c000000-7f3a1c028000 r--p 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6\n7f3a1c200000-7f3a1c202000 r--p 00000000 08:01 1240 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n'
const muslMaps = '5581e0000000-5581e2000000 r-xp 00000000 08:01 77 /usr/bin/node\n7f0b4c000000-7f0b4c014000 r--p 00000000 08:01 12 /lib/ld-musl-x86_64.so.1\n'

describe.runIf(here === 'native')('the native loader', () => {
  describe('detectLibc', () => {
    it("takes the C library from the files mapped into the process and asks nothing else", () => {
      const glibc = facts({ mappedFiles: glibcMaps, report: muslReport })
      expect(detectLibc(glibc)).toBe('gnu')
      expect(glibc.asked).toEqual(['mappedFiles'])
      const musl = facts({ mappedFiles: muslMaps, report: glibcReport })
      expect(detectLibc(musl)).toBe('musl')
      expect(musl.asked).toEqual(['mappedFiles'])
      // Debian's musl package: the loader is /lib/ld-musl-x86_64.so.1 -> its libc.so.
      const debianMusl = facts({ mappedFiles: '5581e0000000-5581e2000000 r-xp 00000000 08:01 77 /usr/bin/node\n7f0b4c000000-7f0b4c014000 r--p 00000000 08:01 12 /usr/lib/x86_64-linux-musl/libc.so\n', report: glibcReport })
      expect(detectLibc(debianMusl)).toBe('musl')
      expect(debianMusl.asked).toEqual(['mappedFiles'])
    })

    it('asks the report when the mapped files name neither library', () => {
      const f = facts({ mappedFiles: '5581e0000000-5581e2000000 r-xp 00000000 08:01 77 /usr/bin/node\n', report: muslReport })
      expect(detectLibc(f)).toBe('musl')
      expect(f.asked).toEqual(['mappedFiles', 'report'])
    })

    it('takes glibc from the report of a glibc Node and asks nothing else', () => {
      const f = facts({ report: glibcReport, lddFile: 'musl' })
      expect(detectLibc(f)).toBe('gnu')
      expect(f.asked).toEqual(['mappedFiles', 'report'])
    })

    it('takes musl from a report without glibc (a musl Node, even on a glibc system)', () => {
      const f = facts({ report: muslReport, lddFile: glibcLdd })
      expect(detectLibc(f)).toBe('musl')
      expect(f.asked).toEqual(['mappedFiles', 'report'])
      expect(detectLibc(facts({ report: { header: {} } }))).toBe('musl')
    })

    it('without a report, reads /usr/bin/ldd', () => {
      const musl = facts({ lddFile: '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n', lddVersion: 'glibc' })
      expect(detectLibc(musl)).toBe('musl')
      expect(musl.asked).toEqual(['mappedFiles', 'report', 'lddFile'])
      const glibc = facts({ report: { sharedObjects: ['/lib/ld-musl-x86_64.so.1'] }, lddFile: glibcLdd })
      expect(detectLibc(glibc)).toBe('gnu') // a report without a header does not answer
      expect(glibc.asked).toEqual(['mappedFiles', 'report', 'lddFile'])
    })

    it('without a report or /usr/bin/ldd, runs `ldd --version`', () => {
      const musl = facts({ lddVersion: muslLddVersion })
      expect(detectLibc(musl)).toBe('musl')
      expect(musl.asked).toEqual(['mappedFiles', 'report', 'lddFile', 'lddVersion'])
      expect(detectLibc(facts({ lddVersion: 'ldd (Debian GLIBC 2.36-9+deb12u14) 2.36\nCopyright (C) 2022\n' }))).toBe('gnu')
    })

    it('with no answer at all, is glibc (as napi-rs)', () => {
      expect(detectLibc(facts({}))).toBe('gnu')
    })
  })

  describe('platformTag', () => {
    it('names Linux packages by architecture and C library', () => {
      expect(platformTag({ platform: 'linux', arch: 'x64', facts: facts({ report: glibcReport }) })).toBe('linux-x64-gnu')
      expect(platformTag({ platform: 'linux', arch: 'arm64', facts: facts({ report: glibcReport }) })).toBe('linux-arm64-gnu')
      expect(platformTag({ platform: 'linux', arch: 'x64', facts: facts({ report: muslReport }) })).toBe('linux-x64-musl')
      expect(platformTag({ platform: 'linux', arch: 'arm64', facts: facts({ lddVersion: muslLddVersion }) })).toBe('linux-arm64-musl')
      expect(platformTag({ platform: 'linux', arch: 'arm64', libc: 'musl' })).toBe('linux-arm64-musl')
    })

    it('names macOS and Windows packages without asking for a C library', () => {
      const f = facts({ report: muslReport })
      expect(platformTag({ platform: 'darwin', arch: 'arm64', facts: f })).toBe('darwin-arm64')
      expect(platformTag({ platform: 'darwin', arch: 'x64', facts: f })).toBe('darwin-x64')
      expect(platformTag({ platform: 'win32', arch: 'x64', facts: f })).toBe('win32-x64-msvc')
      expect(f.asked).toEqual([])
    })

    it("is this process's own platform by default", () => {
      const tag = platformTag()
      expect(tag.startsWith(`${process.platform}-${process.arch}`)).toBe(true)
      if (process.platform === 'linux') {
        const glibc = Boolean(process.report.getReport().header.glibcVersionRuntime)
        expect(tag).toBe(`linux-${process.arch}-${glibc ? 'gnu' : 'musl'}`)
        // The mapped files alone give the same answer here.
        expect(detectLibc({ ...systemFacts, report: () => null, lddFile: () => null, lddVersion: () => null })).toBe(glibc ? 'gnu' : 'musl')
      }
    })
  })

  it("leaves the application's report settings as they were", () => {
    const before = process.report.excludeNetwork
    process.report.excludeNetwork = false
    try {
      expect(systemFacts.report().header).toBeTypeOf('object')
      expect(process.report.excludeNetwork).toBe(false)
    } finally {
      process.report.excludeNetwork = before
    }
  })

  it("has a package in npm/ for every napi target, that npm installs only on the loader's platform", () => {
    const root = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(root.napi.targets.length).toBeGreaterThan(1)
    for (const triple of root.napi.targets) {
      const { platformArchABI: tag, platform, arch, abi } = parseTriple(triple)
      const pkg = JSON.parse(readFileSync(new URL(`../npm/${tag}/package.json`, import.meta.url), 'utf8'))
      expect(pkg.name).toBe(`pubwiki-lua-${tag}`)
      expect(pkg.version).toBe(root.version)
      expect(pkg.main).toBe(`pubwiki-lua.${tag}.node`)
      expect(pkg.files).toEqual([pkg.main])
      expect(pkg.os).toEqual([platform])
      expect(pkg.cpu).toEqual([arch])
      const libc = platform === 'linux' ? (abi === 'musl' ? 'musl' : 'gnu') : undefined
      expect(pkg.libc).toEqual(libc && [libc === 'gnu' ? 'glibc' : 'musl'])
      expect(platformTag({ platform, arch, libc })).toBe(tag)
    }
  })
})
