/**
 * Shared by `serveStates` and the CLI's `--serve`: which addresses are loopback, which names a
 * `Host` header may carry, the `cors` option checked, the token's digest.
 */
import { createHash } from 'node:crypto'
import { hostname as machineName, networkInterfaces } from 'node:os'
import { show } from '../errors.js'

/** The SHA-256 digest of a token (compared in constant time). */
export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest()

/** Whether `host` listens on loopback only. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** The host name of a `Host` header (`[::1]:8080` → `::1`), lower case, no trailing dot. */
export const hostNameOf = (header: string): string => {
  const h = header.trim().toLowerCase()
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d*$/, '')
  return name.replace(/\.$/, '')
}

/** The names a `Host` header may carry for a server listening on `host`. */
export function hostNames(host: string, extra: readonly string[]): Set<string> {
  const names = new Set([
    hostNameOf(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host),
    'localhost',
    '127.0.0.1',
    '::1',
  ])
  for (const h of extra) names.add(hostNameOf(h))
  if (host === '0.0.0.0' || host === '::') {
    names.add(machineName().toLowerCase())
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) names.add(a.address.toLowerCase())
    }
  }
  return names
}

/** The `cors` option as a set of origins (`scheme://host[:port]`, or `*`). */
export function checkOrigins(cors: string | readonly string[] | undefined): Set<string> {
  const list = cors === undefined ? [] : typeof cors === 'string' ? [cors] : cors
  const ok = (o: unknown) => o === '*' || (typeof o === 'string' && /^https?:\/\/[^/\s]+$/.test(o))
  if (!Array.isArray(list) || !list.every(ok)) {
    const bad = Array.isArray(list) ? list.find((o) => !ok(o)) : cors
    throw new TypeError(
      `serveStates: cors: expected origins such as "http://127.0.0.1:5173" or "*", got ${typeof bad === 'string' ? JSON.stringify(bad) : show(bad)}`,
    )
  }
  return new Set(list)
}
