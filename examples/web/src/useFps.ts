import { useEffect, useState } from 'react'

/** Animation frames per second actually delivered to the page, measured over the last second. */
export function useFps(): number {
  const [fps, setFps] = useState(0)
  useEffect(() => {
    let frames = 0
    let t0 = performance.now()
    let id = requestAnimationFrame(function tick(now) {
      frames++
      if (now - t0 >= 1000) {
        setFps(Math.round((frames * 1000) / (now - t0)))
        frames = 0
        t0 = now
      }
      id = requestAnimationFrame(tick)
    })
    return () => cancelAnimationFrame(id)
  }, [])
  return fps
}
