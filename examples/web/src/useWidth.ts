import { useEffect, useState } from 'react'

/** The window's inner width, updated on resize (charts size themselves from it). */
export function useWidth(): number {
  const [width, setWidth] = useState(() => window.innerWidth)
  useEffect(() => {
    const on = () => setWidth(window.innerWidth)
    addEventListener('resize', on)
    return () => removeEventListener('resize', on)
  }, [])
  return width
}
