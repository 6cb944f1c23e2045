import { StrictMode, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { DataPage } from './data/DataPage.js'
import { DescentPage } from './descent/DescentPage.js'
import { LivePage } from './live/LivePage.js'
import { MnistPage } from './mnist/MnistPage.js'

const pages = {
  descent: { title: 'Descent', Page: DescentPage },
  mnist: { title: 'MNIST', Page: MnistPage },
  data: { title: 'Your data', Page: DataPage },
  live: { title: 'Live', Page: LivePage },
} as const
type PageName = keyof typeof pages

const current = (): PageName => {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0]
  return name in pages ? (name as PageName) : 'descent'
}

function App() {
  const [page, setPage] = useState<PageName>(current())
  useEffect(() => {
    const on = () => setPage(current())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  const { Page } = pages[page]
  return (
    <>
      <header>
        <strong>gradstream</strong>
        {(Object.keys(pages) as PageName[]).map((p) => (
          <a
            key={p}
            href={`#/${p}`}
            className={p === page ? 'active' : ''}
            data-testid={`nav-${p}`}
          >
            {pages[p].title}
          </a>
        ))}
      </header>
      <main>
        <Page />
      </main>
    </>
  )
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
