import { describe, expect, it } from 'vitest'
import { main } from '../../examples/lrFromObservable.js'

describe('example: a learning rate changed from another Observable mid-run', () => {
  it('uses 0.01 until the timer fires and 0.2 after, switching once, strictly mid-run', async () => {
    const { states, changedAt, text } = await main()
    expect(states).toHaveLength(301)
    // the timer starts at step 10 and fires 20 ms later; ≥ 2 ms between chunks of 10 steps puts
    // that before step 300 (29 more chunks take ≥ 58 ms)
    expect(changedAt).toBeGreaterThan(10)
    expect(changedAt).toBeLessThan(300)
    states.slice(1).forEach((s) => expect(s.lr).toBe(s.step < changedAt ? 0.01 : 0.2))
    expect(text).toContain(`then 0.2 from step ${changedAt}`)
  })
})
