import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * The WebSocket opening handshake as a proxy must check it (RFC 6455 §4). A gateway that tunnels
 * bytes after an upgrade request without checking both halves lets a client write a second HTTP
 * request on the same connection that the upstream reads as one, past every route, policy, meter
 * and log ("WebSocket smuggling"). The tunnel opens only when the client's request is a valid
 * opening handshake AND the upstream's answer is a valid 101 for it.
 */

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §4.1 item 7: a base64 value that decodes to 16 bytes (22 characters and `==`). */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Whether a comma-separated field value lists `token` (ASCII case-insensitive, RFC 9110 §5.6.1). */
function hasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const v = Array.isArray(value) ? value.join(',') : value;
  for (const part of v.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** `Upgrade` names exactly the WebSocket protocol (RFC 6455 §4.1 item 5, §4.2.1 item 3), one field. */
function isWebSocketUpgrade(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'websocket';
}

/** Why a client's request cannot be a WebSocket opening handshake; `version` asks for `Sec-WebSocket-Version: 13` on the refusal (RFC 6455 §4.2.2). */
export interface HandshakeRefusal {
  readonly detail: string;
  readonly version: boolean;
}

/**
 * Checks the client's upgrade request against RFC 6455 §4.2.1 (what a server must receive), or
 * returns null when it is a valid opening handshake. Node joins repeated fields with `, `, so two
 * `Sec-WebSocket-Key` or `-Version` fields fail the value checks. A handshake announcing a body
 * is refused: a GET upgrade has none, and bytes after its head are read only once a 101 opened the
 * tunnel, so "body" bytes could only ever be a request smuggled behind it.
 */
export function clientHandshakeRefusal(req: IncomingMessage): HandshakeRefusal | null {
  const h = req.headers;
  if (req.method !== 'GET' || !isWebSocketUpgrade(h.upgrade)) return { detail: 'only WebSocket upgrades (GET with Upgrade: websocket) are supported', version: false };
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return { detail: 'a WebSocket handshake must be HTTP/1.1 (RFC 6455 §4.1)', version: false };
  if (!hasToken(h.connection, 'upgrade')) return { detail: 'a WebSocket handshake must carry Connection: Upgrade (RFC 6455 §4.2.1)', version: false };
  const key = h['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) return { detail: 'a WebSocket handshake needs one Sec-WebSocket-Key of 16 bytes in base64 (RFC 6455 §4.1)', version: false };
  if (h['sec-websocket-version'] !== '13') return { detail: 'a WebSocket handshake needs Sec-WebSocket-Version: 13 (RFC 6455 §4.1)', version: true };
  if (h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')) return { detail: 'a WebSocket handshake has no body', version: false };
  return null;
}

/** The `Sec-WebSocket-Accept` that proves a server read `key` (RFC 6455 §4.2.2 item 5.4). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Checks a 101 from the upstream against RFC 6455 §4.1 (what a client must receive: items 2-4),
 * for the handshake key the client sent; null when it completes the handshake. Only then has the
 * upstream left HTTP, so only then may raw bytes flow (the client's answer is otherwise relayed
 * and its connection closed).
 */
export function upstreamHandshakeRefusal(status: number, headers: IncomingHttpHeaders, key: string): string | null {
  if (status !== 101) return `the upstream answered ${status} to the upgrade`;
  if (!isWebSocketUpgrade(headers.upgrade)) return 'the upstream answered 101 without Upgrade: websocket';
  if (!hasToken(headers.connection, 'upgrade')) return 'the upstream answered 101 without Connection: Upgrade';
  const accept = headers['sec-websocket-accept'];
  if (accept === undefined) return 'the upstream answered 101 without Sec-WebSocket-Accept';
  if (accept !== acceptFor(key)) return 'the upstream answered 101 with a Sec-WebSocket-Accept that does not match the key';
  return null;
}
