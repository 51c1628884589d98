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
 * A deep copy of a JSON value with secret fields replaced by `[REDACTED]`. Arrays and objects are
 * walked; a field named like a secret is redacted whatever its type (a `keys` array is kept, its
 * items' `key`/`hash` are not).
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return PEM_PRIVATE.test(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === 'object') {
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(value)) out[name] = SECRET_NAME.test(name) && name !== 'keys' ? REDACTED : redact(v);
    return out;
  }
  return value;
}
