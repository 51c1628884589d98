import { createHash, timingSafeEqual } from 'node:crypto';
import { parseDictionary } from 'structured-headers';

/** Digest algorithms of RFC 9530 §5 the gateway checks (the insecure `md5`, `sha` are not accepted). */
const ALGORITHMS: Readonly<Record<string, string>> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/**
 * Whether `body` matches the `Content-Digest` field (RFC 9530 §2): every sha-256 / sha-512 member
 * must match, and at least one must be present (unknown algorithms are ignored, §2).
 */
export function contentDigestMatches(field: string, body: Buffer): boolean {
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(field);
  } catch {
    return false;
  }
  let checked = 0;
  for (const [alg, member] of dict) {
    const hash = ALGORITHMS[alg];
    if (hash === undefined) continue;
    if (!(member[0] instanceof ArrayBuffer)) return false;
    const expected = Buffer.from(member[0]);
    const actual = createHash(hash).update(body).digest();
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return false;
    checked += 1;
  }
  return checked > 0;
}
