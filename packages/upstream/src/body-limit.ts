import { Transform, type TransformCallback } from 'node:stream';
import { BodyTooLargeError } from './errors.js';

/**
 * Counts a streamed (chunked) request body and fails the stream once it passes `maxBytes`, so an
 * oversized body is cut off mid-stream instead of being forwarded whole. Bodies with a
 * Content-Length are checked against the limit before forwarding and do not need this.
 */
export class BodyLimiter extends Transform {
  /** Bytes seen so far. */
  bytes = 0;
  readonly #max: number;

  constructor(maxBytes: number) {
    super();
    this.#max = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#max) done(new BodyTooLargeError(this.#max));
    else done(null, chunk);
  }
}
