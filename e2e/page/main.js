// What a user writes: import the package by name, run scripts, show what they print. The
// page script of every app in e2e/ (the tests copy it where each bundler looks for it).
import { createRunner, createWorkerRunner, IndexedDbStore, IndexedDbTripleStore, runLua, LuaError } from 'pubwiki-lua'

const script = `
local squares = {}
for i = 1, 5 do squares[#squares + 1] = i * i end
print("Hello from " .. _VERSION)
print("squares: " .. table.concat(squares, " "))
print(greet(args.name))
`

async function main() {
  // A host function (async: the script waits for it) and data, as globals.
  const globals = { args: { name: 'bundler' }, greet: async (name) => `Hello, ${name}!` }
  // The same script off the page's thread, in a Web Worker: the host function stays here.
  const workers = createWorkerRunner({ workers: 1, globals })
  const inWorker = await workers.runLua(script, 'Module:Page')
  workers.terminate()
  const onPage = await runLua(script, 'Module:Page', { globals })
  document.querySelector('#output').textContent = onPage === inWorker ? onPage : `page: ${onPage}\nworker: ${inWorker}`
  try {
    await runLua('print("partial")\nlocal t = nil\nreturn t.x', 'Module:Broken')
    document.querySelector('#error').textContent = 'no error'
  } catch (error) {
    if (!(error instanceof LuaError)) throw error
    document.querySelector('#error').textContent = `${error.kind}: ${error.message}\noutput: ${error.output}`
  }
  // State that outlives the page: a visit counter in IndexedDB.
  const lua = createRunner({ state: { store: new IndexedDbStore('vite-app') } })
  const { values } = await lua.run('State.set("visits", (State.get("visits") or 0) + 1) return State.get("visits")', { scriptId: 'Module:Counter' })
  document.querySelector('#visits').textContent = String(values[0])
  // The same count as RDF triples in IndexedDB (the triples option).
  const rdf = createRunner({ triples: new IndexedDbTripleStore('vite-app-triples') })
  const counted = await rdf.run("State.set('page:home', 'visits', (State.get('page:home', 'visits') or 0) + 1) return State.get('page:home', 'visits')", { scriptId: 'Module:Counter' })
  document.querySelector('#triples').textContent = String(counted.values[0])
}

main().then(
  () => { document.body.dataset.state = 'done' },
  (error) => {
    document.body.dataset.state = 'failed'
    document.querySelector('#error').textContent = String(error?.stack ?? error)
  },
)
