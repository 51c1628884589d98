import type { Readable } from 'node:stream';

/** Thrown when a backend body passes the aggregate's `maxBodyBytes`. */
export class BodyOverLimitError extends Error {
  constructor(readonly limit: number) {
    super(`the body is larger than ${limit} bytes`);
    this.name = 'BodyOverLimitError';
  }
}

/**
 * Reads a response body into memory, at most `limit` bytes: past it the stream is destroyed
 * (so the connection is not reused for the rest) and the promise rejects with
 * {@link BodyOverLimitError}. A declared Content-Length over the limit fails before any read.
 * Stream errors (reset, abort by the budget) reject with the stream's error.
 */
export function readBodyCapped(body: Readable, limit: number, declaredLength: string | string[] | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = typeof declaredLength === 'string' ? Number(declaredLength) : NaN;
    if (Number.isFinite(declared) && declared > limit) {
      body.on('error', () => undefined);
      body.destroy();
      reject(new BodyOverLimitError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      body.off('data', onData);
      if (err !== null) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        body.on('error', () => undefined);
        body.destroy();
        finish(new BodyOverLimitError(limit));
        return;
      }
      chunks.push(c);
    };
    body.on('data', onData);
    body.once('end', () => finish(null));
    body.once('error', (err: Error) => finish(err));
    // A stream destroyed without an error (aborted) ends with close only.
    body.once('close', () => finish(done ? null : new Error('the body stream closed early')));
  });
}
