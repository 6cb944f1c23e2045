/**
 * What `f` throws, as `"Name: message"` (or `"no error"`), for tests that compare whole
 * error texts: the class and the wording in one string.
 */
export function thrown(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
  return 'no error'
}

/** What `f` throws, its message alone (or `"no error"`). */
export function thrownMessage(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return (e as Error).message
  }
  return 'no error'
}
