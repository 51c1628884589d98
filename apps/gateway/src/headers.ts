import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isFieldValue } from '@tollgate/model';
import { util as undiciUtil } from 'undici';

// undici's lower-case name lookup (a tree of the common field names, no string built for them).
const headerName = undiciUtil.headerNameToString;

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded.
 * `Proxy-Authorization` / `Proxy-Authenticate` belong to the client-gateway hop (RFC 9110 §11.7),
 * `Trailer` announces trailers this proxy does not relay.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'trailer']);

/**
 * Request fields the gateway sets itself or must not relay: `host` (set explicitly),
 * `expect` (Node already answered `100-continue` to the client; undici refuses it), and the
 * request id (replaced by the validated one).
 */
const REQUEST_DROP: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'expect', 'x-request-id']);

/** Forwarding fields a client may spoof: dropped unless the peer is a trusted proxy. */
const FORWARDING: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'forwarded']);

/**
 * Method and URL override headers: frameworks that honour them (Symfony, Laravel, Express
 * method-override, IIS URL Rewrite ...) would run another method or path than the one this route
 * matched, bypassing its method restrictions and path rules. Removed unless the route opts in
 * (`forwardOverrideHeaders`).
 */
export const OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url']);

/**
 * Header names listed in `Connection` (RFC 9110 §7.6.1), lower-cased; null when it lists only
 * the connection options `keep-alive` / `close` (the common case, no allocation).
 */
export function connectionListed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const v = Array.isArray(value) ? value.join(',') : value;
  if (v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close' || v === '') return null;
  const set = new Set<string>();
  for (const token of v.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '') set.add(t);
  }
  return set;
}

/**
 * Copies the request headers for the upstream, without hop-by-hop fields, without the fields
 * `Connection` names, without any `X-Consumer-*` field, without client-sent forwarding
 * fields unless `trustForwarding`, without method / URL override fields unless `forwardOverrides`,
 * and without the fields in `removed` (the access policies' removals, lower case).
 * The caller adds its own X-Forwarded-* / X-Request-Id / Host AFTER this, so a `Connection`
 * header naming them cannot remove them (Traefik CVE-2021-32813, CVE-2024-45410).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, trustForwarding: boolean, forwardOverrides = false, removed: readonly string[] | null = null): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(incoming.connection);
  for (const name in incoming) {
    const v = incoming[name];
    if (v === undefined || REQUEST_DROP.has(name)) continue;
    // Fields the access policies removed (a credential): left out here rather than deleted after.
    if (removed !== null && removed.includes(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    if (!trustForwarding && FORWARDING.has(name)) continue;
    if (!forwardOverrides && OVERRIDE_HEADERS.has(name)) continue;
    // Identity headers are the gateway's to set (after authentication): a client's copy never
    // passes, on any route, with or without an auth policy.
    if (name.startsWith('x-consumer-')) continue;
    out[name] = v;
  }
  return out;
}

/** Copies upstream response headers for the client without hop-by-hop and `Connection`-listed fields. */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  const listed = connectionListed(upstream.connection);
  for (const name in upstream) {
    const v = upstream[name];
    if (v === undefined || HOP_BY_HOP.has(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    out[name] = v;
  }
  return out;
}

/**
 * As {@link clientResponseHeaders}, from the head as undici read it (name/value pairs of Buffers)
 * into a flat `[name, value, ...]` list that `writeHead` takes as is: no intermediate object, no
 * `setHeader` per field. Each field line stays a line of its own (a repeated field such as
 * `Set-Cookie` is written as repeated lines, RFC 9110 §5.3); names are written lower-cased.
 * `owned` are the fields the gateway sets after (the request id, latency headers): the upstream's
 * are dropped, not duplicated.
 */
export function pushRawClientResponseHeaders(raw: readonly Buffer[], out: (string | string[])[], owned: ReadonlySet<string>): void {
  const n = raw.length;
  const names: string[] = new Array<string>(n >> 1);
  let connection: string | undefined;
  for (let i = 0, j = 0; i < n; i += 2, j++) {
    const name = headerName(raw[i] as Buffer);
    names[j] = name;
    if (name === 'connection') connection = connection === undefined ? (raw[i + 1] as Buffer).toString('latin1') : `${connection},${(raw[i + 1] as Buffer).toString('latin1')}`;
  }
  const listed = connectionListed(connection);
  for (let i = 0, j = 0; i < n; i += 2, j++) {
    const name = names[j] as string;
    if (HOP_BY_HOP.has(name) || owned.has(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    // latin1, as undici's own parse and Node's parser read field values (RFC 9110 §5.5: octets).
    out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `X-Request-Id` when it is 1-128 chars of `[A-Za-z0-9._:-]`, else a new UUID. */
export function pickRequestId(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) return incoming;
  return randomUUID();
}

/**
 * Sets `X-Forwarded-For`, `-Proto` and `-Host` on headers going upstream (after the stripping and
 * the policies' changes, so no Connection-listed name can remove them). From a trusted proxy its
 * chain, scheme and host are continued (the hop that terminated TLS knows them); otherwise the
 * gateway's own view replaces whatever the client sent.
 */
export function setForwardedHeaders(out: Record<string, string | string[] | undefined>, incoming: IncomingHttpHeaders, trustForwarding: boolean, peer: string, encrypted: boolean, hostHeader: string): void {
  const xff = incoming['x-forwarded-for'];
  out['x-forwarded-for'] = trustForwarding && typeof xff === 'string' ? `${xff}, ${peer}` : peer;
  const xfp = incoming['x-forwarded-proto'];
  out['x-forwarded-proto'] = trustForwarding && typeof xfp === 'string' ? xfp : encrypted ? 'https' : 'http';
  const xfh = incoming['x-forwarded-host'];
  out['x-forwarded-host'] = trustForwarding && typeof xfh === 'string' ? xfh : hostHeader;
}

/**
 * The name of the first field whose value is not an RFC 9110 §5.5 field value, or null. For a
 * head the gateway writes raw (a WebSocket handshake), where no HTTP client checks values as
 * undici does: every producer validates its values, this is the last line before the socket.
 */
export function firstInvalidHeader(h: Readonly<Record<string, string | string[] | undefined>>): string | null {
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') {
      if (!isFieldValue(v)) return name;
    } else for (const x of v) if (!isFieldValue(x)) return name;
  }
  return null;
}
