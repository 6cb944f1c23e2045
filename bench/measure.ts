// One measurement in a fresh process (so contenders do not share a JIT, heap or thread pool):
//   node --import tsx bench/measure.ts <module path> <export name> '<json options>'
// imports the module, awaits export(options) and prints `RESULT <json>` on the last line.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const [file, name, json] = process.argv.slice(2)
const mod = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>
const fn = mod[name]
if (typeof fn !== 'function') throw new Error(`measure: ${file} exports no function ${name}`)
const result = await (fn as (o: unknown) => unknown)(JSON.parse(json ?? '{}'))
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
