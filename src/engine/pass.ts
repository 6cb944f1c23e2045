// The loop of the single pass: a chain of per-element rules and scalings, then θ + a·u (or the
// updates themselves), as ONE loop over a leaf. The rules are stated once, per element
// (src/engine/elementwise.ts); this file owns the loop that runs them.
//
// Where `Function` may be used, the loop is generated once per sequence of rules (cached), each
// rule called from a call site of its own: V8 then inlines every rule and the loop runs as a
// hand-fused one would. Where it may not (a page whose Content-Security-Policy forbids
// 'unsafe-eval'), one generic loop calls the same rules in the same order: the same
// arithmetic, so the same bits, only slower (its call sites see every rule of the program).

/** A slot's tree fields at one leaf, by field name (`old.mu`, `next.mu`). */
export interface LeafSlots {
  readonly [field: string]: Float64Array
}

/**
 * A per-element rule: this step's constants `k`, the incoming update `g` at index `i` of one
 * leaf, the slot's tree fields before the step (`old`, read only) and after it (`next`: write
 * element `i` of each), and the parameters `p` (when the rule asked for them) → the outgoing
 * update at `i`. Keep it a small top-level function without state: the engine calls it for
 * every element and V8 inlines it into the loop; `old` and `next` are valid during the call only,
 * and a record `k` may be a copy per element (the same fields, the same values): read it only.
 */
export type ElementRule<K> = (
  k: K,
  g: number,
  i: number,
  old: LeafSlots,
  next: LeafSlots,
  p: Float64Array,
) => number

/** A member of a pass: a rule, or `null` for a scaling u ↦ c·u (c given as its constant). */
export type Member = ElementRule<never> | null

/**
 * One pass over a leaf of length `len`: u = g[i]; each member j in turn (a scaling: u = k[j]·u;
 * a rule: u = rule(k[j], u, i, old[j], next[j], p)); then q[i] = p[i] + a·u when the pass
 * applies, q[i] = u when it does not.
 */
export type PassLoop = (
  k: readonly unknown[],
  old: readonly LeafSlots[],
  next: readonly LeafSlots[],
  p: Float64Array,
  g: Float64Array,
  q: Float64Array,
  a: number,
  len: number,
) => void

/** Whether this realm lets us compile code (a strict CSP page does not). */
function canGenerate(): boolean {
  try {
    return new Function('return 1')() === 1
  } catch {
    return false
  }
}

/** whether loops are generated; decided at the first pass (a CSP page then logs one refusal) */
let generate: boolean | undefined
/** counts the changes of `generate` (a loop chosen before one is chosen again) */
let setting = 0

/**
 * Turns loop generation on or off (tests run both paths; off is what a strict-CSP page gets).
 * Returns the previous setting. Generation stays off where `Function` is unavailable.
 */
export function setPassCodegen(on: boolean): boolean {
  const was = generate ?? canGenerate()
  generate = on && canGenerate()
  setting++
  return was
}

/** Whether loops are generated (src/engine/wasmPass.ts's kernels follow the same switch). */
export function passCodegen(): boolean {
  return (generate ??= canGenerate())
}

const ids = new WeakMap<object, number>()
let nextId = 0
const loops = new Map<string, PassLoop>()
/**
 * Generated loops kept at most (a program has a few chains; rules made afresh for every
 * optimizer, e.g. arrows inside a factory, would otherwise keep every loop they ever made)
 */
const MAX_LOOPS = 256

/**
 * The loop running `members` in order, then θ + a·u (`apply`) or the updates. `trees[j]` names
 * member j's slot fields (the keys of its `old` and `next` records), when known; `consts[j]`
 * the keys of its constants when they are a record the loop may read once per call (see
 * `constantKeys`; null: the rule gets its `k` itself).
 */
export function passLoop(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[] = [],
  consts: readonly (readonly string[] | null)[] = [],
): PassLoop {
  generate ??= canGenerate()
  if (!generate) return genericLoop(members, apply)
  let key = apply ? 'a' : 'u'
  members.forEach((r, j) => {
    if (r === null) key += ',s'
    else {
      let id = ids.get(r)
      if (id === undefined) ids.set(r, (id = nextId++))
      key += `,${id}${JSON.stringify(trees[j] ?? null)}${JSON.stringify(consts[j] ?? null)}`
    }
  })
  let loop = loops.get(key)
  if (loop === undefined) {
    if (loops.size >= MAX_LOOPS) loops.clear()
    loops.set(key, (loop = generatedLoop(members, apply, trees, consts)))
  }
  return loop
}

/**
 * The pass loops of `members` (as `passLoop`), chosen per call by the keys of the constants
 * `k` about to be passed: the loop made for the previous keys while they stay the same.
 */
export function passLoops(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[] = [],
): (k: readonly unknown[]) => PassLoop {
  const consts: (readonly string[] | null)[] = members.map(() => null)
  let loop: PassLoop | undefined
  let chosenAt = setting
  return (k) => {
    let same = loop !== undefined && chosenAt === setting
    for (let j = 0; j < members.length; j++) {
      if (members[j] === null) continue
      const keys = constantKeys(k[j])
      if (!sameKeys(keys, consts[j])) {
        consts[j] = keys
        same = false
      }
    }
    if (!same) {
      loop = passLoop(members, apply, trees, consts)
      chosenAt = setting
    }
    return loop!
  }
}

/**
 * The keys of constants `k` when the loop may read each of them once per call and hand the rule
 * a record of the same fields per element: a plain record (its prototype `Object.prototype`)
 * whose own properties are all data properties with string keys, none of them `__proto__`.
 * Null for anything else (a number, an array, a class instance, a getter, a symbol key).
 */
export function constantKeys(k: unknown): readonly string[] | null {
  if (typeof k !== 'object' || k === null || Object.getPrototypeOf(k) !== Object.prototype) {
    return null
  }
  const keys = Reflect.ownKeys(k)
  for (const f of keys) {
    if (typeof f !== 'string' || f === '__proto__') return null
    const d = Reflect.getOwnPropertyDescriptor(k, f)
    if (d === undefined || !('value' in d)) return null
  }
  return keys as string[]
}

function sameKeys(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b
  if (a.length !== b.length) return false
  for (let t = 0; t < a.length; t++) if (a[t] !== b[t]) return false
  return true
}

/**
 * The generated loop. A rule's `old` and `next` are records made afresh for every element
 * from arrays read once before the loop, and so are its constants when they are a record
 * (`consts[j]`, their keys): once the rule is inlined, V8's escape analysis removes the
 * records, and `old.mu[i]` or `k.b1` reads a local. (The records themselves, read inside the
 * loop, would be read again at every element: the loop's interrupt check may run code.)
 */
function generatedLoop(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[],
  consts: readonly (readonly string[] | null)[],
): PassLoop {
  const rules: string[] = []
  const args: Member[] = []
  let head = ''
  let body = ''
  /** a record literal of `fields`, field t read from local `${local}_${t}` */
  const literal = (fields: readonly string[], local: string) =>
    `{ ${fields.map((f, t) => `${JSON.stringify(f)}: ${local}_${t}`).join(', ')} }`
  members.forEach((r, j) => {
    head += `const k${j} = k[${j}], o${j} = old[${j}], n${j} = next[${j}]\n`
    if (r === null) {
      body += `    u = k${j} * u\n`
      return
    }
    rules.push(`r${j}`)
    args.push(r)
    const fields = trees[j]
    let o = `o${j}`
    let n = `n${j}`
    if (fields !== undefined && fields.length > 0 && !fields.includes('__proto__')) {
      const keys = fields.map((f) => JSON.stringify(f))
      head += `const ${keys.map((f, t) => `o${j}_${t} = o${j}[${f}], n${j}_${t} = n${j}[${f}]`).join(', ')}\n`
      o = literal(fields, `o${j}`)
      n = literal(fields, `n${j}`)
    }
    let c = `k${j}`
    const ks = consts[j]
    if (ks != null && !ks.includes('__proto__')) {
      if (ks.length > 0) {
        head += `const ${ks.map((f, t) => `k${j}_${t} = k${j}[${JSON.stringify(f)}]`).join(', ')}\n`
      }
      c = literal(ks, `k${j}`)
    }
    body += `    u = r${j}(${c}, u, i, ${o}, ${n}, p)\n`
  })
  const end = apply ? 'q[i] = p[i] + a * u' : 'q[i] = u'
  const source = `'use strict'
return function pass(k, old, next, p, g, q, a, len) {
${head}  for (let i = 0; i < len; i++) {
    let u = g[i]
${body}    ${end}
  }
}`
  return new Function(...rules, source)(...args) as PassLoop
}

/** The same loop without generated code: one call site for every rule (slower, same bits). */
function genericLoop(members: readonly Member[], apply: boolean): PassLoop {
  const m = members.length
  const rules = members as readonly (ElementRule<unknown> | null)[]
  return (k, old, next, p, g, q, a, len) => {
    for (let i = 0; i < len; i++) {
      let u = g[i]
      for (let j = 0; j < m; j++) {
        const r = rules[j]
        u = r === null ? (k[j] as number) * u : r(k[j], u, i, old[j], next[j], p)
      }
      q[i] = apply ? p[i] + a * u : u
    }
  }
}
