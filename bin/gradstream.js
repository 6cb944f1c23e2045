#!/usr/bin/env node
// The `gradstream` command: runs the built JavaScript in dist/ (`npm run build`; `prepare` builds
// it on `npm install` in this repository and before `npm pack`). The command line's own
// packages are optional peers of the library, so a missing one is named here.
const cliPackages = ['commander', 'cli-progress']
let runCli
try {
  ;({ runCli } = await import('../dist/src/cli/main.js'))
} catch (e) {
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String(e?.message))?.[1] ?? ''
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e
  if (missing.includes('/dist/src/cli/main.js')) {
    console.error('gradstream: dist/ is missing: run `npm run build` in the gradstream folder')
  } else if (cliPackages.includes(missing)) {
    console.error(
      `gradstream: the command line needs the packages ${cliPackages.join(' and ')} ` +
        `(optional for the library): npm install ${cliPackages.join(' ')}`,
    )
  } else throw e
  process.exit(1)
}
process.exitCode = await runCli(process.argv.slice(2))
