import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of cookie values (AES-256-GCM, 96-bit random IV, 128-bit tag), so the
 * browser holds the session but can neither read nor change it. The key is derived from the
 * configured secret with HKDF-SHA-256 (RFC 5869) and a purpose label, so one secret never keys
 * two different uses. Format: base64url(iv | tag | ciphertext).
 */
export class SealedCookie {
  readonly #key: Buffer;

  constructor(secret: string, purpose: string) {
    this.#key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), Buffer.from(`tollgate ${purpose}`, 'utf8'), 32));
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  /** The sealed value, or null when it was not sealed with this key or was altered. */
  open<T>(text: string): T | null {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length < 29) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      return JSON.parse(plain) as T;
    } catch {
      return null;
    }
  }
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Cookie header without the cookies of `names` (null when nothing is left). */
export function withoutCookies(header: string | string[] | undefined, names: ReadonlySet<string>): string | null {
  if (header === undefined) return null;
  const kept = (Array.isArray(header) ? header.join('; ') : header)
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !names.has(p.slice(0, Math.max(0, p.indexOf('='))).trim()));
  return kept.length > 0 ? kept.join('; ') : null;
}
