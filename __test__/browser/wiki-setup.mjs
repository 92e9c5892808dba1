// Vitest global setup of the Chromium project: the fake MediaWiki (a Node server on
// loopback), whose address the browser tests get with `inject('wiki')`.
import { startFakeWiki } from '../fake-mediawiki.mjs'

export default async function setup({ provide }) {
  const wiki = await startFakeWiki()
  provide('wiki', { api: wiki.api, origin: wiki.origin })
  return () => wiki.close()
}
