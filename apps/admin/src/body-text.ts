import type { FastifyRequest } from 'fastify';
import { ProblemError } from './problem.js';

/** Strict: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD. A leading BOM is dropped (RFC 8259 §8.1 lets parsers ignore it). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Charsets whose bytes are UTF-8 (US-ASCII is a subset). */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * The text of a JSON or YAML body. Both are UTF-8 on the wire (RFC 8259 §8.1; RFC 9512 §3.3 for
 * YAML), so another declared charset is 415 and bytes that are not UTF-8 are 400 INVALID_BODY:
 * decoded leniently, an ISO-8859-1 "café" was stored as "caf\uFFFD" without a word.
 */
export function bodyText(request: FastifyRequest, bytes: Buffer): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
    throw new ProblemError('UNSUPPORTED_MEDIA_TYPE', `the body must be UTF-8 (charset=${charset} is not accepted): JSON and YAML are exchanged in UTF-8`);
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ProblemError('INVALID_BODY', 'the body is not valid UTF-8');
  }
}
