import type { IncomingMessage } from 'node:http';

/** What accounting (metrics, access log, spans) reads of a request: the proxy's, or a unit test's stand-in. */
export interface AnsweredRequest {
  readonly id: string;
  readonly raw: IncomingMessage;
}

/** What accounting reads of a reply. */
export interface AnsweredReply {
  readonly statusCode: number;
  /** Milliseconds since the request head was taken. */
  readonly elapsedTime: number;
  getHeader?(name: string): unknown;
}
