// AssemblyScript source of gradstream's WebAssembly SIMD (f64x2) matrix-product kernels.
// `npm run build:wasm` compiles it into ../wasmBinary.ts (base64), which ../wasmKernels.ts loads.
// This folder is excluded from the TypeScript project: it is AssemblyScript (v128, usize, load).
//
// Every kernel works on raw byte addresses into linear memory that the JavaScript side lays out;
// nothing here allocates. All matrices are float64, row-major. Sums run over p = 0 … k−1 in order
// from +0 with separate multiply and add (no fused multiply-add), so each lane reproduces the
// scalar reference loop bit for bit.

// C[m×n] = op(A)·B, op(A)(i, p) at a + 8·(i·sai + p·sap), B (k×n) and C contiguous.
// Blocked 4 rows × 4 columns (eight f64x2 accumulators); edges fall back to 4×2, 4×1, 1×4, 1×2, 1×1.
export function gemm(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  sai: i32,
  sap: i32,
): void {
  const m4 = m & ~3
  const rowA = (<usize>sai) << 3
  const stepA = (<usize>sap) << 3
  const stepB = (<usize>n) << 3
  const rowC = (<usize>n) << 3
  for (let i = 0; i < m4; i += 4) {
    const a0 = a + <usize>i * rowA
    const c0 = c + <usize>i * rowC
    let j = 0
    for (; j + 4 <= n; j += 4) {
      let s00 = f64x2.splat(0)
      let s01 = f64x2.splat(0)
      let s10 = f64x2.splat(0)
      let s11 = f64x2.splat(0)
      let s20 = f64x2.splat(0)
      let s21 = f64x2.splat(0)
      let s30 = f64x2.splat(0)
      let s31 = f64x2.splat(0)
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        const y0 = v128.load(pb)
        const y1 = v128.load(pb, 16)
        const x0 = v128.load64_splat(pa)
        s00 = f64x2.add(s00, f64x2.mul(x0, y0))
        s01 = f64x2.add(s01, f64x2.mul(x0, y1))
        const x1 = v128.load64_splat(pa + rowA)
        s10 = f64x2.add(s10, f64x2.mul(x1, y0))
        s11 = f64x2.add(s11, f64x2.mul(x1, y1))
        const x2 = v128.load64_splat(pa + 2 * rowA)
        s20 = f64x2.add(s20, f64x2.mul(x2, y0))
        s21 = f64x2.add(s21, f64x2.mul(x2, y1))
        const x3 = v128.load64_splat(pa + 3 * rowA)
        s30 = f64x2.add(s30, f64x2.mul(x3, y0))
        s31 = f64x2.add(s31, f64x2.mul(x3, y1))
        pa += stepA
        pb += stepB
      }
      const pc = c0 + ((<usize>j) << 3)
      v128.store(pc, s00)
      v128.store(pc, s01, 16)
      v128.store(pc + rowC, s10)
      v128.store(pc + rowC, s11, 16)
      v128.store(pc + 2 * rowC, s20)
      v128.store(pc + 2 * rowC, s21, 16)
      v128.store(pc + 3 * rowC, s30)
      v128.store(pc + 3 * rowC, s31, 16)
    }
    if (j + 2 <= n) {
      let s0 = f64x2.splat(0)
      let s1 = f64x2.splat(0)
      let s2 = f64x2.splat(0)
      let s3 = f64x2.splat(0)
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        const y = v128.load(pb)
        s0 = f64x2.add(s0, f64x2.mul(v128.load64_splat(pa), y))
        s1 = f64x2.add(s1, f64x2.mul(v128.load64_splat(pa + rowA), y))
        s2 = f64x2.add(s2, f64x2.mul(v128.load64_splat(pa + 2 * rowA), y))
        s3 = f64x2.add(s3, f64x2.mul(v128.load64_splat(pa + 3 * rowA), y))
        pa += stepA
        pb += stepB
      }
      const pc = c0 + ((<usize>j) << 3)
      v128.store(pc, s0)
      v128.store(pc + rowC, s1)
      v128.store(pc + 2 * rowC, s2)
      v128.store(pc + 3 * rowC, s3)
      j += 2
    }
    if (j < n) {
      let s0: f64 = 0
      let s1: f64 = 0
      let s2: f64 = 0
      let s3: f64 = 0
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        const y = load<f64>(pb)
        s0 += load<f64>(pa) * y
        s1 += load<f64>(pa + rowA) * y
        s2 += load<f64>(pa + 2 * rowA) * y
        s3 += load<f64>(pa + 3 * rowA) * y
        pa += stepA
        pb += stepB
      }
      const pc = c0 + ((<usize>j) << 3)
      store<f64>(pc, s0)
      store<f64>(pc + rowC, s1)
      store<f64>(pc + 2 * rowC, s2)
      store<f64>(pc + 3 * rowC, s3)
    }
  }
  for (let i = m4; i < m; i++) {
    const a0 = a + <usize>i * rowA
    const c0 = c + <usize>i * rowC
    let j = 0
    for (; j + 4 <= n; j += 4) {
      let s0 = f64x2.splat(0)
      let s1 = f64x2.splat(0)
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        const x = v128.load64_splat(pa)
        s0 = f64x2.add(s0, f64x2.mul(x, v128.load(pb)))
        s1 = f64x2.add(s1, f64x2.mul(x, v128.load(pb, 16)))
        pa += stepA
        pb += stepB
      }
      const pc = c0 + ((<usize>j) << 3)
      v128.store(pc, s0)
      v128.store(pc, s1, 16)
    }
    if (j + 2 <= n) {
      let s = f64x2.splat(0)
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        s = f64x2.add(s, f64x2.mul(v128.load64_splat(pa), v128.load(pb)))
        pa += stepA
        pb += stepB
      }
      v128.store(c0 + ((<usize>j) << 3), s)
      j += 2
    }
    if (j < n) {
      let s: f64 = 0
      let pa = a0
      let pb = b + ((<usize>j) << 3)
      for (let p = 0; p < k; p++) {
        s += load<f64>(pa) * load<f64>(pb)
        pa += stepA
        pb += stepB
      }
      store<f64>(c0 + ((<usize>j) << 3), s)
    }
  }
}

// Rows of op(B) per block of the packed product: a panel's block (KC × 4 numbers, 8 KB) stays in
// L1 while a block of A's rows (MC × KC, 128 KB) stays in L2.
const KC: i32 = 256
const MC: i32 = 64

// Packs columns 0 … n4−1 (n4 = n rounded down to a multiple of 4) of op(B) (k×n, op(B)(p, j) at
// b + 8·(p·sbp + j·sbj)) into panels of 4 columns: panel q holds op(B)'s rows p = 0 … k−1, four
// numbers each, contiguous from pk + 32·q·k. A stored B (sbj = 1) is read two panels (64 bytes
// of a row) at a time; a transposed one (sbp = 1) as four contiguous columns.
export function packB(b: usize, k: i32, n: i32, sbp: i32, sbj: i32, pk: usize): void {
  const n4 = n & ~3
  const n8 = n & ~7
  const rowB = (<usize>sbp) << 3
  const colB = (<usize>sbj) << 3
  const panel = (<usize>k) << 5
  if (sbj == 1) {
    let j = 0
    for (; j < n8; j += 8) {
      let pb = b + ((<usize>j) << 3)
      let o0 = pk + <usize>(j >> 2) * panel
      let o1 = o0 + panel
      for (let p = 0; p < k; p++) {
        v128.store(o0, v128.load(pb))
        v128.store(o0, v128.load(pb, 16), 16)
        v128.store(o1, v128.load(pb, 32))
        v128.store(o1, v128.load(pb, 48), 16)
        pb += rowB
        o0 += 32
        o1 += 32
      }
    }
    if (j < n4) {
      let pb = b + ((<usize>j) << 3)
      let o0 = pk + <usize>(j >> 2) * panel
      for (let p = 0; p < k; p++) {
        v128.store(o0, v128.load(pb))
        v128.store(o0, v128.load(pb, 16), 16)
        pb += rowB
        o0 += 32
      }
    }
    return
  }
  for (let j = 0; j < n4; j += 4) {
    let pb = b + <usize>j * colB
    let o = pk + <usize>(j >> 2) * panel
    for (let p = 0; p < k; p++) {
      store<f64>(o, load<f64>(pb))
      store<f64>(o, load<f64>(pb + colB), 8)
      store<f64>(o, load<f64>(pb + 2 * colB), 16)
      store<f64>(o, load<f64>(pb + 3 * colB), 24)
      pb += rowB
      o += 32
    }
  }
}

// Packs rows 0 … m4−1 (m4 = m rounded down to a multiple of 4) of op(A) (m×k, op(A)(i, p) at
// a + 8·(i·sai + p·sap)) into blocks of 4 rows: block r holds op(A)(4r … 4r+3, p) for p = 0 …
// k−1, four numbers each, contiguous from pa + 32·r·k. For a transposed A (sai = 1: A stored
// k×m), whose 4 rows' numbers at one p are adjacent but whose p's are a whole row of A apart (a
// stride that maps every p to the same L1 cache set), read one row of A at a time.
export function packA(a: usize, m: i32, k: i32, sai: i32, sap: i32, pa: usize): void {
  const m4 = m & ~3
  const rowA = (<usize>sai) << 3
  const stepA = (<usize>sap) << 3
  const block = (<usize>k) << 5
  if (sai == 1) {
    for (let p = 0; p < k; p++) {
      let src = a + <usize>p * stepA
      let o = pa + ((<usize>p) << 5)
      for (let i = 0; i < m4; i += 4) {
        v128.store(o, v128.load(src))
        v128.store(o, v128.load(src, 16), 16)
        src += 32
        o += block
      }
    }
    return
  }
  for (let i = 0; i < m4; i += 4) {
    let src = a + <usize>i * rowA
    let o = pa + <usize>(i >> 2) * block
    for (let p = 0; p < k; p++) {
      store<f64>(o, load<f64>(src))
      store<f64>(o, load<f64>(src + rowA), 8)
      store<f64>(o, load<f64>(src + 2 * rowA), 16)
      store<f64>(o, load<f64>(src + 3 * rowA), 24)
      src += stepA
      o += 32
    }
  }
}

// C[m×n] = op(A)·op(B), op(A)(i, p) at a + 8·(i·sai + p·sap), op(B)(p, j) at b + 8·(p·sbp +
// j·sbj) with its first n4 columns also packed at pk (packB), and its first m4 rows packed at pka
// (packA) unless pka = 0; C contiguous. The same 4 × 4 blocks
// as gemm, walking contiguous panels, in blocks of KC rows of op(B) and MC rows of A (a block
// after the first continues from the partial sums stored in C). Each entry is still one sum over
// p = 0 … k−1 in order from +0 with separate multiply and add: the same bits as gemm.
export function gemmPacked(
  a: usize,
  pka: usize,
  pk: usize,
  b: usize,
  c: usize,
  m: i32,
  k: i32,
  n: i32,
  sai: i32,
  sap: i32,
  sbp: i32,
  sbj: i32,
): void {
  const m4 = m & ~3
  const n4 = n & ~3
  const rowA = (<usize>sai) << 3
  const stepA = (<usize>sap) << 3
  const rowB = (<usize>sbp) << 3
  const colB = (<usize>sbj) << 3
  const rowC = (<usize>n) << 3
  const panel = (<usize>k) << 5
  for (let p0 = 0; p0 < k; p0 += KC) {
    const p1 = min(k, p0 + KC)
    const first = p0 == 0
    for (let i0 = 0; i0 < m4; i0 += MC) {
      const i1 = min(m4, i0 + MC)
      for (let j = 0; j < n4; j += 4) {
        const pb0 = pk + <usize>(j >> 2) * panel + ((<usize>p0) << 5)
        for (let i = i0; i < i1; i += 4) {
          const pc = c + <usize>i * rowC + ((<usize>j) << 3)
          let s00 = f64x2.splat(0)
          let s01 = f64x2.splat(0)
          let s10 = f64x2.splat(0)
          let s11 = f64x2.splat(0)
          let s20 = f64x2.splat(0)
          let s21 = f64x2.splat(0)
          let s30 = f64x2.splat(0)
          let s31 = f64x2.splat(0)
          if (!first) {
            s00 = v128.load(pc)
            s01 = v128.load(pc, 16)
            s10 = v128.load(pc + rowC)
            s11 = v128.load(pc + rowC, 16)
            s20 = v128.load(pc + 2 * rowC)
            s21 = v128.load(pc + 2 * rowC, 16)
            s30 = v128.load(pc + 3 * rowC)
            s31 = v128.load(pc + 3 * rowC, 16)
          }
          let pb = pb0
          if (pka != 0) {
            let pa = pka + <usize>(i >> 2) * panel + ((<usize>p0) << 5)
            for (let p = p0; p < p1; p++) {
              const y0 = v128.load(pb)
              const y1 = v128.load(pb, 16)
              const x0 = v128.load64_splat(pa)
              s00 = f64x2.add(s00, f64x2.mul(x0, y0))
              s01 = f64x2.add(s01, f64x2.mul(x0, y1))
              const x1 = v128.load64_splat(pa, 8)
              s10 = f64x2.add(s10, f64x2.mul(x1, y0))
              s11 = f64x2.add(s11, f64x2.mul(x1, y1))
              const x2 = v128.load64_splat(pa, 16)
              s20 = f64x2.add(s20, f64x2.mul(x2, y0))
              s21 = f64x2.add(s21, f64x2.mul(x2, y1))
              const x3 = v128.load64_splat(pa, 24)
              s30 = f64x2.add(s30, f64x2.mul(x3, y0))
              s31 = f64x2.add(s31, f64x2.mul(x3, y1))
              pa += 32
              pb += 32
            }
          } else {
            let pa = a + <usize>i * rowA + <usize>p0 * stepA
            for (let p = p0; p < p1; p++) {
              const y0 = v128.load(pb)
              const y1 = v128.load(pb, 16)
              const x0 = v128.load64_splat(pa)
              s00 = f64x2.add(s00, f64x2.mul(x0, y0))
              s01 = f64x2.add(s01, f64x2.mul(x0, y1))
              const x1 = v128.load64_splat(pa + rowA)
              s10 = f64x2.add(s10, f64x2.mul(x1, y0))
              s11 = f64x2.add(s11, f64x2.mul(x1, y1))
              const x2 = v128.load64_splat(pa + 2 * rowA)
              s20 = f64x2.add(s20, f64x2.mul(x2, y0))
              s21 = f64x2.add(s21, f64x2.mul(x2, y1))
              const x3 = v128.load64_splat(pa + 3 * rowA)
              s30 = f64x2.add(s30, f64x2.mul(x3, y0))
              s31 = f64x2.add(s31, f64x2.mul(x3, y1))
              pa += stepA
              pb += 32
            }
          }
          v128.store(pc, s00)
          v128.store(pc, s01, 16)
          v128.store(pc + rowC, s10)
          v128.store(pc + rowC, s11, 16)
          v128.store(pc + 2 * rowC, s20)
          v128.store(pc + 2 * rowC, s21, 16)
          v128.store(pc + 3 * rowC, s30)
          v128.store(pc + 3 * rowC, s31, 16)
        }
      }
    }
    // the last m − m4 rows: one row against each panel
    for (let i = m4; i < m; i++) {
      const a0 = a + <usize>i * rowA + <usize>p0 * stepA
      for (let j = 0; j < n4; j += 4) {
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        let s0 = f64x2.splat(0)
        let s1 = f64x2.splat(0)
        if (!first) {
          s0 = v128.load(pc)
          s1 = v128.load(pc, 16)
        }
        let pa = a0
        let pb = pk + <usize>(j >> 2) * panel + ((<usize>p0) << 5)
        for (let p = p0; p < p1; p++) {
          const x = v128.load64_splat(pa)
          s0 = f64x2.add(s0, f64x2.mul(x, v128.load(pb)))
          s1 = f64x2.add(s1, f64x2.mul(x, v128.load(pb, 16)))
          pa += stepA
          pb += 32
        }
        v128.store(pc, s0)
        v128.store(pc, s1, 16)
      }
    }
    // the last n − n4 columns, from the unpacked op(B)
    for (let j = n4; j < n; j++) {
      for (let i = 0; i < m; i++) {
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        let s: f64 = first ? 0 : load<f64>(pc)
        let pa = a + <usize>i * rowA + <usize>p0 * stepA
        let pb = b + <usize>j * colB + <usize>p0 * rowB
        for (let p = p0; p < p1; p++) {
          s += load<f64>(pa) * load<f64>(pb)
          pa += stepA
          pb += rowB
        }
        store<f64>(pc, s)
      }
    }
  }
}

// Rows of S per pass of gemmCsr: the columns of B one group of accumulators covers (14 numbers,
// 112 bytes of each row of B the rows' non-zeros name) are walked for CSR_ROWS rows of S in turn,
// so those slices of B stay in L1 across the rows instead of coming back from L2 for each one.
// W5's x·W1 (128 images × 784·784×256, interleaved A/B, CPU): 1.50 ms a row at a time, 1.36 ms
// with 8 rows, 1.27 with 16, 1.19 with 32, 1.15 with 128; xᵀ·δ1 (B in L1 already) unchanged.
const CSR_ROWS: i32 = 128

// C[m×n] = S·B for S (m×k) in compressed sparse rows: row i's entries are q ∈ [rowPtr[i],
// rowPtr[i+1]) with column colIdx[q] (i32) and value vals[q] (f64); B (k×n) and C contiguous.
// Fourteen columns (seven f64x2 accumulators) at a time walk the row's non-zeros only, then 8, 2,
// 1. Seven, not eight: V8 loads a pass's slices of B into registers before multiplying, so seven
// accumulators, seven loaded slices and the splatted value fill x64's fifteen usable SIMD
// registers exactly; with eight, an accumulator lived on the stack and its chain of additions went
// through memory (≈ 10% slower on the MNIST products, 784×50 weights, despite one pass fewer).
// Rows go CSR_ROWS at a time, each group of columns over all of them (the order of the sums in
// each entry is unchanged: the same bits).
export function gemmCsr(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
): void {
  csrProduct(rowPtr, colIdx, vals, b, c, m, n, n, n)
}

// gemmCsr with B's rows ldb ≥ n numbers apart (C still contiguous): a B whose rows are a power of
// two of bytes apart (256 numbers, 2 KB) puts the same 112 bytes of every row in the same two of
// L1's 64 sets, and the slices the rows' non-zeros name then evict each other; a few numbers of
// padding per row spread them (W5's x·W1 and xᵀ·δ1, interleaved, CPU: 14–18% faster at 260).
export function gemmCsrLd(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  ldb: i32,
): void {
  csrProduct(rowPtr, colIdx, vals, b, c, m, n, ldb, n)
}

// gemmCsrLd for a slice of C's columns: b and c moved to the slice's first column, n its width,
// C's rows ldc numbers apart. Each entry is the whole product's sum in the same order (a column's
// sum does not depend on which group of columns computes it), so the same bits; two threads take
// slices of columns (src/parallel/sharedKernels.ts), each reading only its slice of B and walking
// all rows per group of columns as one thread does, where slices of rows would each walk all of B.
export function gemmCsrLdc(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  ldb: i32,
  ldc: i32,
): void {
  csrProduct(rowPtr, colIdx, vals, b, c, m, n, ldb, ldc)
}

// @ts-ignore: decorator
@inline
function csrProduct(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  ldb: i32,
  ldc: i32,
): void {
  const rowB = (<usize>ldb) << 3
  const rowC = (<usize>ldc) << 3
  for (let i0 = 0; i0 < m; i0 += CSR_ROWS) {
    const i1 = min(m, i0 + CSR_ROWS)
    let j = 0
    for (; j + 14 <= n; j += 14) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        let s1 = f64x2.splat(0)
        let s2 = f64x2.splat(0)
        let s3 = f64x2.splat(0)
        let s4 = f64x2.splat(0)
        let s5 = f64x2.splat(0)
        let s6 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const v = v128.load64_splat(vals + ((<usize>q) << 3))
          const pb = bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
          s1 = f64x2.add(s1, f64x2.mul(v, v128.load(pb, 16)))
          s2 = f64x2.add(s2, f64x2.mul(v, v128.load(pb, 32)))
          s3 = f64x2.add(s3, f64x2.mul(v, v128.load(pb, 48)))
          s4 = f64x2.add(s4, f64x2.mul(v, v128.load(pb, 64)))
          s5 = f64x2.add(s5, f64x2.mul(v, v128.load(pb, 80)))
          s6 = f64x2.add(s6, f64x2.mul(v, v128.load(pb, 96)))
        }
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        v128.store(pc, s0)
        v128.store(pc, s1, 16)
        v128.store(pc, s2, 32)
        v128.store(pc, s3, 48)
        v128.store(pc, s4, 64)
        v128.store(pc, s5, 80)
        v128.store(pc, s6, 96)
      }
    }
    for (; j + 8 <= n; j += 8) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        let s1 = f64x2.splat(0)
        let s2 = f64x2.splat(0)
        let s3 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const v = v128.load64_splat(vals + ((<usize>q) << 3))
          const pb = bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
          s1 = f64x2.add(s1, f64x2.mul(v, v128.load(pb, 16)))
          s2 = f64x2.add(s2, f64x2.mul(v, v128.load(pb, 32)))
          s3 = f64x2.add(s3, f64x2.mul(v, v128.load(pb, 48)))
        }
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        v128.store(pc, s0)
        v128.store(pc, s1, 16)
        v128.store(pc, s2, 32)
        v128.store(pc, s3, 48)
      }
    }
    for (; j + 2 <= n; j += 2) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const v = v128.load64_splat(vals + ((<usize>q) << 3))
          const pb = bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
        }
        v128.store(c + <usize>i * rowC + ((<usize>j) << 3), s0)
      }
    }
    if (j < n) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0: f64 = 0
        for (let q = s; q < e; q++) {
          const v = load<f64>(vals + ((<usize>q) << 3))
          s0 += v * load<f64>(bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB)
        }
        store<f64>(c + <usize>i * rowC + ((<usize>j) << 3), s0)
      }
    }
  }
}

// The byte offsets of the rows of B that a CSR's entries name, for gemmCsrOff: off[q] =
// idx[q]·rowBytes (rows of B rowBytes apart) for nnz entries, four at a time.
export function csrOffsets(idx: usize, off: usize, nnz: i32, rowBytes: i32): void {
  const scale = i32x4.splat(rowBytes)
  let q = 0
  for (; q + 4 <= nnz; q += 4) {
    const o = (<usize>q) << 2
    v128.store(off + o, i32x4.mul(v128.load(idx + o), scale))
  }
  for (; q < nnz; q++) {
    const o = (<usize>q) << 2
    store<i32>(off + o, load<i32>(idx + o) * rowBytes)
  }
}

// gemmCsrLd with each entry's row of B named by its byte offset (csrOffsets) rather than its
// index: the inner loop then walks two pointers and needs no multiply, which frees a register V8
// otherwise spills (W3's 100×784·784×50 and 784×100·100×50, interleaved: 4–5% faster). The same
// sums in the same order as gemmCsrLd: the same bits. C contiguous (m×n).
export function gemmCsrOff(
  rowPtr: usize,
  off: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
): void {
  const rowC = (<usize>n) << 3
  for (let i0 = 0; i0 < m; i0 += CSR_ROWS) {
    const i1 = min(m, i0 + CSR_ROWS)
    let j = 0
    for (; j + 14 <= n; j += 14) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        let s1 = f64x2.splat(0)
        let s2 = f64x2.splat(0)
        let s3 = f64x2.splat(0)
        let s4 = f64x2.splat(0)
        let s5 = f64x2.splat(0)
        let s6 = f64x2.splat(0)
        let po = off + ((<usize>s) << 2)
        let pv = vals + ((<usize>s) << 3)
        const pe = off + ((<usize>e) << 2)
        while (po < pe) {
          const v = v128.load64_splat(pv)
          const pb = bj + <usize>load<u32>(po)
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
          s1 = f64x2.add(s1, f64x2.mul(v, v128.load(pb, 16)))
          s2 = f64x2.add(s2, f64x2.mul(v, v128.load(pb, 32)))
          s3 = f64x2.add(s3, f64x2.mul(v, v128.load(pb, 48)))
          s4 = f64x2.add(s4, f64x2.mul(v, v128.load(pb, 64)))
          s5 = f64x2.add(s5, f64x2.mul(v, v128.load(pb, 80)))
          s6 = f64x2.add(s6, f64x2.mul(v, v128.load(pb, 96)))
          po += 4
          pv += 8
        }
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        v128.store(pc, s0)
        v128.store(pc, s1, 16)
        v128.store(pc, s2, 32)
        v128.store(pc, s3, 48)
        v128.store(pc, s4, 64)
        v128.store(pc, s5, 80)
        v128.store(pc, s6, 96)
      }
    }
    for (; j + 8 <= n; j += 8) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        let s1 = f64x2.splat(0)
        let s2 = f64x2.splat(0)
        let s3 = f64x2.splat(0)
        let po = off + ((<usize>s) << 2)
        let pv = vals + ((<usize>s) << 3)
        const pe = off + ((<usize>e) << 2)
        while (po < pe) {
          const v = v128.load64_splat(pv)
          const pb = bj + <usize>load<u32>(po)
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
          s1 = f64x2.add(s1, f64x2.mul(v, v128.load(pb, 16)))
          s2 = f64x2.add(s2, f64x2.mul(v, v128.load(pb, 32)))
          s3 = f64x2.add(s3, f64x2.mul(v, v128.load(pb, 48)))
          po += 4
          pv += 8
        }
        const pc = c + <usize>i * rowC + ((<usize>j) << 3)
        v128.store(pc, s0)
        v128.store(pc, s1, 16)
        v128.store(pc, s2, 32)
        v128.store(pc, s3, 48)
      }
    }
    for (; j + 2 <= n; j += 2) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const v = v128.load64_splat(vals + ((<usize>q) << 3))
          const pb = bj + <usize>load<u32>(off + ((<usize>q) << 2))
          s0 = f64x2.add(s0, f64x2.mul(v, v128.load(pb)))
        }
        v128.store(c + <usize>i * rowC + ((<usize>j) << 3), s0)
      }
    }
    if (j < n) {
      const bj = b + ((<usize>j) << 3)
      for (let i = i0; i < i1; i++) {
        const s = load<i32>(rowPtr + ((<usize>i) << 2))
        const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
        let s0: f64 = 0
        for (let q = s; q < e; q++) {
          const v = load<f64>(vals + ((<usize>q) << 3))
          s0 += v * load<f64>(bj + <usize>load<u32>(off + ((<usize>q) << 2)))
        }
        store<f64>(c + <usize>i * rowC + ((<usize>j) << 3), s0)
      }
    }
  }
}

// gemmCsrLd for rows of S taken two at a time: pair r (rows 2r and 2r + 1 of S and C) lists the
// columns where either row is non-zero, q ∈ [rowPtr[r], rowPtr[r+1]), column colIdx[q], the two
// rows' values at vals + 16·q (a zero where one of them has none). Each slice of B a pair's entry
// names is loaded once for both rows. Adding a 0·b term leaves a sum as it was (for a finite b),
// so each entry is gemmCsrLd's sum, bit for bit. m may be odd (its last pair's second row is not
// written).
export function gemmCsrPairs(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  ldb: i32,
): void {
  const rowB = (<usize>ldb) << 3
  const rowC = (<usize>n) << 3
  const pairs = (m + 1) >> 1
  for (let r0 = 0; r0 < pairs; r0 += 64) {
    const r1 = min(pairs, r0 + 64)
    let j = 0
    for (; j + 8 <= n; j += 8) {
      const bj = b + ((<usize>j) << 3)
      for (let r = r0; r < r1; r++) {
        const s = load<i32>(rowPtr + ((<usize>r) << 2))
        const e = load<i32>(rowPtr + ((<usize>r + 1) << 2))
        let a0 = f64x2.splat(0)
        let a1 = f64x2.splat(0)
        let a2 = f64x2.splat(0)
        let a3 = f64x2.splat(0)
        let c0 = f64x2.splat(0)
        let c1 = f64x2.splat(0)
        let c2 = f64x2.splat(0)
        let c3 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const pv = vals + ((<usize>q) << 4)
          const u = v128.load64_splat(pv)
          const w = v128.load64_splat(pv, 8)
          const pb = bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB
          const y0 = v128.load(pb)
          const y1 = v128.load(pb, 16)
          const y2 = v128.load(pb, 32)
          const y3 = v128.load(pb, 48)
          a0 = f64x2.add(a0, f64x2.mul(u, y0))
          a1 = f64x2.add(a1, f64x2.mul(u, y1))
          a2 = f64x2.add(a2, f64x2.mul(u, y2))
          a3 = f64x2.add(a3, f64x2.mul(u, y3))
          c0 = f64x2.add(c0, f64x2.mul(w, y0))
          c1 = f64x2.add(c1, f64x2.mul(w, y1))
          c2 = f64x2.add(c2, f64x2.mul(w, y2))
          c3 = f64x2.add(c3, f64x2.mul(w, y3))
        }
        const pc = c + (<usize>(2 * r)) * rowC + ((<usize>j) << 3)
        v128.store(pc, a0)
        v128.store(pc, a1, 16)
        v128.store(pc, a2, 32)
        v128.store(pc, a3, 48)
        if (2 * r + 1 < m) {
          v128.store(pc + rowC, c0)
          v128.store(pc + rowC, c1, 16)
          v128.store(pc + rowC, c2, 32)
          v128.store(pc + rowC, c3, 48)
        }
      }
    }
    for (; j + 2 <= n; j += 2) {
      const bj = b + ((<usize>j) << 3)
      for (let r = r0; r < r1; r++) {
        const s = load<i32>(rowPtr + ((<usize>r) << 2))
        const e = load<i32>(rowPtr + ((<usize>r + 1) << 2))
        let a0 = f64x2.splat(0)
        let c0 = f64x2.splat(0)
        for (let q = s; q < e; q++) {
          const pv = vals + ((<usize>q) << 4)
          const y0 = v128.load(bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB)
          a0 = f64x2.add(a0, f64x2.mul(v128.load64_splat(pv), y0))
          c0 = f64x2.add(c0, f64x2.mul(v128.load64_splat(pv, 8), y0))
        }
        const pc = c + (<usize>(2 * r)) * rowC + ((<usize>j) << 3)
        v128.store(pc, a0)
        if (2 * r + 1 < m) v128.store(pc + rowC, c0)
      }
    }
    if (j < n) {
      const bj = b + ((<usize>j) << 3)
      for (let r = r0; r < r1; r++) {
        const s = load<i32>(rowPtr + ((<usize>r) << 2))
        const e = load<i32>(rowPtr + ((<usize>r + 1) << 2))
        let a0: f64 = 0
        let c0: f64 = 0
        for (let q = s; q < e; q++) {
          const pv = vals + ((<usize>q) << 4)
          const y = load<f64>(bj + <usize>load<i32>(colIdx + ((<usize>q) << 2)) * rowB)
          a0 += load<f64>(pv) * y
          c0 += load<f64>(pv, 8) * y
        }
        const pc = c + (<usize>(2 * r)) * rowC + ((<usize>j) << 3)
        store<f64>(pc, a0)
        if (2 * r + 1 < m) store<f64>(pc + rowC, c0)
      }
    }
  }
}

// The pairs of rows gemmCsrPairs walks, from the CSR of `rows` rows (rowPtr / colIdx / vals,
// columns increasing in each row): pair r merges rows 2r and 2r + 1 (the last row alone when rows
// is odd) into one list of their columns, increasing, each with both rows' values (+0 for the row
// that has no entry there) at pVals + 16·q. pRowPtr needs (rows + 1)/2 + 1 slots, pColIdx and
// pVals (two f64 each) one per entry of the rows at most. For an image batch's pixels (the rows of
// xᵀ), neighbours are mostly on together: a pair lists ~58% of its two rows' entries.
export function csrPairs(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  rows: i32,
  pRowPtr: usize,
  pColIdx: usize,
  pVals: usize,
): void {
  let o: i32 = 0
  store<i32>(pRowPtr, 0)
  const pairs = (rows + 1) >> 1
  for (let r = 0; r < pairs; r++) {
    let u = load<i32>(rowPtr + ((<usize>(2 * r)) << 2))
    const ue = load<i32>(rowPtr + ((<usize>(2 * r + 1)) << 2))
    let v = ue
    const ve = 2 * r + 1 < rows ? load<i32>(rowPtr + ((<usize>(2 * r + 2)) << 2)) : ue
    while (u < ue && v < ve) {
      const cu = load<i32>(colIdx + ((<usize>u) << 2))
      const cv = load<i32>(colIdx + ((<usize>v) << 2))
      const fu = load<f64>(vals + ((<usize>u) << 3))
      const fv = load<f64>(vals + ((<usize>v) << 3))
      const takeU = cu <= cv
      const takeV = cv <= cu
      const q = pVals + ((<usize>o) << 4)
      store<i32>(pColIdx + ((<usize>o) << 2), takeU ? cu : cv)
      store<f64>(q, takeU ? fu : 0.0)
      store<f64>(q, takeV ? fv : 0.0, 8)
      u += i32(takeU)
      v += i32(takeV)
      o++
    }
    for (; u < ue; u++, o++) {
      store<i32>(pColIdx + ((<usize>o) << 2), load<i32>(colIdx + ((<usize>u) << 2)))
      store<f64>(pVals + ((<usize>o) << 4), load<f64>(vals + ((<usize>u) << 3)))
      store<f64>(pVals + ((<usize>o) << 4), 0.0, 8)
    }
    for (; v < ve; v++, o++) {
      store<i32>(pColIdx + ((<usize>o) << 2), load<i32>(colIdx + ((<usize>v) << 2)))
      store<f64>(pVals + ((<usize>o) << 4), 0.0)
      store<f64>(pVals + ((<usize>o) << 4), load<f64>(vals + ((<usize>v) << 3)), 8)
    }
    store<i32>(pRowPtr + ((<usize>r + 1) << 2), o)
  }
}

// csrPairs' output made straight from the CSR of the rows of A (rows × cols, columns increasing
// in each row), where csrPairs reads the CSR of Aᵀ (csrTranspose's): pair r lists the rows of A
// with an entry in column 2r or 2r + 1, increasing, each with both values (+0 where it has none)
// — the same entries in the same order, by a counting sort over A's nnz entries, with no
// transposed CSR in between. A row's entries in columns 2r and 2r + 1 are adjacent, so the second
// joins the first's pair entry. pRowPtr needs (cols + 1)/2 + 1 slots, pColIdx and pVals (two f64
// each) one per entry of A at most.
export function csrPairsRows(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  rows: i32,
  cols: i32,
  pRowPtr: usize,
  pColIdx: usize,
  pVals: usize,
): void {
  const pairs = (cols + 1) >> 1
  memory.fill(pRowPtr, 0, (<usize>pairs + 1) << 2)
  // pair entries: each entry but an odd column right after its even neighbour in its row
  let prev: i32 = -2
  for (let i = 0; i < rows; i++) {
    const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
    prev = -2
    for (let q = load<i32>(rowPtr + ((<usize>i) << 2)); q < e; q++) {
      const c = load<i32>(colIdx + ((<usize>q) << 2))
      const at = pRowPtr + ((<usize>(c >> 1) + 1) << 2)
      store<i32>(at, load<i32>(at) + i32(c != prev + 1 || (c & 1) == 0))
      prev = c
    }
  }
  let s: i32 = 0
  for (let p = 1; p <= pairs; p++) {
    const at = pRowPtr + ((<usize>p) << 2)
    s += load<i32>(at)
    store<i32>(at, s)
  }
  // pRowPtr[p] is now pair p's start: place each row's entries at their pair's cursor
  for (let i = 0; i < rows; i++) {
    const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
    let last: usize = 0
    prev = -2
    for (let q = load<i32>(rowPtr + ((<usize>i) << 2)); q < e; q++) {
      const c = load<i32>(colIdx + ((<usize>q) << 2))
      const v = load<f64>(vals + ((<usize>q) << 3))
      if ((c & 1) != 0 && c == prev + 1) {
        store<f64>(last, v, 8)
      } else {
        const at = pRowPtr + ((<usize>(c >> 1)) << 2)
        const t = load<i32>(at)
        store<i32>(at, t + 1)
        store<i32>(pColIdx + ((<usize>t) << 2), i)
        last = pVals + ((<usize>t) << 4)
        const odd = (c & 1) != 0
        store<f64>(last, odd ? 0.0 : v)
        store<f64>(last, odd ? v : 0.0, 8)
      }
      prev = c
    }
  }
  // each cursor now sits at its pair's end = the next pair's start: shift back by one
  for (let p = pairs; p > 0; p--)
    store<i32>(pRowPtr + ((<usize>p) << 2), load<i32>(pRowPtr + ((<usize>p - 1) << 2)))
  store<i32>(pRowPtr, 0)
}

// csrRows for rows of 8-bit levels: A (m×k bytes, contiguous) stands for the numbers
// (byte·mul) / div (a data set kept as bytes: loadMnist's images, byte·(1/255)); a byte 0 is the
// number +0, which csrRows drops, any other a non-zero it keeps. So the entries csrRows finds in
// those numbers, from an eighth of the bytes. Each value is computed once per level into the
// 256 numbers at `table`. Returns the count, or −1 once more than maxNnz are found.
export function csrRowsBytes(
  a: usize,
  m: i32,
  k: i32,
  maxNnz: i32,
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  mul: f64,
  div: f64,
  table: usize,
): i32 {
  for (let b = 0; b < 256; b++) store<f64>(table + ((<usize>b) << 3), (<f64>b * mul) / div)
  store<i32>(rowPtr, 0)
  let nnz: i32 = 0
  let pa = a
  for (let i = 0; i < m; i++) {
    let p = 0
    for (; p + 16 <= k; p += 16) {
      // the non-zero bytes of 16, one bit each, walked lowest first
      let bits = i8x16.bitmask(i8x16.ne(v128.load(pa + <usize>p), i8x16.splat(0)))
      while (bits != 0) {
        const j = p + ctz(bits)
        const b = load<u8>(pa + <usize>j)
        store<i32>(colIdx + ((<usize>nnz) << 2), j)
        store<f64>(vals + ((<usize>nnz) << 3), load<f64>(table + ((<usize>b) << 3)))
        nnz++
        bits &= bits - 1
      }
    }
    for (; p < k; p++) {
      const b = load<u8>(pa + <usize>p)
      store<i32>(colIdx + ((<usize>nnz) << 2), p)
      store<f64>(vals + ((<usize>nnz) << 3), load<f64>(table + ((<usize>b) << 3)))
      nnz += i32(b != 0)
    }
    pa += <usize>k
    store<i32>(rowPtr + ((<usize>i + 1) << 2), nnz)
    if (nnz > maxNnz) return -1
  }
  return nnz
}

// Compresses the rows of A (m×k, contiguous) into rowPtr / colIdx / vals, keeping entries ≠ 0
// (NaN kept, ±0 dropped) and returns their count, or −1 once more than maxNnz are found. The
// copy is branch-free: every entry is written at the cursor, which advances only past non-zeros,
// so colIdx and vals need maxNnz + k slots.
export function csrRows(
  a: usize,
  m: i32,
  k: i32,
  maxNnz: i32,
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
): i32 {
  store<i32>(rowPtr, 0)
  return compressRows(a, m, k, maxNnz, rowPtr, colIdx, vals)
}

// csrRows for rows appended to a CSR under construction: the count so far is read from
// rowPtr[0] (the previous block's last row end) and entries continue from there, so a matrix can
// be copied into memory and compressed a cache-sized block of rows at a time.
export function csrRowsFrom(
  a: usize,
  m: i32,
  k: i32,
  maxNnz: i32,
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
): i32 {
  return compressRows(a, m, k, maxNnz, rowPtr, colIdx, vals)
}

// @ts-ignore: decorator
@inline
function compressRows(
  a: usize,
  m: i32,
  k: i32,
  maxNnz: i32,
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
): i32 {
  let nnz: i32 = load<i32>(rowPtr)
  let pa = a
  for (let i = 0; i < m; i++) {
    let p = 0
    // pairs of zeros (long runs in images) are skipped with one SIMD test
    for (; p + 2 <= k; p += 2) {
      const v = v128.load(pa)
      pa += 16
      if (!v128.any_true(f64x2.ne(v, f64x2.splat(0)))) continue
      const v0 = f64x2.extract_lane(v, 0)
      const v1 = f64x2.extract_lane(v, 1)
      store<i32>(colIdx + ((<usize>nnz) << 2), p)
      store<f64>(vals + ((<usize>nnz) << 3), v0)
      nnz += i32(v0 != 0)
      store<i32>(colIdx + ((<usize>nnz) << 2), p + 1)
      store<f64>(vals + ((<usize>nnz) << 3), v1)
      nnz += i32(v1 != 0)
    }
    for (; p < k; p++) {
      const v = load<f64>(pa)
      store<i32>(colIdx + ((<usize>nnz) << 2), p)
      store<f64>(vals + ((<usize>nnz) << 3), v)
      nnz += i32(v != 0)
      pa += 8
    }
    store<i32>(rowPtr + ((<usize>i + 1) << 2), nnz)
    if (nnz > maxNnz) return -1
  }
  return nnz
}

// Compresses the COLUMNS of A (m×k, contiguous) — the rows of Aᵀ — into rowPtr (k + 1 slots) /
// colIdx / vals, entries ≠ 0 (NaN kept, ±0 dropped) in increasing row order, and returns their
// count, or −1 when more than maxNnz. Two passes in storage order: count per column, then place
// with rowPtr as moving cursors (shifted back at the end). Pairs of zeros are skipped with one
// SIMD test in both passes.
export function csrCols(
  a: usize,
  m: i32,
  k: i32,
  maxNnz: i32,
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
): i32 {
  memory.fill(rowPtr, 0, (<usize>k + 1) << 2)
  let pa = a
  for (let i = 0; i < m; i++) {
    let p = 0
    for (; p + 2 <= k; p += 2) {
      const v = v128.load(pa)
      pa += 16
      if (!v128.any_true(f64x2.ne(v, f64x2.splat(0)))) continue
      const c0 = rowPtr + ((<usize>p + 1) << 2)
      store<i32>(c0, load<i32>(c0) + i32(f64x2.extract_lane(v, 0) != 0))
      store<i32>(c0, load<i32>(c0, 4) + i32(f64x2.extract_lane(v, 1) != 0), 4)
    }
    for (; p < k; p++) {
      const c0 = rowPtr + ((<usize>p + 1) << 2)
      store<i32>(c0, load<i32>(c0) + i32(load<f64>(pa) != 0))
      pa += 8
    }
  }
  let nnz: i32 = 0
  for (let p = 1; p <= k; p++) {
    const c = rowPtr + ((<usize>p) << 2)
    nnz += load<i32>(c)
    store<i32>(c, nnz)
  }
  if (nnz > maxNnz) return -1
  // rowPtr[p + 1] now ends column p; place column p's entries from rowPtr[p] (its start)
  pa = a
  for (let i = 0; i < m; i++) {
    let p = 0
    for (; p + 2 <= k; p += 2) {
      const v = v128.load(pa)
      pa += 16
      if (!v128.any_true(f64x2.ne(v, f64x2.splat(0)))) continue
      const v0 = f64x2.extract_lane(v, 0)
      if (v0 != 0) {
        const c = rowPtr + ((<usize>p) << 2)
        const q = load<i32>(c)
        store<i32>(colIdx + ((<usize>q) << 2), i)
        store<f64>(vals + ((<usize>q) << 3), v0)
        store<i32>(c, q + 1)
      }
      const v1 = f64x2.extract_lane(v, 1)
      if (v1 != 0) {
        const c = rowPtr + ((<usize>p + 1) << 2)
        const q = load<i32>(c)
        store<i32>(colIdx + ((<usize>q) << 2), i)
        store<f64>(vals + ((<usize>q) << 3), v1)
        store<i32>(c, q + 1)
      }
    }
    for (; p < k; p++) {
      const v = load<f64>(pa)
      pa += 8
      if (v != 0) {
        const c = rowPtr + ((<usize>p) << 2)
        const q = load<i32>(c)
        store<i32>(colIdx + ((<usize>q) << 2), i)
        store<f64>(vals + ((<usize>q) << 3), v)
        store<i32>(c, q + 1)
      }
    }
  }
  // each cursor now sits at its column's end = the next column's start: shift back by one
  for (let p = k; p > 0; p--)
    store<i32>(rowPtr + ((<usize>p) << 2), load<i32>(rowPtr + ((<usize>p - 1) << 2)))
  store<i32>(rowPtr, 0)
  return nnz
}

// The CSR of Aᵀ from the CSR of A (rows × cols): the same entries csrCols finds, in the same
// order (each output row lists its entries in increasing input row), by a counting sort over the
// nnz stored entries instead of two scans of the dense A — for an image batch (~19% non-zero)
// the work drops from 2·rows·cols loads to nnz + cols. tRowPtr needs cols + 1 slots, tColIdx /
// tVals nnz slots.
export function csrTranspose(
  rowPtr: usize,
  colIdx: usize,
  vals: usize,
  rows: i32,
  cols: i32,
  tRowPtr: usize,
  tColIdx: usize,
  tVals: usize,
): void {
  memory.fill(tRowPtr, 0, (<usize>cols + 1) << 2)
  const nnz = load<i32>(rowPtr + ((<usize>rows) << 2))
  for (let q = 0; q < nnz; q++) {
    const c = tRowPtr + ((<usize>load<i32>(colIdx + ((<usize>q) << 2)) + 1) << 2)
    store<i32>(c, load<i32>(c) + 1)
  }
  let s: i32 = 0
  for (let p = 1; p <= cols; p++) {
    const c = tRowPtr + ((<usize>p) << 2)
    s += load<i32>(c)
    store<i32>(c, s)
  }
  // tRowPtr[p] is now column p's start: place each row's entries at their column's cursor
  for (let i = 0; i < rows; i++) {
    const e = load<i32>(rowPtr + ((<usize>i + 1) << 2))
    for (let q = load<i32>(rowPtr + ((<usize>i) << 2)); q < e; q++) {
      const c = tRowPtr + ((<usize>load<i32>(colIdx + ((<usize>q) << 2))) << 2)
      const t = load<i32>(c)
      store<i32>(tColIdx + ((<usize>t) << 2), i)
      store<f64>(tVals + ((<usize>t) << 3), load<f64>(vals + ((<usize>q) << 3)))
      store<i32>(c, t + 1)
    }
  }
  // each cursor now sits at its column's end = the next column's start: shift back by one
  for (let p = cols; p > 0; p--)
    store<i32>(tRowPtr + ((<usize>p) << 2), load<i32>(tRowPtr + ((<usize>p - 1) << 2)))
  store<i32>(tRowPtr, 0)
}

// Spreads k rows of n f64, contiguous from `at`, to rows ldb ≥ n apart in place (the last row
// first: each row's new place lies past its old one) and zeroes the ldb − n after each: a right
// operand copied in with one memcpy becomes the padded layout gemmCsrLd reads, in one pass here
// instead of a call from JavaScript per row.
export function padRows(at: usize, k: i32, n: i32, ldb: i32): void {
  const row = (<usize>n) << 3
  const stride = (<usize>ldb) << 3
  const pad = stride - row
  for (let p = k - 1; p >= 0; p--) {
    const to = at + <usize>p * stride
    if (p > 0) memory.copy(to, at + <usize>p * row, row)
    memory.fill(to + row, 0, pad)
  }
}

// padRows for rows that lie elsewhere in this memory: the k rows of n f64 from `from` (row-major,
// contiguous) copied to `at` with rows ldb apart, the ldb − n after each set to 0, in one pass (a
// right operand already in memory: W1 in a tape's arena, or in an optimizer pass's band of the
// memory two threads share). Returns allFinite's answer for the rows, found on the way (each
// number loaded and stored whole: the same bits). The two regions must not overlap.
export function padRowsFrom(from: usize, at: usize, k: i32, n: i32, ldb: i32): i32 {
  const row = (<usize>n) << 3
  const stride = (<usize>ldb) << 3
  const pad = stride - row
  let acc0 = f64x2.splat(0)
  let acc1 = f64x2.splat(0)
  let s: f64 = 0
  for (let p = 0; p < k; p++) {
    const src = from + <usize>p * row
    const to = at + <usize>p * stride
    let j = 0
    for (; j + 4 <= n; j += 4) {
      const o = (<usize>j) << 3
      const x = v128.load(src + o)
      const y = v128.load(src + o, 16)
      v128.store(to + o, x)
      v128.store(to + o, y, 16)
      acc0 = f64x2.add(acc0, f64x2.sub(x, x))
      acc1 = f64x2.add(acc1, f64x2.sub(y, y))
    }
    for (; j < n; j++) {
      const x = load<f64>(src + ((<usize>j) << 3))
      store<f64>(to + ((<usize>j) << 3), x)
      s += x - x
    }
    memory.fill(to + row, 0, pad)
  }
  s += f64x2.extract_lane(f64x2.add(acc0, acc1), 0)
  s += f64x2.extract_lane(f64x2.add(acc0, acc1), 1)
  return s == 0 ? 1 : 0
}

// 1 when every one of the len f64 from a on is finite, else 0: x − x is +0 (no bit set) for a
// finite x and NaN otherwise, so the OR of those differences has a bit set exactly when some
// entry is ±∞ or NaN. An OR is a one-cycle dependency from one iteration to the next (a running
// sum of them, four cycles, held the loop to half speed). Run on a right operand just copied into
// memory (still in cache), it replaces a separate JavaScript scan.
export function allFinite(a: usize, len: i32): i32 {
  let acc0 = v128.splat<i64>(0)
  let acc1 = v128.splat<i64>(0)
  let i = 0
  for (; i + 8 <= len; i += 8) {
    const p = a + ((<usize>i) << 3)
    const x0 = v128.load(p)
    const x1 = v128.load(p, 16)
    const x2 = v128.load(p, 32)
    const x3 = v128.load(p, 48)
    acc0 = v128.or(acc0, v128.or(f64x2.sub(x0, x0), f64x2.sub(x1, x1)))
    acc1 = v128.or(acc1, v128.or(f64x2.sub(x2, x2), f64x2.sub(x3, x3)))
  }
  let bad = v128.any_true(v128.or(acc0, acc1))
  for (; i < len; i++) {
    const x = load<f64>(a + ((<usize>i) << 3))
    if (x - x != 0) bad = true
  }
  return bad ? 0 : 1
}

// e^x exactly as V8's Math.exp computes it (fdlibm's __ieee754_exp, as ported in V8's
// src/base/ieee754.cc, including its special case exp(1) = E): the same reduction, polynomial
// and scaling, operation for operation, so a sigmoid computed here equals JavaScript's bit for
// bit (test/tensor/wasmExp.test.ts compares them on millions of arguments).
// @ts-ignore: decorator
@inline
function fdlibmExp(x: f64): f64 {
  const bits = reinterpret<u64>(x)
  let hx = <u32>(bits >> 32)
  const xsb = <i32>(hx >> 31)
  hx &= 0x7fffffff
  if (hx >= 0x40862e42) {
    // |x| ≥ 709.78…: NaN, ±∞, overflow or underflow
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | <u32>bits) != 0) return x + x
      return xsb == 0 ? x : 0.0
    }
    if (x > 7.09782712893383973096e2) return Infinity
    if (x < -7.45133219101941108420e2) return 0.0
  }
  let hi: f64 = 0
  let lo: f64 = 0
  let k: i32 = 0
  if (hx > 0x3fd62e42) {
    // |x| > 0.5·ln2
    if (hx < 0x3ff0a2b2) {
      // and |x| < 1.5·ln2
      if (x == 1.0) return 2.718281828459045
      hi = xsb == 0 ? x - 6.93147180369123816490e-1 : x + 6.93147180369123816490e-1
      lo = xsb == 0 ? 1.90821492927058770002e-10 : -1.90821492927058770002e-10
      k = 1 - xsb - xsb
    } else {
      k = <i32>(1.44269504088896338700 * x + (xsb == 0 ? 0.5 : -0.5))
      const t = <f64>k
      hi = x - t * 6.93147180369123816490e-1
      lo = t * 1.90821492927058770002e-10
    }
    x = hi - lo
  } else if (hx < 0x3e300000) {
    // |x| < 2⁻²⁸
    return 1.0 + x
  }
  const t = x * x
  const twopk =
    k >= -1021
      ? reinterpret<f64>(<u64>(<u32>(0x3ff00000 + (k << 20))) << 32)
      : reinterpret<f64>(<u64>(<u32>(0x3ff00000 + ((k + 1000) << 20))) << 32)
  const c =
    x -
    t *
      (1.66666666666666019037e-1 +
        t *
          (-2.77777777770155933842e-3 +
            t *
              (6.61375632143793436117e-5 +
                t * (-1.65339022054652515390e-6 + t * 4.13813679705723846039e-8))))
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x)
  const y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi)
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 8.988465674311579539e307
    return y * twopk
  }
  return y * twopk * 9.33263618503218878990e-302
}

// e^x for two arguments at once, each lane exactly fdlibmExp's: a lane with 2⁻²⁸ ≤ |x| < 512 and
// x ≠ 1 takes one of fdlibm's three reductions (k = 0; k = ±1 for 0.5·ln2 < |x| < 1.5·ln2; k =
// trunc(x/ln2 ± 0.5) beyond), all written as hi = x − k·ln2HI, lo = k·ln2LO, which is what each
// computes (k = 0 gives hi = x, lo = 0, and its 1 − ((x·c)/(c − 2) − x) is 1 − ((lo − q) − hi)
// with q = (x·c)/(2 − c), since a/(−b) = −(a/b) exactly); the scale 2^k is a normal number
// there. fdlibm picks the branch by the high word of |x|; for positive doubles that order is the
// order of the values, so the bounds are compared as the doubles 0x3fd62e43_00000000 (first |x|
// above 0.5·ln2's word), 0x3ff0a2b2_00000000 and 0x3e300000_00000000 (2⁻²⁸). When either lane is
// outside the fast range (or NaN) the pair goes through fdlibmExp one by one.
// fdlibmExp2's constants, read from memory where they are used: V8 (Node 20) makes a v128.const
// afresh in registers at every use inside a loop (a 64-bit move, a move to xmm and a shuffle: three
// instructions), which was a third of a sigmoid's; a splatting load is one.
const EXP2 = memory.data<f64>([
  3.725290298461914e-9, // 0: 2⁻²⁸
  512.0, // 1
  1.0, // 2
  reinterpret<f64>(0x3ff0a2b200000000), // 3: 1.5·ln2's word
  reinterpret<f64>(0x3fd62e4300000000), // 4: first word above 0.5·ln2's
  reinterpret<f64>(0x8000000000000000), // 5: the sign bit
  0.5, // 6
  1.44269504088896338700, // 7
  6.93147180369123816490e-1, // 8
  1.90821492927058770002e-10, // 9
  -1.65339022054652515390e-6, // 10
  4.13813679705723846039e-8, // 11
  6.61375632143793436117e-5, // 12
  -2.77777777770155933842e-3, // 13
  1.66666666666666019037e-1, // 14
  2.0, // 15
  4503599627371519.0, // 16: 2⁵² + 1023
])

// fdlibmExp lane by lane: fdlibmExp2's rare path, kept out of line (inlined, its registers and
// constants were set up again on every pass of the callers' loops)
function fdlibmExpEach(x: v128): v128 {
  return f64x2(fdlibmExp(f64x2.extract_lane(x, 0)), fdlibmExp(f64x2.extract_lane(x, 1)))
}

// constant `i` of EXP2 in both lanes
// @ts-ignore: decorator
@inline
function exp2c(i: i32): v128 {
  return v128.load64_splat(EXP2 + ((<usize>i) << 3))
}

// @ts-ignore: decorator
@inline
function fdlibmExp2(x: v128): v128 {
  const ax = f64x2.abs(x)
  // NaN fails every ≥ and so falls back as well
  const fast = v128.and(
    v128.and(f64x2.ge(ax, exp2c(0)), f64x2.lt(ax, exp2c(1))),
    f64x2.ne(x, exp2c(2)),
  )
  if (!i64x2.all_true(fast)) return fdlibmExpEach(x)
  const big = f64x2.ge(ax, exp2c(3))
  const notSmall = f64x2.ge(ax, exp2c(4))
  // ±0.5 and ±1 with x's sign
  const sign = v128.and(x, exp2c(5))
  const half = v128.or(exp2c(6), sign)
  const one = v128.or(exp2c(2), sign)
  const kBig = f64x2.trunc(f64x2.add(f64x2.mul(exp2c(7), x), half))
  // lanes: big → kBig, mid → ±1, small → +0 (masks are all-ones where set)
  const kf = v128.and(v128.bitselect(kBig, one, big), notSmall)
  const hi = f64x2.sub(x, f64x2.mul(kf, exp2c(8)))
  const lo = f64x2.mul(kf, exp2c(9))
  const r = f64x2.sub(hi, lo)
  const t = f64x2.mul(r, r)
  let p = f64x2.add(
    exp2c(10),
    f64x2.mul(t, exp2c(11)),
  )
  p = f64x2.add(exp2c(12), f64x2.mul(t, p))
  p = f64x2.add(exp2c(13), f64x2.mul(t, p))
  p = f64x2.add(exp2c(14), f64x2.mul(t, p))
  const c = f64x2.sub(r, f64x2.mul(t, p))
  const q = f64x2.div(f64x2.mul(r, c), f64x2.sub(exp2c(15), c))
  const y = f64x2.sub(exp2c(2), f64x2.sub(f64x2.sub(lo, q), hi))
  // 2^k = (k + 1023) << 52: adding 2⁵² puts the integer k + 1023 (0 < k + 1023 < 2⁵²) in the
  // low bits of the double's pattern, exactly
  const biased = f64x2.add(kf, exp2c(16))
  const twopk = i64x2.shl(biased, 52)
  return f64x2.mul(y, twopk)
}

// out[i] = e^(x[i]) for len numbers (V8's Math.exp bit for bit; in place when out = x).
export function expInto(x: usize, out: usize, len: i32): void {
  let i = 0
  for (; i + 2 <= len; i += 2) {
    const o = (<usize>i) << 3
    v128.store(out + o, fdlibmExp2(v128.load(x + o)))
  }
  if (i < len) {
    const o = (<usize>i) << 3
    store<f64>(out + o, fdlibmExp(load<f64>(x + o)))
  }
}

// z[i, j] = 1 / (1 + e^−(z[i, j] + bias[j])) in place for an n×h z and h biases: the sigmoid
// of an affine layer, as JavaScript's `1 / (1 + Math.exp(-(z + b)))`, bit for bit.
export function sigmoidBias(z: usize, bias: usize, n: i32, h: i32): void {
  let p = z
  for (let i = 0; i < n; i++) {
    let j = 0
    for (; j + 4 <= h; j += 4) {
      const v = f64x2.add(v128.load(p), v128.load(bias + ((<usize>j) << 3)))
      const w = f64x2.add(v128.load(p, 16), v128.load(bias + ((<usize>j) << 3), 16))
      const e = fdlibmExp2(f64x2.neg(v))
      const f = fdlibmExp2(f64x2.neg(w))
      const one = exp2c(2)
      v128.store(p, f64x2.div(one, f64x2.add(one, e)))
      v128.store(p, f64x2.div(one, f64x2.add(one, f)), 16)
      p += 32
    }
    for (; j + 2 <= h; j += 2) {
      const v = f64x2.add(v128.load(p), v128.load(bias + ((<usize>j) << 3)))
      const e = fdlibmExp2(f64x2.neg(v))
      const one = exp2c(2)
      v128.store(p, f64x2.div(one, f64x2.add(one, e)))
      p += 16
    }
    if (j < h) {
      const v = load<f64>(p) + load<f64>(bias + ((<usize>j) << 3))
      store<f64>(p, 1.0 / (1.0 + fdlibmExp(-v)))
      p += 8
    }
  }
}

// out[i] = x[i] + a · y[i] for len entries (out may be x): an SGD step's p + a·u. One multiply
// and one add, each rounded, in that order — JavaScript's `x[i] + a * y[i]` bit for bit (wasm
// never fuses them).
export function addScaled(x: usize, y: usize, a: f64, out: usize, len: i32): void {
  const av = f64x2.splat(a)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const o = (<usize>i) << 3
    const s0 = f64x2.add(v128.load(x + o), f64x2.mul(av, v128.load(y + o)))
    const s1 = f64x2.add(v128.load(x + o, 16), f64x2.mul(av, v128.load(y + o, 16)))
    v128.store(out + o, s0)
    v128.store(out + o, s1, 16)
  }
  for (; i < len; i++) {
    const o = (<usize>i) << 3
    store<f64>(out + o, load<f64>(x + o) + a * load<f64>(y + o))
  }
}

// z[i, j] = max(0, z[i, j] + bias[j]) in place for an n×h z and h biases: the ReLU of an affine
// layer, as JavaScript's `v > 0 ? v : 0` on v = z + b (NaN and −0 give +0), bit for bit: the
// sum masked by v > 0.
export function reluBias(z: usize, bias: usize, n: i32, h: i32): void {
  const zero = f64x2.splat(0.0)
  let p = z
  for (let i = 0; i < n; i++) {
    let j = 0
    for (; j + 2 <= h; j += 2) {
      const v = f64x2.add(v128.load(p), v128.load(bias + ((<usize>j) << 3)))
      v128.store(p, v128.and(v, f64x2.gt(v, zero)))
      p += 16
    }
    if (j < h) {
      const v = load<f64>(p) + load<f64>(bias + ((<usize>j) << 3))
      store<f64>(p, v > 0 ? v : 0.0)
      p += 8
    }
  }
}

// d = g ⊙ act′ for an n×m layer from its activation's output y (act 0: relu, g where y > 0 else
// +0; 1: sigmoid, g·(1 − y)·y; 2: tanh, g·(1 − y·y)), each as JavaScript's expression in its
// order; with sums ≠ 0 also sums[j] += d[i, j] for i = 0, 1, … in turn (the bias gradient, added
// into what sums holds). d may be g.
export function activationBack(
  act: i32,
  g: usize,
  y: usize,
  d: usize,
  n: i32,
  m: i32,
  sums: usize,
): void {
  const zero = f64x2.splat(0.0)
  const one = f64x2.splat(1.0)
  let o: usize = 0
  for (let i = 0; i < n; i++) {
    let j = 0
    for (; j + 2 <= m; j += 2) {
      const gv = v128.load(g + o)
      const yv = v128.load(y + o)
      let dv: v128
      if (act == 0) dv = v128.and(gv, f64x2.gt(yv, zero))
      else if (act == 1) dv = f64x2.mul(f64x2.mul(gv, f64x2.sub(one, yv)), yv)
      else dv = f64x2.mul(gv, f64x2.sub(one, f64x2.mul(yv, yv)))
      v128.store(d + o, dv)
      if (sums != 0) {
        const s = sums + ((<usize>j) << 3)
        v128.store(s, f64x2.add(v128.load(s), dv))
      }
      o += 16
    }
    if (j < m) {
      const gs = load<f64>(g + o)
      const ys = load<f64>(y + o)
      let ds: f64
      if (act == 0) ds = ys > 0 ? gs : 0.0
      else if (act == 1) ds = gs * (1.0 - ys) * ys
      else ds = gs * (1.0 - ys * ys)
      store<f64>(d + o, ds)
      if (sums != 0) {
        const s = sums + ((<usize>j) << 3)
        store<f64>(s, load<f64>(s) + ds)
      }
      o += 8
    }
  }
}

// Packs nnz CSR entries (colIdx i32, vals f64) into out as col | level << 16, where the entry's
// 8-bit level k (1…255) gives its value exactly as (k·mul) / div (images: byte·(1/255), byte /
// 255 or the byte itself), and returns nnz — or the position of the first entry that has no such
// level or a column past 65,535 (out is then written up to there). gatheredRows.ts keeps a data
// set's rows so: 4 bytes an entry where column and value took 12.
export function csrPack(colIdx: usize, vals: usize, nnz: i32, mul: f64, div: f64, out: usize): i32 {
  const inv = div / mul
  for (let q = 0; q < nnz; q++) {
    const c = load<i32>(colIdx + ((<usize>q) << 2))
    const v = load<f64>(vals + ((<usize>q) << 3))
    const k = nearest(v * inv)
    if (!(k >= 1 && k <= 255) || (k * mul) / div != v || <u32>c > 0xffff) return q
    store<i32>(out + ((<usize>q) << 2), c | (<i32>k << 16))
  }
  return nnz
}

// csrPack's inverse in place: colIdx[q] (packed) becomes the column, vals[q] (k·mul) / div —
// the same bits the entry had. SIMD for div = 1 (a product per entry, four entries a round).
export function csrUnpack(colIdx: usize, vals: usize, nnz: i32, mul: f64, div: f64): void {
  let q = 0
  if (div == 1) {
    const low = i32x4.splat(0xffff)
    const m = f64x2.splat(mul)
    for (; q + 4 <= nnz; q += 4) {
      const pc = colIdx + ((<usize>q) << 2)
      const p = v128.load(pc)
      v128.store(pc, v128.and(p, low))
      const k = i32x4.shr_u(p, 16)
      const pv = vals + ((<usize>q) << 3)
      v128.store(pv, f64x2.mul(f64x2.convert_low_i32x4_u(k), m))
      const hi = i8x16.shuffle(k, k, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)
      v128.store(pv + 16, f64x2.mul(f64x2.convert_low_i32x4_u(hi), m))
    }
  }
  for (; q < nnz; q++) {
    const pc = colIdx + ((<usize>q) << 2)
    const p = load<i32>(pc)
    store<i32>(pc, p & 0xffff)
    store<f64>(vals + ((<usize>q) << 3), (<f64>(<u32>p >>> 16) * mul) / div)
  }
}

