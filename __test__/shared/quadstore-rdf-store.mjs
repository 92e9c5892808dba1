// The RDFStore of the other library's example (its example/src/QuadstoreRDFStore.js) as a
// test store, behaving as that one does: Quadstore (here on memory-level, as its README's
// example has it) with N3's DataFactory, every method async, every object a literal of
// its text (numbers, booleans and tables too; no named nodes), read back by guessing the
// type from the text (so '1984' comes back as the number 1984), all in one named graph.
import { Quadstore } from 'quadstore'
import { MemoryLevel } from 'memory-level'
import { DataFactory } from 'n3'

const { namedNode, literal, quad } = DataFactory

function toTerm(value) {
  if (value === null || value === undefined) return literal('null')
  if (typeof value === 'object') return literal(JSON.stringify(value))
  return literal(String(value))
}

function fromTerm(term) {
  const text = term?.value
  if (!text) return null
  if (!Number.isNaN(Number(text)) && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text)
  if (text === 'true' || text === 'false') return text === 'true'
  if (text === 'null') return null
  if ((text.startsWith('{') && text.endsWith('}')) || (text.startsWith('[') && text.endsWith(']'))) {
    try {
      return JSON.parse(text)
    } catch {
      // not JSON after all: the text
    }
  }
  return text
}

export class QuadstoreRdfStore {
  constructor(store) {
    this.store = store
    this.graph = namedNode('urn:x-local:default')
  }

  static async create() {
    const store = new Quadstore({ backend: new MemoryLevel(), dataFactory: DataFactory })
    await store.open()
    return new QuadstoreRdfStore(store)
  }

  async insert(subject, predicate, object) {
    await this.store.multiPut([quad(namedNode(subject), namedNode(predicate), toTerm(object), this.graph)])
  }

  async delete(subject, predicate, object) {
    const pattern = { subject: namedNode(subject), predicate: namedNode(predicate), graph: this.graph }
    if (object !== null && object !== undefined) pattern.object = toTerm(object)
    const { items } = await this.store.get(pattern)
    if (items.length > 0) await this.store.multiDel(items)
  }

  async query(pattern) {
    const wanted = { graph: this.graph }
    if (pattern.subject) wanted.subject = namedNode(pattern.subject)
    if (pattern.predicate) wanted.predicate = namedNode(pattern.predicate)
    if (pattern.object !== undefined && pattern.object !== null) wanted.object = toTerm(pattern.object)
    const { items } = await this.store.get(wanted)
    return items.map((item) => ({ subject: item.subject.value, predicate: item.predicate.value, object: fromTerm(item.object) }))
  }

  async batchInsert(triples) {
    await this.store.multiPut(triples.map((t) => quad(namedNode(t.subject), namedNode(t.predicate), toTerm(t.object), this.graph)))
  }

  async close() {
    await this.store.close()
  }
}
