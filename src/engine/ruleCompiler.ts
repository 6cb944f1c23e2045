// A per-element rule (src/engine/pass.ts's `ElementRule`), read back from its own source
// (`Function.prototype.toString`) into a small list of steps that a SIMD kernel can run
// (src/engine/wasmPass.ts): the rule stays written once, in JavaScript, and this is how the engine
// sees the arithmetic in it. Only a subset is understood — what the library's rules use:
// `const`/`let` locals, destructuring of the constants `k` and of the slot records, number
// literals, + − * / and unary −, comparisons, `&&`, `||`, `!` and `?:` (both branches free of
// assignments), `Math.sqrt/abs/sign/min/max/floor/ceil/trunc`, `old.f[i]`, `next.f[i] = …`
// (also as an expression), `p[i]`, `g` and `return`. Anything else (a call, `**`, `%`, a loop,
// a variable from outside the rule…) and the rule is not compiled: the JavaScript loop runs it,
// as before. Nothing is reordered: each operation is the one the source writes, in its order,
// so each element gets the bits the JavaScript loop gives it (IEEE per lane).

/** A value per element: a number, or the outcome of a comparison (a lane mask). */
export type Expr =
  | { readonly op: 'lit'; readonly v: number }
  /** the rule's constant `consts[c]` (a field of `k`, or `k` itself) */
  | { readonly op: 'k'; readonly c: number }
  /** the incoming update */
  | { readonly op: 'g' }
  /** the slot's tree field `trees[f]` before the step */
  | { readonly op: 'old'; readonly f: number }
  /** the parameter */
  | { readonly op: 'p' }
  /** a value computed by an earlier step */
  | { readonly op: 'local'; readonly id: number }
  | { readonly op: Unary | 'not' | 'truthy'; readonly a: Expr }
  | { readonly op: Binary | Compare | 'and' | 'or'; readonly a: Expr; readonly b: Expr }
  | { readonly op: '?'; readonly c: Expr; readonly a: Expr; readonly b: Expr }

export type Unary = 'neg' | 'sqrt' | 'abs' | 'sign' | 'floor' | 'ceil' | 'trunc'
export type Binary = '+' | '-' | '*' | '/' | 'min' | 'max'
export type Compare = '<' | '>' | '<=' | '>=' | '==' | '!='

/** In source order: local `id` = e, or `next[trees[f]][i]` = local `id`. */
export type Step =
  | { readonly kind: 'set'; readonly id: number; readonly e: Expr }
  | { readonly kind: 'store'; readonly f: number; readonly id: number }

/** A rule as the kernel runs it. */
export interface CompiledRule {
  /** the constants it reads: fields of `k` (`'b1'`), or null for `k` itself (a number) */
  readonly consts: readonly (string | null)[]
  readonly steps: readonly Step[]
  /** the update it returns */
  readonly result: Expr
  /** how many locals the steps set */
  readonly locals: number
  /** divisions and square roots per element: what makes a pass bound by the divider */
  readonly heavy: number
}

/** The rule read from its source, or null when it is outside the subset. */
export function compileRule(
  rule: (...args: never[]) => unknown,
  trees: readonly string[],
): CompiledRule | null {
  let src: string
  try {
    src = Function.prototype.toString.call(rule)
  } catch {
    return null
  }
  try {
    return new RuleParser(tokens(src), trees).rule()
  } catch (e) {
    if (e instanceof Unsupported) return null
    throw e
  }
}

class Unsupported extends Error {}
const no = (): never => {
  throw new Unsupported()
}

interface Tok {
  readonly t: 'id' | 'num' | 'str' | 'p' | 'eof'
  readonly v: string
  /** a line break before it */
  readonly nl: boolean
}

const PUNCT = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '++', '--', '+=', '-=', '*=', '/=', '%=',
  '&=', '|=', '^=', '**', '<<', '>>',
] // prettier-ignore
const NUMBER =
  /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:(?:0|[1-9][\d_]*)(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)/

function tokens(src: string): Tok[] {
  const out: Tok[] = []
  let nl = false
  let i = 0
  const push = (t: Tok['t'], v: string) => {
    out.push({ t, v, nl })
    nl = false
  }
  while (i < src.length) {
    const c = src[i]
    if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') {
      nl = true
      i++
    } else if (/\s/.test(c)) i++
    else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && !/[\n\r\u2028\u2029]/.test(src[i])) i++
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2)
      if (end < 0) no()
      if (/[\n\r\u2028\u2029]/.test(src.slice(i, end))) nl = true
      i = end + 2
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1
      while (j < src.length && /[\w$]/.test(src[j])) j++
      if (j < src.length && (src[j] === '\\' || src.charCodeAt(j) > 127)) no()
      push('id', src.slice(i, j))
      i = j
    } else if (/\d/.test(c) || (c === '.' && /\d/.test(src[i + 1] ?? ''))) {
      const m = NUMBER.exec(src.slice(i))
      if (m === null) no()
      const text = m![0]
      if (/[\w$.]/.test(src[i + text.length] ?? '')) no() // 1n, 08, 1.toFixed
      push('num', text.replace(/_/g, ''))
      i += text.length
    } else if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1)
      if (end < 0 || /[\\\n\r]/.test(src.slice(i + 1, end))) no()
      push('str', src.slice(i + 1, end))
      i = end + 1
    } else {
      const p =
        PUNCT.find((q) => src.startsWith(q, i)) ??
        (c === '?' && src[i + 1] === '.' && !/\d/.test(src[i + 2] ?? '') ? '?.' : c)
      if (!'{}()[];,.<>+-*/%&|^!~?:=?.'.includes(p[0])) no()
      push('p', p)
      i += p.length
    }
  }
  push('eof', '')
  return out
}

/** What an expression denotes while it is being read. */
type Val =
  | { readonly t: 'num' | 'bool'; readonly e: Expr }
  | { readonly t: 'k' | 'index' | 'math' }
  | { readonly t: 'slots'; readonly next: boolean }
  /** a slot field (`old.mu`, `next.mu`) or the parameters (`f` = -1) */
  | { readonly t: 'arr'; readonly next: boolean; readonly f: number }
  /** an element of one (`next.mu[i]`): read or assigned */
  | { readonly t: 'elem'; readonly next: boolean; readonly f: number }
  | { readonly t: 'name'; readonly name: string }
  | { readonly t: 'str'; readonly s: string }
  | { readonly t: 'fn'; readonly name: string }

interface Binding {
  v: Val | null
  readonly mutable: boolean
}

const MATH_FNS = ['sqrt', 'abs', 'sign', 'floor', 'ceil', 'trunc', 'min', 'max']
const MATH_CONSTS = ['E', 'LN10', 'LN2', 'LOG10E', 'LOG2E', 'PI', 'SQRT1_2', 'SQRT2']
/** words that start a statement or an expression this subset does not take */
const RESERVED = new Set(
  'if else for while do switch case default break continue try catch finally throw function class new this super typeof void delete in instanceof yield await async with import export debugger true false null undefined arguments eval'.split(
    ' ',
  ),
)

class RuleParser {
  private at = 0
  private readonly env = new Map<string, Binding>()
  private readonly consts: (string | null)[] = []
  private readonly steps: Step[] = []
  /** per tree field, the local last stored into `next.f[i]` (-1: not yet) */
  private readonly stored: number[]
  private locals = 0
  /** > 0 inside a branch that may not run: no assignment there */
  private pure = 0

  constructor(
    private readonly toks: readonly Tok[],
    private readonly trees: readonly string[],
  ) {
    this.stored = trees.map(() => -1)
  }

  rule(): CompiledRule {
    let result: Expr
    if (this.word('async')) no()
    if (this.eatWord('function')) {
      if (this.peek('*')) no()
      if (this.tok().t === 'id') this.at++
      this.params()
      result = this.block()
    } else if (this.peek('(')) {
      this.params()
      this.expect('=>')
      result = this.peek('{') ? this.block() : this.num(this.assignment())
    } else if (this.tok().t === 'id' && !RESERVED.has(this.tok().v)) {
      const name = this.next().v
      if (this.eat('=>')) {
        this.bind(0, name)
        result = this.num(this.assignment())
      } else {
        this.params() // a method: `name(k, g, …) { … }`
        result = this.block()
      }
    } else return no()
    if (this.tok().t !== 'eof') no()
    if (this.stored.some((id) => id < 0)) no() // every slot field written, as the loop expects
    let heavy = 0
    const count = (e: Expr): void => {
      if (e.op === '/' || e.op === 'sqrt') heavy++
      if ('a' in e) count(e.a)
      if ('b' in e) count(e.b)
      if ('c' in e && typeof e.c === 'object') count(e.c)
    }
    for (const s of this.steps) if (s.kind === 'set') count(s.e)
    count(result)
    return { consts: this.consts, steps: this.steps, result, locals: this.locals, heavy }
  }

  // --- tokens

  private tok(): Tok {
    return this.toks[this.at]
  }
  private next(): Tok {
    return this.toks[this.at++]
  }
  private peek(p: string): boolean {
    const t = this.tok()
    return t.t === 'p' && t.v === p
  }
  private eat(p: string): boolean {
    if (!this.peek(p)) return false
    this.at++
    return true
  }
  private expect(p: string): void {
    if (!this.eat(p)) no()
  }
  private word(w: string): boolean {
    const t = this.tok()
    return t.t === 'id' && t.v === w
  }
  private eatWord(w: string): boolean {
    if (!this.word(w)) return false
    this.at++
    return true
  }
  private name(): string {
    const t = this.next()
    if (t.t !== 'id' || RESERVED.has(t.v)) no()
    return t.v
  }

  // --- the function's head: (k, g, i, old, next, p)

  private params(): void {
    this.expect('(')
    for (let n = 0; !this.eat(')'); n++) {
      if (n >= 6) no()
      if (n === 0 && this.eat('{')) this.pattern({ t: 'k' }, true)
      else this.bind(n, this.name())
      if (!this.eat(',')) return this.expect(')')
    }
  }

  private bind(position: number, name: string): void {
    const v: Val =
      position === 0
        ? { t: 'k' }
        : position === 1
          ? { t: 'num', e: { op: 'g' } }
          : position === 2
            ? { t: 'index' }
            : position === 5
              ? { t: 'arr', next: false, f: -1 }
              : { t: 'slots', next: position === 4 }
    this.env.set(name, { v, mutable: position === 1 })
  }

  /** `{ a, b: c }` (after its `{`) taken from `from` (the constants or a slot record). */
  private pattern(from: Val, mutable: boolean): void {
    while (!this.eat('}')) {
      const t = this.next()
      if (t.t !== 'id' && t.t !== 'str') no()
      const key = t.v
      const local = this.eat(':') ? this.name() : t.t === 'id' ? key : no()
      if (this.peek('=')) no() // a default
      this.env.set(local, { v: this.member(from, key), mutable })
      if (!this.eat(',')) {
        this.expect('}')
        break
      }
    }
  }

  // --- statements

  /** `{ statements }` up to its `return`: the returned update. */
  private block(): Expr {
    this.expect('{')
    for (;;) {
      if (this.eat(';')) continue
      if (this.peek('}')) return no() // no return: the update would be undefined
      if (this.word('const') || this.word('let') || this.word('var')) {
        const mutable = this.next().v !== 'const'
        do this.declaration(mutable)
        while (this.eat(','))
      } else if (this.eatWord('return')) {
        if (this.tok().nl || this.peek(';') || this.peek('}')) no()
        const result = this.num(this.sequence())
        while (this.eat(';'));
        this.expect('}')
        return result
      } else {
        if (this.tok().t === 'id' && RESERVED.has(this.tok().v)) no()
        this.sequence()
      }
      if (!this.eat(';') && !this.peek('}') && !this.tok().nl) no()
    }
  }

  private declaration(mutable: boolean): void {
    if (this.eat('{')) {
      const start = this.at
      // the pattern's source comes first; read the initializer, then come back
      let depth = 1
      while (depth > 0) {
        const t = this.next()
        if (t.t === 'eof') no()
        if (t.t === 'p' && t.v === '{') depth++
        if (t.t === 'p' && t.v === '}') depth--
      }
      this.expect('=')
      const from = this.deref(this.assignment())
      if (from.t !== 'k' && from.t !== 'slots') no()
      const end = this.at
      this.at = start
      this.pattern(from, mutable)
      this.at = end
      return
    }
    const name = this.name()
    if (!this.eat('=')) {
      if (!mutable) no()
      this.env.set(name, { v: null, mutable })
      return
    }
    const v = this.deref(this.assignment())
    this.env.set(name, { v: v.t === 'num' ? this.held(v.e) : v, mutable })
  }

  /** A number held by a name: a local unless it is a leaf already. */
  private held(e: Expr): Val {
    if (e.op === 'lit' || e.op === 'k' || e.op === 'local' || e.op === 'g' || e.op === 'p')
      return { t: 'num', e }
    return { t: 'num', e: this.local(e) }
  }

  private local(e: Expr): Expr {
    if (this.pure > 0) no()
    const id = this.locals++
    this.steps.push({ kind: 'set', id, e })
    return { op: 'local', id }
  }

  // --- expressions, by JavaScript's precedence

  private sequence(): Val {
    let v = this.assignment()
    while (this.eat(',')) {
      this.deref(v)
      v = this.assignment()
    }
    return v
  }

  private assignment(): Val {
    const left = this.conditional()
    const t = this.tok()
    if (t.t !== 'p' || !['=', '+=', '-=', '*=', '/='].includes(t.v)) return left
    this.at++
    if (this.pure > 0) no()
    // a compound assignment reads its target before the right side runs
    const before = t.v === '=' ? null : this.num(left)
    const right = this.num(this.assignment())
    const value = before === null ? right : ({ op: t.v[0] as Binary, a: before, b: right } as Expr)
    if (left.t === 'name') {
      const b = this.env.get(left.name)
      if (b === undefined || !b.mutable || (b.v !== null && b.v.t !== 'num')) no()
      const v = this.held(value)
      b!.v = v
      return v
    }
    if (left.t === 'elem' && left.next) {
      const e = value.op === 'local' ? value : this.local(value)
      const id = (e as { id: number }).id
      this.steps.push({ kind: 'store', f: left.f, id })
      this.stored[left.f] = id
      return { t: 'num', e }
    }
    return no()
  }

  private conditional(): Val {
    const test = this.binary(0)
    if (!this.eat('?')) return test
    const c = this.mask(test)
    this.pure++
    const a = this.deref(this.assignment())
    this.expect(':')
    const b = this.deref(this.assignment())
    this.pure--
    if (a.t === 'num' && b.t === 'num') return { t: 'num', e: { op: '?', c, a: a.e, b: b.e } }
    if (a.t === 'bool' && b.t === 'bool') return { t: 'bool', e: { op: '?', c, a: a.e, b: b.e } }
    return no()
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [
    ['||'],
    ['&&'],
    ['==', '!=', '===', '!=='],
    ['<', '>', '<=', '>='],
    ['+', '-'],
    ['*', '/'],
  ]

  private binary(level: number): Val {
    if (level === RuleParser.LEVELS.length) return this.unary()
    const ops = RuleParser.LEVELS[level]
    let left = this.binary(level + 1)
    for (;;) {
      const t = this.tok()
      if (t.t !== 'p' || !ops.includes(t.v)) return left
      this.at++
      if (level <= 1) {
        // && and ||: the right side may not run
        const a = this.bool(left)
        this.pure++
        const b = this.bool(this.binary(level + 1))
        this.pure--
        left = { t: 'bool', e: { op: level === 0 ? 'or' : 'and', a, b } }
      } else if (level <= 3) {
        const a = this.num(left)
        const b = this.num(this.binary(level + 1))
        const op = (t.v.length === 3 ? t.v.slice(0, 2) : t.v) as Compare
        left = { t: 'bool', e: { op, a, b } }
      } else {
        const a = this.num(left)
        const b = this.num(this.binary(level + 1))
        left = { t: 'num', e: { op: t.v as Binary, a, b } }
      }
    }
  }

  private unary(): Val {
    if (this.eat('-')) return { t: 'num', e: { op: 'neg', a: this.num(this.unary()) } }
    if (this.eat('+')) return { t: 'num', e: this.num(this.unary()) }
    if (this.eat('!')) {
      const v = this.deref(this.unary())
      return { t: 'bool', e: { op: 'not', a: this.mask(v) } }
    }
    const v = this.postfix()
    if (this.peek('**')) no()
    return v
  }

  private postfix(): Val {
    let v = this.primary()
    for (;;) {
      if (this.eat('.')) {
        const t = this.next()
        if (t.t !== 'id') no()
        v = this.member(this.deref(v), t.v)
      } else if (this.eat('[')) {
        const of = this.deref(v)
        const key = this.deref(this.sequence())
        this.expect(']')
        if (of.t === 'arr' && key.t === 'index') v = { t: 'elem', next: of.next, f: of.f }
        else if (key.t === 'str') v = this.member(of, key.s)
        else no()
      } else if (this.eat('(')) {
        const fn = this.deref(v)
        if (fn.t !== 'fn') no()
        const args: Expr[] = []
        while (!this.eat(')')) {
          args.push(this.num(this.assignment()))
          if (!this.eat(',')) {
            this.expect(')')
            break
          }
        }
        v = { t: 'num', e: call((fn as { name: string }).name, args) }
      } else return v
    }
  }

  private primary(): Val {
    const t = this.next()
    if (t.t === 'num') return { t: 'num', e: { op: 'lit', v: Number(t.v) } }
    if (t.t === 'str') return { t: 'str', s: t.v }
    if (t.t === 'p' && t.v === '(') {
      const v = this.sequence()
      this.expect(')')
      return v
    }
    if (t.t === 'id' && !RESERVED.has(t.v)) return { t: 'name', name: t.v }
    return no()
  }

  /** `of.key`: a constant, a slot field, a Math function or constant. */
  private member(of: Val, key: string): Val {
    if (of.t === 'k') return { t: 'num', e: { op: 'k', c: this.constant(key) } }
    if (of.t === 'slots') {
      const f = this.trees.indexOf(key)
      if (f < 0) no()
      return { t: 'arr', next: of.next, f }
    }
    if (of.t === 'math') {
      if (MATH_FNS.includes(key)) return { t: 'fn', name: key }
      if (MATH_CONSTS.includes(key)) {
        return { t: 'num', e: { op: 'lit', v: (Math as unknown as Record<string, number>)[key] } }
      }
    }
    return no()
  }

  private constant(key: string | null): number {
    // k read both as a number and as a record
    if (key === null ? this.consts.some((c) => c !== null) : this.consts.includes(null)) no()
    const c = this.consts.indexOf(key)
    return c >= 0 ? c : this.consts.push(key) - 1
  }

  /** What a name or an element denotes when read. */
  private deref(v: Val): Val {
    if (v.t === 'name') {
      const b = this.env.get(v.name)
      if (b !== undefined) return b.v ?? no()
      if (v.name === 'Math') return { t: 'math' }
      if (v.name === 'Infinity') return { t: 'num', e: { op: 'lit', v: Infinity } }
      if (v.name === 'NaN') return { t: 'num', e: { op: 'lit', v: NaN } }
      return no() // a variable from outside the rule
    }
    if (v.t === 'elem') {
      if (!v.next) return { t: 'num', e: v.f < 0 ? { op: 'p' } : { op: 'old', f: v.f } }
      const id = this.stored[v.f]
      return id < 0 ? no() : { t: 'num', e: { op: 'local', id } }
    }
    return v
  }

  private num(v: Val): Expr {
    const d = this.deref(v)
    if (d.t === 'num') return d.e
    if (d.t === 'k') return { op: 'k', c: this.constant(null) }
    return no()
  }

  private bool(v: Val): Expr {
    const d = this.deref(v)
    return d.t === 'bool' ? d.e : no()
  }

  /** A condition's lanes: a comparison, or a number's truthiness (neither 0 nor NaN). */
  private mask(v: Val): Expr {
    const d = this.deref(v)
    if (d.t === 'bool') return d.e
    return { op: 'truthy', a: this.num(d) }
  }
}

/** `Math.<name>(args)`: min and max fold left (NaN wins, −0 below +0, as each step does). */
function call(name: string, args: readonly Expr[]): Expr {
  if (name === 'min' || name === 'max') {
    if (args.length === 0) return { op: 'lit', v: name === 'min' ? Infinity : -Infinity }
    return args.reduce((a, b) => ({ op: name, a, b }))
  }
  if (args.length !== 1) no() // Math.sqrt() is NaN, Math.sqrt(a, b) reads a: rare, not taken
  return { op: name as Unary, a: args[0] }
}
