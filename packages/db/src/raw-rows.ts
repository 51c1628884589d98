/**
 * The rows of a raw `execute`: node-postgres and PGlite both return `{ rows }`, which drizzle
 * types per driver, so callers over either driver read them through this one helper.
 */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows?: T[] }).rows ?? (result as T[]);
}
