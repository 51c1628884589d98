import type { Readable } from 'node:stream';

/** Thrown by {@link readBodyUpTo} when the body is larger than the limit. */
export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`the body exceeds ${limit} bytes`);
  }
}

/**
 * Reads a whole body (a client request or an upstream response) into memory, refusing past
 * `limit` bytes: reading then stops (the stream is paused, its remainder unread; the caller
 * destroys it, or closes the client connection after answering) and the promise rejects with
 * {@link BodyTooLargeError}. A stream error rejects with that error. Shared by every
 * feature that must see a whole body (transformations, validation, the cache).
 */
export function readBodyUpTo(raw: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        cleanup();
        raw.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, n));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
  });
}
