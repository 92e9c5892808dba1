// IndexedDB's requests and transactions as promises, for the IndexedDB stores
// (indexeddb-store.mjs, indexeddb-triple-store.mjs). Written here rather than taken from
// `idb`: these two functions are all the stores need of it.

/** The result of an IDBRequest, or its error. */
export function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

/** Settles when `transaction` commits; rejects if it fails or is aborted. */
export function done(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve()
    transaction.onerror = () => reject(transaction.error)
    transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'))
  })
}
