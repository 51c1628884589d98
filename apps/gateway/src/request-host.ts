import type { IncomingMessage } from 'node:http';
import { parseHost, targetAuthority, type NormalizedHost } from '@tollgate/router';

/** Why a request's host was refused (answered 400 `BAD_HOST`). */
export class BadHost {
  constructor(readonly detail: string) {}
}

/** True when a raw header name is `host` in any case, without allocating. */
function isHostName(name: string): boolean {
  return name.length === 4 && (name.charCodeAt(0) | 0x20) === 104 && (name.charCodeAt(1) | 0x20) === 111 && (name.charCodeAt(2) | 0x20) === 115 && (name.charCodeAt(3) | 0x20) === 116;
}

/**
 * The request's host, validated and normalized once; shared by the proxy and the WebSocket
 * upgrade path so both apply the same rules:
 * - more than one Host field line is refused (RFC 9112 §3.2). Node keeps only the first in
 *   `req.headers`, so the field lines are counted in `req.rawHeaders`;
 * - an invalid Host value is refused (RFC 9112 §3.2; see `parseHost` for the grammar);
 * - an absolute-form target's authority wins over Host (RFC 9112 §3.2.2: the received Host is
 *   ignored and replaced): `req.headers.host` is overwritten with that authority, so everything
 *   reading the Host from here on (forwarded Host, X-Forwarded-Host, redirects, header
 *   conditions, the access log) sees the authority the request was routed by.
 * Returns the normalized host (lower case, no port, no trailing dot), or a {@link BadHost}.
 */
export function requestHost(req: IncomingMessage): NormalizedHost | BadHost {
  const raw = req.rawHeaders;
  let lines = 0;
  for (let i = 0; i < raw.length; i += 2) if (isHostName(raw[i] as string) && ++lines > 1) return new BadHost('the request has more than one Host header field (RFC 9112 §3.2)');
  const host = req.headers.host ?? '';
  const fromHeader = parseHost(host);
  if (fromHeader === null) return new BadHost('the Host header is not a valid host[:port] (RFC 9112 §3.2)');
  const authority = targetAuthority(req.url ?? '/');
  if (authority === null) return fromHeader;
  // An http(s) URI must have a non-empty host (RFC 9110 §4.2.1); userinfo is an error (§4.2.4).
  const fromTarget = authority === '' || authority.includes('@') ? null : parseHost(authority);
  if (fromTarget === null) return new BadHost('the authority of the absolute-form request target is not a valid host[:port] (RFC 9112 §3.2.2)');
  req.headers.host = authority;
  return fromTarget;
}
