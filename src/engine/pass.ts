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
 * every element and V8 inlines it into the loop; `old` and `next` are valid during the call only.
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

/**
 * Turns loop generation on or off (tests run both paths; off is what a strict-CSP page gets).
 * Returns the previous setting. Generation stays off where `Function` is unavailable.
 */
export function setPassCodegen(on: boolean): boolean {
  const was = generate ?? canGenerate()
  generate = on && canGenerate()
  return was
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
 * member j's slot fields (the keys of its `old` and `next` records), when known.
 */
export function passLoop(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[] = [],
): PassLoop {
  generate ??= canGenerate()
  if (!generate) return genericLoop(members, apply)
  let key = apply ? 'a' : 'u'
  members.forEach((r, j) => {
    if (r === null) key += ',s'
    else {
      let id = ids.get(r)
      if (id === undefined) ids.set(r, (id = nextId++))
      key += `,${id}${JSON.stringify(trees[j] ?? null)}`
    }
  })
  let loop = loops.get(key)
  if (loop === undefined) {
    if (loops.size >= MAX_LOOPS) loops.clear()
    loops.set(key, (loop = generatedLoop(members, apply, trees)))
  }
  return loop
}

/**
 * The generated loop. A rule's `old` and `next` are records made afresh for every element
 * from arrays read once before the loop: once the rule is inlined, V8's escape analysis
 * removes the records, and `old.mu[i]` reads a local. (The records themselves, read inside
 * the loop, would be read again at every element: the loop's interrupt check may run code.)
 */
function generatedLoop(
  members: readonly Member[],
  apply: boolean,
  trees: readonly (readonly string[])[],
): PassLoop {
  const rules: string[] = []
  const args: Member[] = []
  let head = ''
  let body = ''
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
      o = `{ ${keys.map((f, t) => `${f}: o${j}_${t}`).join(', ')} }`
      n = `{ ${keys.map((f, t) => `${f}: n${j}_${t}`).join(', ')} }`
    }
    body += `    u = r${j}(k${j}, u, i, ${o}, ${n}, p)\n`
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
