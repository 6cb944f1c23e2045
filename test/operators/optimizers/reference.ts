/**
 * Reference optimizers written anew from their published definitions, one parameter vector at a
 * time, in the order of operations of the source they follow:
 * - torch.optim (torch/optim/{sgd,adagrad,rmsprop,adam,adamw}.py, single-tensor code path,
 *   default flags: no maximize, no amsgrad, dampening 0, lr_decay 0, centered false),
 * - optax (optax/_src/transform.py: scale_by_lion, add_decayed_weights, scale_by_learning_rate),
 * - the book's common/optimizer.py (SGD, Momentum, AdaGrad, RMSprop, Adam).
 * They update `p` in place, as torch's `step()` and the book's `update()` do.
 */
export type Ref = (p: Float64Array, g: Float64Array) => void

export function torchSgd(lr: number, momentum = 0, nesterov = false): Ref {
  let buf: Float64Array | null = null
  return (p, g) => {
    const d = Float64Array.from(g)
    if (momentum !== 0) {
      if (buf === null)
        buf = Float64Array.from(d) // torch: buf = clone(grad) on the first step
      else for (let i = 0; i < d.length; i++) buf[i] = buf[i] * momentum + d[i] // mul_(μ).add_(g)
      if (nesterov) for (let i = 0; i < d.length; i++) d[i] = d[i] + momentum * buf[i]
      else d.set(buf)
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i] - lr * d[i] // add_(d, alpha=-lr)
  }
}

export function torchAdagrad(lr: number, eps = 1e-10): Ref {
  let sum: Float64Array | null = null
  return (p, g) => {
    sum ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      sum[i] = sum[i] + g[i] * g[i] // addcmul_(g, g, value=1)
      const std = Math.sqrt(sum[i]) + eps
      p[i] = p[i] - lr * (g[i] / std) // addcdiv_(g, std, value=-clr)
    }
  }
}

export function torchRmsprop(lr: number, alpha = 0.99, eps = 1e-8): Ref {
  let sq: Float64Array | null = null
  return (p, g) => {
    sq ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      sq[i] = sq[i] * alpha + (1 - alpha) * (g[i] * g[i]) // mul_(α).addcmul_(g, g, value=1-α)
      const avg = Math.sqrt(sq[i]) + eps
      p[i] = p[i] - lr * (g[i] / avg)
    }
  }
}

/** torch.optim.Adam; with `weightDecay` it is torch.optim.AdamW (decay applied first). */
export function torchAdam(lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0): Ref {
  let m: Float64Array | null = null
  let v: Float64Array | null = null
  let step = 0
  return (p, g) => {
    m ??= new Float64Array(p.length)
    v ??= new Float64Array(p.length)
    step += 1
    if (weightDecay !== 0) for (let i = 0; i < p.length; i++) p[i] = p[i] * (1 - lr * weightDecay)
    const bc1 = 1 - b1 ** step
    const bc2 = 1 - b2 ** step
    const stepSize = lr / bc1
    const bc2Sqrt = Math.sqrt(bc2)
    for (let i = 0; i < p.length; i++) {
      m[i] = m[i] + (1 - b1) * (g[i] - m[i]) // lerp_(g, 1-β1)
      v[i] = v[i] * b2 + (1 - b2) * (g[i] * g[i])
      const denom = Math.sqrt(v[i]) / bc2Sqrt + eps
      p[i] = p[i] - stepSize * (m[i] / denom)
    }
  }
}

/** optax.lion: sign((1−β1)g + β1·m), m ← (1−β2)g + β2·m, then + λp, then × −lr. */
export function optaxLion(lr: number, b1 = 0.9, b2 = 0.99, weightDecay = 1e-3): Ref {
  let mu: Float64Array | null = null
  return (p, g) => {
    mu ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      let u = Math.sign((1 - b1) * g[i] + b1 * mu[i])
      mu[i] = (1 - b2) * g[i] + b2 * mu[i]
      u = u + weightDecay * p[i]
      p[i] = p[i] + -lr * u
    }
  }
}

// ---- the book's common/optimizer.py ------------------------------------------------------------

export function bookSgd(lr: number): Ref {
  return (p, g) => {
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i]
  }
}

export function bookMomentum(lr: number, momentum = 0.9): Ref {
  let v: Float64Array | null = null
  return (p, g) => {
    v ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      v[i] = momentum * v[i] - lr * g[i]
      p[i] += v[i]
    }
  }
}

export function bookAdagrad(lr: number): Ref {
  let h: Float64Array | null = null
  return (p, g) => {
    h ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      h[i] += g[i] * g[i]
      p[i] -= (lr * g[i]) / (Math.sqrt(h[i]) + 1e-7)
    }
  }
}

export function bookRmsprop(lr: number, decayRate = 0.99): Ref {
  let h: Float64Array | null = null
  return (p, g) => {
    h ??= new Float64Array(p.length)
    for (let i = 0; i < p.length; i++) {
      h[i] *= decayRate
      h[i] += (1 - decayRate) * g[i] * g[i]
      p[i] -= (lr * g[i]) / (Math.sqrt(h[i]) + 1e-7)
    }
  }
}

export function bookAdam(lr: number, beta1 = 0.9, beta2 = 0.999): Ref {
  let m: Float64Array | null = null
  let v: Float64Array | null = null
  let iter = 0
  return (p, g) => {
    m ??= new Float64Array(p.length)
    v ??= new Float64Array(p.length)
    iter += 1
    const lrT = (lr * Math.sqrt(1.0 - beta2 ** iter)) / (1.0 - beta1 ** iter)
    for (let i = 0; i < p.length; i++) {
      m[i] += (1 - beta1) * (g[i] - m[i])
      v[i] += (1 - beta2) * (g[i] ** 2 - v[i])
      p[i] -= (lrT * m[i]) / (Math.sqrt(v[i]) + 1e-7)
    }
  }
}

/** Runs a reference over a gradient sequence from p0; returns p after each step. */
export function refTrajectory(ref: Ref, p0: Float64Array, grads: readonly Float64Array[]) {
  const p = Float64Array.from(p0)
  return grads.map((g) => (ref(p, g), Float64Array.from(p)))
}
