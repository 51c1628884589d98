/** What a redacted value is replaced by. */
export const REDACTED = '[REDACTED]';

/**
 * Field names whose values never reach the audit log: keys and their digests (a digest of a short
 * declared key can be brute-forced), secrets, passwords, tokens and private keys, in any casing
 * and as part of a longer name (`hmacSecret`, `privateKey`, `accessToken`).
 */
const SECRET_NAME = /^(key|hash)$|key$|secret|password|passwd|token|credential|private/i;

/** A PEM private key anywhere in a string value (RFC 7468 labels: PRIVATE KEY, RSA PRIVATE KEY, …). */
const PEM_PRIVATE = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * A JSON value with secret fields replaced by `[REDACTED]`. Arrays and objects are walked; a
 * field named like a secret is redacted whatever its type (a `keys` array is kept, its items'
 * `key`/`hash` are not).
 *
 * Only what changes is copied: an array or plain object holding nothing to redact is returned
 * itself (its parents are copied when a descendant changes). The audit entry of an apply passes
 * every changed resource through here, and copying each whole, secrets or not, allocated 63 MB
 * per apply of 10,000 Apis on the serving thread of an embedded gateway (#16). Other objects
 * (class instances) are still copied as plain objects of their own fields, as before.
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return PEM_PRIVATE.test(value) ? REDACTED : value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const r = redact(v);
      if (out === undefined && r !== v) out = value.slice(0, i);
      if (out !== undefined) out.push(r);
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    if (value instanceof Date) return value.toISOString();
    const o = value as Record<string, unknown>;
    const proto = Object.getPrototypeOf(o) as unknown;
    const plain = proto === Object.prototype || proto === null;
    let out: Record<string, unknown> | undefined = plain ? undefined : {};
    for (const name of Object.keys(o)) {
      const v = o[name];
      const r = SECRET_NAME.test(name) && name !== 'keys' ? REDACTED : redact(v);
      if (out === undefined && r !== v) {
        // The first change: the fields before it, unchanged, then the rest as they come.
        out = {};
        for (const k of Object.keys(o)) {
          if (k === name) break;
          out[k] = o[k];
        }
      }
      if (out !== undefined) out[name] = r;
    }
    return out ?? value;
  }
  return value;
}
