/**
 * Secrets the gateway needs in clear (TLS private keys), which therefore cannot be stored as
 * hashes like API keys. They never leave the server through the admin API: reads and exports
 * show REDACTED_SECRET in their place, and applying the marker back keeps the stored value, so an
 * export re-applies as "unchanged".
 */
export const REDACTED_SECRET = '<redacted>';

/** Spec paths of the secret fields of each kind. */
export const SECRET_SPEC_PATHS: Readonly<Record<string, ReadonlyArray<readonly string[]>>> = {
  Certificate: [['privateKey']],
  Upstream: [['tls', 'clientKey']],
};

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns a copy of `spec` with the value at `path` replaced by `f(old)`; shares untouched branches. */
function updateAt(spec: Json, path: readonly string[], f: (old: unknown) => unknown): Json {
  const [head, ...rest] = path;
  if (head === undefined || !(head in spec)) return spec;
  const child = spec[head];
  if (rest.length === 0) return { ...spec, [head]: f(child) };
  return isObject(child) ? { ...spec, [head]: updateAt(child, rest, f) } : spec;
}

function valueAt(spec: unknown, path: readonly string[]): unknown {
  let cur = spec;
  for (const p of path) cur = isObject(cur) ? cur[p] : undefined;
  return cur;
}

/** A document with every secret field replaced by REDACTED_SECRET. */
export function redactSecrets<R extends { kind: string; spec: unknown }>(resource: R): R {
  const paths = SECRET_SPEC_PATHS[resource.kind];
  if (!paths || !isObject(resource.spec)) return resource;
  let spec = resource.spec;
  for (const path of paths) spec = updateAt(spec, path, (old) => (old === undefined ? old : REDACTED_SECRET));
  return { ...resource, spec };
}

/**
 * A submitted document value with every REDACTED_SECRET marker replaced by the stored resource's
 * value at the same path. Markers with nothing stored stay, and fail validation as non-PEM.
 */
export function restoreSecrets(value: unknown, stored: { kind: string; spec: unknown } | undefined): unknown {
  if (!isObject(value) || typeof value.kind !== 'string' || !isObject(value.spec) || stored === undefined) return value;
  const paths = SECRET_SPEC_PATHS[value.kind];
  if (!paths) return value;
  let spec = value.spec;
  for (const path of paths) {
    const kept = valueAt(stored.spec, path);
    if (kept !== undefined) spec = updateAt(spec, path, (old) => (old === REDACTED_SECRET ? kept : old));
  }
  return { ...value, spec };
}

/** Whether a submitted document value carries a REDACTED_SECRET marker in one of its secret fields. */
export function hasRedactedSecret(value: unknown): boolean {
  if (!isObject(value) || typeof value.kind !== 'string') return false;
  return (SECRET_SPEC_PATHS[value.kind] ?? []).some((path) => valueAt(value.spec, path) === REDACTED_SECRET);
}
