/**
 * Teardowns of gradstream's threads (the product helper registers its stop here), run by
 * `closeWorkers`. Its own module, free of Node imports, so the browser-safe entry can register
 * without reaching the worker pool (poolInternals, Node only).
 */
export const closers = new Set<() => void>()
