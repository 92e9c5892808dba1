// The basics only: no module rules, no plugins, no `experiments`. The package's .wasm is
// referenced as `new URL('…wasm', import.meta.url)`, which webpack 5 emits as an asset by itself.
import { fileURLToPath } from 'node:url'

export default {
  mode: 'production',
  entry: './src/main.js',
  output: {
    path: fileURLToPath(new URL('dist', import.meta.url)),
    filename: 'main.js',
  },
}
