import { Subject } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { sampleFrames } from '../../src/remote/sampleFrames.js'
import { toStore } from '../../src/remote/toStore.js'

const ts = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected))

describe('sampleFrames', () => {
  it('passes the first value, then the newest per frame, and the last before completion', () => {
    ts().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const states = hot('  ab-cde---f-g|')
      const frames = cold('---x') // a frame ends 3 ticks after it starts
      // a passes at once; each frame's end delivers the newest value seen (c arrives as the
      // first frame ends, e by the second's end, f just as the third ends); g, pending when the
      // source completes, is flushed at the next frame's end together with the completion
      expectObservable(states.pipe(sampleFrames(frames))).toBe('a--c--e--f--(g|)')
      expectSubscriptions(states.subscriptions).toBe('^-----------!')
    })
  })

  it('falls back to a 60 Hz timer without requestAnimationFrame (Node)', async () => {
    expect(typeof globalThis.requestAnimationFrame).toBe('undefined')
    const source = new Subject<number>()
    const seen: number[] = []
    const done = new Promise<void>((r) =>
      source.pipe(sampleFrames()).subscribe({ next: (v) => seen.push(v), complete: r }),
    )
    for (let i = 0; i < 1000; i++) source.next(i) // all within one frame
    await new Promise((r) => setTimeout(r, 40)) // > 1000/60 ms: the frame has ended
    expect(seen).toEqual([0, 999])
    source.next(1000)
    source.complete()
    await done
    expect(seen).toEqual([0, 999, 1000])
  })
})

describe('toStore', () => {
  it('subscribes with the first listener, snapshots the latest value, unsubscribes with the last', () => {
    const source = new Subject<number>()
    const store = toStore(source, 'none')
    expect(store.getSnapshot()).toBe('none')
    expect(store.status()).toBe('idle')
    expect(source.observed).toBe(false)
    let calls = 0
    const off1 = store.subscribe(() => calls++)
    const off2 = store.subscribe(() => calls++)
    expect(source.observed).toBe(true)
    source.next(1)
    expect(store.getSnapshot()).toBe(1)
    expect(calls).toBe(2)
    off1()
    expect(source.observed).toBe(true)
    off2()
    expect(source.observed).toBe(false) // the run stops when nobody watches
    expect(store.status()).toBe('idle')
  })

  it('records completion and errors', () => {
    const a = new Subject<number>()
    const sa = toStore(a, 0)
    sa.subscribe(() => {})
    a.complete()
    expect(sa.status()).toBe('complete')
    const b = new Subject<number>()
    const sb = toStore(b, 0)
    sb.subscribe(() => {})
    b.error(new Error('boom'))
    expect(sb.status()).toBe('error')
    expect(sb.error()).toEqual(new Error('boom'))
  })
})
