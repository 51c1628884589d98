import type { Socket } from 'node:net';
import { GATEWAY_ERRORS, problemJson } from './problem.js';
import { pickRequestId } from './headers.js';

/** Node's own short answers for these (no body to add: the status says it all, RFC 9110 §15.5). */
const BARE: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * The proxy listener's `clientError` answer: a request Node's parser refused (malformed request
 * line or header, an invalid Content-Length / Transfer-Encoding pair, RFC 9112 §6.3) gets the
 * gateway's `400 BAD_REQUEST` problem+json rather than a bare status line, and the connection is
 * closed (what follows on it cannot be framed). A reset or an answer already under way just
 * closes the socket.
 */
export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || (pending != null && pending.headersSent === true)) {
    socket.destroy();
    return;
  }
  const bare = err.code !== undefined ? BARE[err.code] : undefined;
  if (bare !== undefined) {
    socket.end(`HTTP/1.1 ${bare}\r\nConnection: close\r\n\r\n`);
    return;
  }
  const e = GATEWAY_ERRORS.BAD_REQUEST;
  const body = problemJson(e.status, 'BAD_REQUEST', e.title, `the request could not be parsed${err.code !== undefined ? ` (${err.code})` : ''}`, pickRequestId(undefined));
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
