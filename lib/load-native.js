'use strict'
// Finds the native addon for this platform: a local build first (development), then the
// per-platform npm package (napi-rs layout: `pubwiki-lua-<tag>`, an optional dependency
// that npm installs only where its os, cpu and libc fields match). Used by index.js and by
// the tests.
//
// The tag is `<platform>-<arch>[-<abi>]` as napi-rs names its targets: linux-x64-gnu,
// linux-x64-musl, linux-arm64-gnu, linux-arm64-musl, darwin-x64, darwin-arm64,
// win32-x64-msvc. On Linux the C library decides between `gnu` and `musl`: an addon
// linked against one does not load in a Node linked against the other.

const { readFileSync } = require('node:fs')

// The C library of this process, 'gnu' or 'musl', from the platform facts, each a function
// called only when the ones before it did not answer (__test__/load-native.test.mjs
// injects them to cover every branch on any machine):
//   mappedFiles() the text of /proc/self/maps, or null when it cannot be read
//   report()      process.report.getReport(), or null where there is none
//   lddFile()     the text of /usr/bin/ldd, or null when it cannot be read
//   lddVersion()  what `ldd --version` prints (stdout and stderr), or null
// These are the questions of napi-rs's generated loader (@napi-rs/cli 3), but this process
// is asked first: Node writes `header.glibcVersionRuntime` into its report whenever it is
// built against glibc, so a report without it comes from a musl Node (napi-rs also
// looks for musl's loader among the report's shared objects; the header alone decides).
// napi-rs reads /usr/bin/ldd first, which is quicker but describes the distribution, not
// the process: a musl Node on a glibc system needs the musl addon. musl's `ldd --version`
// prints to stderr and exits 1, so both streams count. No answer at all means glibc, as in
// napi-rs.
// Before all of them, the files mapped into this process name its C library (musl's
// loader `ld-musl-<arch>.so.1`, or glibc's `libc.so.6`): as exact as the report, and
// ~0.3 ms where a report takes ~5 ms, which every process loading the addon paid.
function detectLibc({ mappedFiles, report, lddFile, lddVersion }) {
  const maps = mappedFiles()
  if (typeof maps === 'string') {
    // musl's loader is its libc: /lib/ld-musl-<arch>.so.1 (Alpine), or where a
    // distribution's musl package keeps it (Debian's /usr/lib/<arch>-linux-musl/libc.so).
    if (/\/ld-musl-[^/\s]*\.so|musl[^/\s]*\/libc\.so$/m.test(maps)) return 'musl'
    if (/\/libc\.so\.6$/m.test(maps)) return 'gnu'
  }
  const header = report()?.header
  if (header) return header.glibcVersionRuntime ? 'gnu' : 'musl'
  const ldd = lddFile()
  if (typeof ldd === 'string') return ldd.includes('musl') ? 'musl' : 'gnu'
  const version = lddVersion()
  if (typeof version === 'string') return version.includes('musl') ? 'musl' : 'gnu'
  return 'gnu'
}

// The real facts of this process, for detectLibc.
const systemFacts = {
  mappedFiles() {
    try {
      return readFileSync('/proc/self/maps', 'utf8')
    } catch {
      return null
    }
  },
  report() {
    const report = process.report
    if (typeof report?.getReport !== 'function') return null
    // Network details (interfaces, reverse lookups of open handles) are not needed and can
    // be slow; the setting is restored for the application's own reports.
    const excludeNetwork = report.excludeNetwork
    try {
      report.excludeNetwork = true
      return report.getReport()
    } catch {
      return null
    } finally {
      report.excludeNetwork = excludeNetwork
    }
  },
  lddFile() {
    try {
      return readFileSync('/usr/bin/ldd', 'utf8')
    } catch {
      return null
    }
  },
  lddVersion() {
    try {
      const result = require('node:child_process').spawnSync('ldd', ['--version'], { encoding: 'utf8', timeout: 5000 })
      return result.error ? null : `${result.stdout}${result.stderr}`
    } catch {
      return null
    }
  },
}

// napi-rs's name for this platform. `platform`, `arch` and `libc` default to this
// process's; `facts` replaces systemFacts (tests).
function platformTag({ platform = process.platform, arch = process.arch, libc, facts = systemFacts } = {}) {
  if (platform === 'linux') return `linux-${arch}-${libc ?? detectLibc(facts)}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function loadNative() {
  const tag = platformTag()
  try {
    return require(`../pubwiki-lua.${tag}.node`)
  } catch (localError) {
    if (localError.code !== 'MODULE_NOT_FOUND') throw localError
    return require(`pubwiki-lua-${tag}`)
  }
}

module.exports = { loadNative, platformTag, detectLibc, systemFacts }
