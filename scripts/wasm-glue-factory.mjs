// Turns wasm-bindgen's `web` glue into a factory of instances (scripts/build-wasm.sh runs it).
//
// The glue keeps its instance in module-level variables, so a module loaded once can hold
// one instance for ever; should that instance ever fail (a trap), every later call would
// fail with it. Wrapped in a function, each call of `createInstance()` gets variables of
// its own, and the backend (crates/wasm/js/backend.mjs) makes a new instance from the
// compiled module when one fails. The glue's text is unchanged otherwise.
//
//   node scripts/wasm-glue-factory.mjs <glue.js> <glue.d.ts> <out.mjs> <out.d.mts>
import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'

const [gluePath, typesPath, outPath, outTypesPath] = process.argv.slice(2)
const glue = readFileSync(gluePath, 'utf8')

const names = []
const body = glue
  .split('\n')
  .filter((line) => !line.startsWith('/* @ts-self-types='))
  .map((line) => {
    const declared = /^export (?:async )?(function|class|const|let) (\w+)/.exec(line)
    if (declared) {
      names.push(declared[2])
      return line.slice('export '.length)
    }
    const list = /^export \{(.*)\};?$/.exec(line)
    if (list) {
      for (const item of list[1].split(',')) {
        const [local, exported = local] = item.trim().split(/\s+as\s+/)
        names.push(exported === local ? local : `${exported}: ${local}`)
      }
      return ''
    }
    if (/^export /.test(line)) throw new Error(`wasm-glue-factory: an export it does not know: ${line}`)
    return line
  })
for (const needed of ['initSync', 'default: __wbg_init']) {
  if (!names.includes(needed)) throw new Error(`wasm-glue-factory: the glue has no ${needed}`)
}

const typesName = basename(outTypesPath)
const instanceTypes = typesName.replace(/\.d\.mts$/, '_instance.d.mts')
writeFileSync(
  outPath,
  `/* @ts-self-types="./${typesName}" */
// wasm-bindgen's glue, made a factory by scripts/wasm-glue-factory.mjs: createInstance()
// returns the glue's exports for an instance of its own (\`default\` initialises it from a
// URL or bytes, \`initSync\` from a compiled module; \`module\` is the compiled module then).
export function createInstance() {
${body.join('\n')}
return { ${names.join(', ')}, get module() { return wasmModule } }
}
`,
)
writeFileSync(outPath.replace(/\.mjs$/, '_instance.d.mts').replace(/[^/]*$/, instanceTypes), readFileSync(typesPath, 'utf8'))
writeFileSync(
  outTypesPath,
  `import type * as Instance from './${instanceTypes.replace(/\.d\.mts$/, '.mjs')}'
export type { InitInput, InitOutput, Outcome, SyncInitInput } from './${instanceTypes.replace(/\.d\.mts$/, '.mjs')}'

/** The glue's exports for a new instance; \`module\`: its compiled module, once initialised. */
export declare function createInstance(): typeof Instance & { readonly module: WebAssembly.Module | undefined }
`,
)
