'use strict'
// Finds the native addon for this platform: a local build first (development), then the
// per-platform npm package (napi-rs layout). Used by index.js and by the tests.

function platformTag() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
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

module.exports = { loadNative }
