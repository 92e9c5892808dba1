// node scripts/pack-platform.mjs TAG DIR: packs into DIR what a release publishes for one
// platform, from this checkout: pubwiki-lua-<version>.tgz, whose package.json lists every
// napi target's package in optionalDependencies (as `napi prepublish` writes it when
// publishing), and pubwiki-lua-TAG-<version>.tgz, npm/TAG with the addon built for TAG
// (pubwiki-lua.TAG.node, which `napi artifacts` puts there in the release workflow).
// Used by scripts/cross.sh to install both offline into a fresh app on that platform.
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseTriple } from '@napi-rs/cli'

const [tag, out] = process.argv.slice(2)
if (!tag || !out) {
  console.error('usage: node scripts/pack-platform.mjs TAG DIR')
  process.exit(64)
}
const repo = fileURLToPath(new URL('..', import.meta.url))
const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'))
const addon = join(repo, `pubwiki-lua.${tag}.node`)
if (!existsSync(addon)) throw new Error(`${addon} is not built`)
mkdirSync(out, { recursive: true })
const stage = mkdtempSync(join(resolve(out), 'stage-'))
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

// The platform package.
const platformDir = join(stage, tag)
cpSync(join(repo, 'npm', tag), platformDir, { recursive: true })
copyFileSync(addon, join(platformDir, `pubwiki-lua.${tag}.node`))
npm(['pack', '--silent', '--pack-destination', resolve(out)], platformDir)

// The main package, with the optionalDependencies that napi prepublish adds.
npm(['pack', '--silent', '--pack-destination', stage], repo)
const mainDir = join(stage, 'main')
mkdirSync(mainDir)
execFileSync('tar', ['-xzf', join(stage, `${root.name}-${root.version}.tgz`), '-C', mainDir])
const manifestPath = join(mainDir, 'package', 'package.json')
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'))
manifest.optionalDependencies = Object.fromEntries(
  root.napi.targets.map((triple) => [`${root.name}-${parseTriple(triple).platformArchABI}`, root.version]))
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
npm(['pack', '--silent', '--pack-destination', resolve(out)], join(mainDir, 'package'))
rmSync(stage, { recursive: true, force: true })
