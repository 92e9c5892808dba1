// Small checks every part of the JS layer needs, in one place.

/** A value as messages name it: `an object`, `string "x"`, `null`. */
export function describe(value) {
  if (value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'function') return 'a function'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

/** An object literal (or `Object.create(null)`): not an array, class instance or Map. */
export function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A promise or anything else with a `then` method, as `await` sees it. */
export function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function'
}
