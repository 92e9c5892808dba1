// ESLint over every JavaScript file of the project (npm run lint; part of npm test).
import js from '@eslint/js'
import globals from 'globals'

export default [
  {
    ignores: ['target/', 'wasm/', '**/node_modules/', '**/dist/', 'bench/c-ref/'],
  },
  js.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      // The library runs in Node, browsers and workers alike.
      globals: { ...globals.node, ...globals.browser, ...globals.worker },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name`: unused on purpose (a parameter a signature needs, a value destructured away).
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // CommonJS: the Node entry, the addon loader, the CLI, the wasm loader for Node, the demo.
    files: ['index.js', 'lib/load-native.js', 'bin/*.js', 'crates/wasm/js/node.js', 'examples/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
]
