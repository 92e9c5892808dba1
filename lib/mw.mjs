// Scribunto's `mw` on the host side: the runner option `mw` checked, and what each call
// gives the core's `mw` library (crates/core/src/mw.rs, lua/mw_site.lua's setup function):
// the site, the page's title, the content language, the frame of an invoked call, and the
// host's functions (expandTemplate, preprocess, ...). Also the module resolvers that load
// wiki modules: `mediaWikiModules` (a MediaWiki Action API) and `urlModules`.

import { describe, isPlainObject, isThenable } from './util.mjs'

/** The host functions the `mw` library calls, when the host gives them. */
const HOOKS = [
  'expandTemplate',
  'preprocess',
  'callParserFunction',
  'extensionTag',
  'getContent',
  'titleExists',
  'pageId',
  'isRedirect',
  'redirectTarget',
  'titleFromId',
  'formatDate',
  'formatNum',
]
const DATA = ['site', 'title', 'language', 'lua51Numbers']
/** Where the hooks that take template arguments have them. */
const ARGS_AT = { expandTemplate: 1, callParserFunction: 1, extensionTag: 2 }

// Template arguments reach a hook as one object, `{ 1: 'a', name: 'b' }`, whether or not
// they are all positional (a Lua sequence would arrive as an array).
function withArgsObject(fn, at) {
  return (...params) => {
    const args = params[at]
    if (Array.isArray(args)) params[at] = Object.fromEntries(args.map((value, i) => [String(i + 1), value]))
    else if (args === null || args === undefined) params[at] = {}
    return fn(...params)
  }
}

/** Checks a runner's `mw` option (`true` or an object); returns it as an object, or undefined. */
export function checkMw(mw, name) {
  if (mw === undefined || mw === false) return undefined
  if (mw === true) return {}
  if (!isPlainObject(mw)) throw new TypeError(`${name}.mw must be true or an object, got ${describe(mw)}`)
  for (const key of Object.keys(mw)) {
    if (!HOOKS.includes(key) && !DATA.includes(key)) {
      throw new TypeError(`${name}.mw.${key} is not an mw option (expected one of ${[...DATA, ...HOOKS].join(', ')})`)
    }
    if (HOOKS.includes(key) && typeof mw[key] !== 'function') {
      throw new TypeError(`${name}.mw.${key} must be a function, got ${describe(mw[key])}`)
    }
  }
  for (const key of ['site', 'language']) {
    if (mw[key] !== undefined && !isPlainObject(mw[key])) throw new TypeError(`${name}.mw.${key} must be an object, got ${describe(mw[key])}`)
  }
  if (mw.title !== undefined && typeof mw.title !== 'string') throw new TypeError(`${name}.mw.title must be a string, got ${describe(mw.title)}`)
  return mw
}

/** Checks the frame form of `invoke`'s arguments: `{ args, parentArgs, title, parentTitle }`. */
export function checkFrame(frame) {
  for (const key of Object.keys(frame)) {
    if (!['args', 'parentArgs', 'title', 'parentTitle'].includes(key)) {
      throw new TypeError(`invoke's frame.${key} is not a frame field (expected args, parentArgs, title, parentTitle)`)
    }
  }
  for (const key of ['args', 'parentArgs']) {
    const value = frame[key]
    if (value !== undefined && !isPlainObject(value) && !Array.isArray(value)) {
      throw new TypeError(`invoke's frame.${key} must be an object or an array, got ${describe(value)}`)
    }
  }
  for (const key of ['title', 'parentTitle']) {
    if (frame[key] !== undefined && typeof frame[key] !== 'string') throw new TypeError(`invoke's frame.${key} must be a string, got ${describe(frame[key])}`)
  }
}

// Frame arguments as Scribunto has them: positional ones (an array's items, or keys "1",
// "2", ...) numbered from 1, named ones by name, every value a string.
function frameArgs(args) {
  const out = new Map()
  if (args === undefined) return out
  const entries = Array.isArray(args) ? args.map((value, i) => [i + 1, value]) : Object.entries(args)
  for (const [key, value] of entries) {
    if (value === undefined || value === null) continue
    const number = typeof key === 'number' ? key : /^-?[1-9][0-9]*$|^0$/.test(key) ? Number(key) : undefined
    out.set(number !== undefined && Number.isSafeInteger(number) ? number : key, typeof value === 'string' ? value : String(value))
  }
  return out
}

/**
 * What a call of a runner with `mw` gives the core: an object for the wire (its functions
 * become host functions). `frame`: the frame form of `invoke` (`module` is its title).
 */
export function mwConfig(mw, frame, module) {
  const hooks = {}
  for (const name of HOOKS) if (mw[name]) hooks[name] = ARGS_AT[name] === undefined ? mw[name] : withArgsObject(mw[name], ARGS_AT[name])
  const config = {
    site: mw.site,
    title: frame?.title ?? mw.title,
    language: mw.language,
    hooks,
    lua51Numbers: mw.lua51Numbers !== false,
  }
  if (frame) {
    config.frame = {
      title: module,
      args: frameArgs(frame.args),
      parent: { title: frame.parentTitle ?? frame.title ?? mw.title ?? 'Main Page', args: frameArgs(frame.parentArgs) },
    }
  }
  return config
}

/** A module name in the other library's spellings, as our modules know it (`file://Name` -> `Name`). */
export function withFileSpelling(resolve) {
  if (!resolve) return resolve
  return (name) => {
    const found = resolve(name)
    if (!name.startsWith('file://')) return found
    const strip = () => resolve(name.slice('file://'.length))
    if (isThenable(found)) return Promise.resolve(found).then((source) => source ?? strip())
    return found ?? strip()
  }
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024
const DEFAULT_TIMEOUT = 10_000

function platformFetch() {
  if (typeof globalThis.fetch !== 'function') throw new TypeError('no fetch on this platform: give one as the fetch option')
  return globalThis.fetch.bind(globalThis)
}

async function fetchText(fetch, url, { maxBytes, timeout }, what) {
  const controller = typeof AbortController === 'function' ? new AbortController() : undefined
  const timer = setTimeout(() => controller?.abort(), timeout)
  try {
    const response = await fetch(url, { signal: controller?.signal, redirect: 'error' })
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`)
    const length = Number(response.headers?.get?.('content-length'))
    if (length > maxBytes) throw new Error(`${what}: more than ${maxBytes} bytes`)
    const text = await response.text()
    if (text.length > maxBytes) throw new Error(`${what}: more than ${maxBytes} bytes`)
    return text
  } catch (error) {
    if (error?.name === 'AbortError') throw new Error(`${what}: no answer within ${timeout} ms`, { cause: error })
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A module resolver over a MediaWiki Action API (`api`: its URL, e.g.
 * `https://wiki.example/w/api.php`): `require('Module:X')` (and `mw.loadData`,
 * `mw.loadJsonData` of any page) loads the page's current revision
 * (`action=query&prop=revisions&rvslots=main`). Also takes the other library's spelling
 * `mediawiki://<host>/Module:X` for the API's own host. Names asked for at once go in one
 * request (up to 50); sources are kept by revision, and each title's latest revision is
 * asked for again after `maxAge` ms (default 60 s).
 */
export function mediaWikiModules({ api, fetch, maxAge = 60_000, maxBytes = DEFAULT_MAX_BYTES, timeout = DEFAULT_TIMEOUT } = {}) {
  if (typeof api !== 'string') throw new TypeError(`mediaWikiModules: api must be the URL of a wiki's api.php, got ${describe(api)}`)
  const apiUrl = new URL(api)
  const fetchImpl = fetch ?? platformFetch()
  const titles = new Map() // title -> { revision, checked }
  const revisions = new Map() // revision id -> source
  let batch = null

  async function load(names) {
    const url = new URL(apiUrl)
    url.search = new URLSearchParams({
      action: 'query', format: 'json', formatversion: '2', prop: 'revisions', rvprop: 'ids|content', rvslots: 'main',
      titles: names.join('|'),
    }).toString()
    const body = JSON.parse(await fetchText(fetchImpl, url.toString(), { maxBytes: maxBytes * names.length, timeout }, `mediaWikiModules: ${apiUrl.host}`))
    const found = new Map()
    const aliases = new Map()
    for (const n of body?.query?.normalized ?? []) aliases.set(n.to, n.from)
    for (const page of body?.query?.pages ?? []) {
      const revision = page.revisions?.[0]
      const content = revision?.slots?.main?.content ?? revision?.slots?.main?.['*']
      const title = aliases.get(page.title) ?? page.title
      if (page.missing !== undefined || typeof content !== 'string') {
        found.set(title, null)
        continue
      }
      revisions.set(revision.revid, content)
      found.set(title, revision.revid)
    }
    const now = Date.now()
    for (const name of names) titles.set(name, { revision: found.get(name) ?? null, checked: now })
  }

  function request(name) {
    if (!batch) {
      const names = new Set()
      const done = Promise.resolve().then(async () => {
        batch = null
        const list = [...names]
        for (let i = 0; i < list.length; i += 50) await load(list.slice(i, i + 50))
      })
      batch = { names, done }
    }
    batch.names.add(name)
    return batch.done
  }

  return function resolve(name) {
    let title = name
    if (name.startsWith('mediawiki://')) {
      const rest = name.slice('mediawiki://'.length)
      const slash = rest.indexOf('/')
      if (slash < 0 || rest.slice(0, slash) !== apiUrl.host) return undefined
      title = rest.slice(slash + 1)
    }
    if (title.includes('://') || title === '') return undefined
    const known = titles.get(title)
    if (known && Date.now() - known.checked < maxAge) return known.revision === null ? undefined : revisions.get(known.revision)
    return request(title).then(() => {
      const revision = titles.get(title)?.revision
      return revision === null || revision === undefined ? undefined : revisions.get(revision)
    })
  }
}

/**
 * A module resolver for `require('https://...')`: sources fetched from the origins in
 * `allow` (none by default), at most `maxBytes` each within `timeout` ms, kept for the
 * resolver's life.
 */
export function urlModules({ allow = [], fetch, maxBytes = DEFAULT_MAX_BYTES, timeout = DEFAULT_TIMEOUT } = {}) {
  if (!Array.isArray(allow) || !allow.every((origin) => typeof origin === 'string')) {
    throw new TypeError(`urlModules: allow must be an array of origins, got ${describe(allow)}`)
  }
  const origins = new Set(allow.map((origin) => new URL(origin).origin))
  const fetchImpl = fetch ?? platformFetch()
  const cache = new Map()
  return function resolve(name) {
    if (!/^https?:\/\//.test(name)) return undefined
    let url
    try {
      url = new URL(name)
    } catch {
      return undefined
    }
    if (!origins.has(url.origin)) {
      throw new Error(`urlModules: ${url.origin} is not an allowed origin`)
    }
    let source = cache.get(url.href)
    if (!source) {
      source = fetchText(fetchImpl, url.href, { maxBytes, timeout }, `urlModules: ${url.href}`)
      cache.set(url.href, source)
      source.catch(() => cache.delete(url.href))
    }
    return source
  }
}
