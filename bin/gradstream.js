#!/usr/bin/env node
// The `gradstream` command: runs the built JavaScript in dist/ (`npm run build`; `prepare` builds
// it on `npm install` in this repository and before `npm pack`). The command line's own
// packages are optional peers of the library, so a missing one is named here. It runs itself
// once more in a child node process with `--initial-old-space-size=64` (why, and how signals and
// the exit status pass through: src/cli/relaunchWithOldSpace.ts).
import { fileURLToPath } from 'node:url'

const cliPackages = ['commander', 'cli-progress']
const { relaunchWithOldSpace } = await load('relaunch.js')
if (!relaunchWithOldSpace(fileURLToPath(import.meta.url), process.argv.slice(2))) {
  const { runCli } = await load('cli.js')
  process.exitCode = await runCli(process.argv.slice(2))
}

/** dist/lib/`file`, or exit 1 naming what is missing (dist/ or an optional package). */
async function load(file) {
  try {
    return await import(`../dist/lib/${file}`)
  } catch (e) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String(e?.message))?.[1] ?? ''
    if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e
    if (missing.includes(`/dist/lib/${file}`)) {
      console.error('gradstream: dist/ is missing: run `npm run build` in the gradstream folder')
    } else if (cliPackages.includes(missing)) {
      console.error(
        `gradstream: the command line needs the packages ${cliPackages.join(' and ')} ` +
          `(optional for the library): npm install ${cliPackages.join(' ')}`,
      )
    } else throw e
    process.exit(1)
  }
}
