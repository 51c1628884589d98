import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { RequestContext, runAccess, type PolicyReply } from '@tollgate/policies';
import { normalizeHost, normalizePath, splitTarget } from '@tollgate/router';
import { TrustedProxies, unmapIp } from './client-address.js';
import type { ConfigManager } from './config-manager.js';
import { pickRequestId, setForwardedHeaders, upstreamRequestHeaders } from './headers.js';
import type { ResolvedGatewayOptions } from './options.js';
import { GATEWAY_ERRORS, problemJson, type GatewayErrorCode } from './problem.js';
import { acquireTarget } from './runtime.js';
import type { UsageRecorder } from '@tollgate/metering';
import type { AccessLog } from './access-log.js';
import type { GatewayMetrics } from './metrics.js';

/** Recorded when the client left before any status (nginx's 499, never sent). */
const CLIENT_CLOSED_STATUS = 499;

/** Writes a complete HTTP/1.1 error response on a raw (upgrade) socket and closes it. */
function writeResponse(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  const all: Record<string, string> = { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  for (const [k, v] of Object.entries(all)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function writeProblem(socket: Duplex, code: GatewayErrorCode, detail: string, requestId: string): void {
  const e = GATEWAY_ERRORS[code];
  writeResponse(socket, e.status, { 'content-type': 'application/problem+json', 'x-request-id': requestId }, problemJson(e.status, code, e.title, detail, requestId));
}

function writePolicyReply(socket: Duplex, r: PolicyReply, requestId: string): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}), 'x-request-id': requestId };
  if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) return writeResponse(socket, r.status, headers, r.body.toString());
  headers['content-type'] = 'application/problem+json';
  writeResponse(socket, r.status, headers, problemJson(r.status, r.body.code, r.body.title, r.body.detail ?? r.body.title, requestId));
}

function serializeHead(method: string, path: string, headers: Record<string, string | string[]>): string {
  let s = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (Array.isArray(v)) for (const x of v) s += `${k}: ${x}\r\n`;
    else s += `${k}: ${v}\r\n`;
  }
  return `${s}\r\n`;
}

/** What the meter needs of one routed handshake. */
interface WsSession {
  /** Arrival instant on the meter's clock (decides hour and billing month). */
  readonly at: number;
  /** `performance.now()` at arrival, for the session's duration. */
  readonly t0: number;
  readonly api: string;
  readonly route: string;
  readonly units: number;
  readonly metric: string;
  ctx: RequestContext | null;
  readonly requestId: string;
  readonly path: string;
  readonly host: string | undefined;
  readonly clientIp: string;
  /** The query as the client sent it (auth policies may take credentials out: then ctx.query). */
  readonly query: string | null;
  /** Origin of the picked target, once picked. */
  upstream: string | null;
}

/** Dependencies of the upgrade handler. */
export interface WebSocketDeps {
  readonly manager: ConfigManager;
  readonly options: ResolvedGatewayOptions;
  readonly logger: Logger;
  /** Usage meter: a routed handshake is recorded once, when its session ends (or when it is refused). */
  readonly meter?: UsageRecorder | null;
  /** Prometheus metrics and the access log: a routed session gets one count and one line, when it ends. */
  readonly metrics?: GatewayMetrics | null;
  readonly accessLog?: AccessLog | null;
}

/**
 * Handles the Node server's `upgrade` event: WebSocket handshakes (RFC 6455 §4.1: GET with
 * `Upgrade: websocket`) are routed through the current snapshot like any request, the route's
 * access-phase policies run BEFORE anything reaches the upstream (a refused handshake gets the
 * policy's status, never 101), a target is picked and admitted like any request, and the
 * handshake is forwarded on a fresh connection; the upstream's answer (101 or not) is relayed
 * and then bytes are piped both ways until either side closes. Other upgrades (h2c) are refused
 * with 400 `BAD_REQUEST`, since answering them as plain requests is not possible once Node has
 * handed the socket over.
 */
export function createUpgradeHandler(deps: WebSocketDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { manager, options, logger } = deps;
  const trusted = new TrustedProxies(options.trustedProxies);
  const meter = deps.meter ?? null;
  const metrics = deps.metrics ?? null;
  const accessLog = deps.accessLog ?? null;

  /**
   * Accounts for one routed handshake like any routed request (meter, metrics, access log): a
   * session counts once, with the upstream's handshake status (101 when upgraded), the bytes of
   * the whole session and its duration as latency; a refusal counts as a gateway answer.
   */
  function meterSession(s: WsSession, status: number, source: 'upstream' | 'gateway', socket: Duplex, code: string | null = null, aborted = false): void {
    const raw = socket as Socket;
    const latencyMs = performance.now() - s.t0;
    const consumer = s.ctx?.consumer?.name ?? null;
    const bytesIn = raw.bytesRead ?? 0;
    const bytesOut = raw.bytesWritten ?? 0;
    metrics?.recordSession(s.api, s.route, status, source === 'upstream', bytesIn, bytesOut, consumer, aborted);
    accessLog?.writeSession({ requestId: s.requestId, path: s.path, host: s.host, status, clientIp: s.clientIp, consumer, api: s.api, route: s.route, upstream: s.upstream, bytesIn, bytesOut, latencyMs, code, query: s.ctx !== null ? s.ctx.query : s.query, aborted });
    if (meter === null) return;
    meter.record({
      at: s.at,
      consumer,
      subscription: s.ctx?.subscription ?? null,
      api: s.api,
      apiVersion: manager.apiVersions.current.get(s.api) ?? '',
      route: s.route,
      status,
      source,
      units: s.units,
      metric: s.metric,
      bytesIn,
      bytesOut,
      latencyMs,
      aborted,
    });
  }

  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const requestId = pickRequestId(req.headers['x-request-id']);
    void handle(req, socket, head, requestId).catch((err: unknown) => {
      logger.error({ err, requestId }, 'unexpected error in the WebSocket proxy');
      writeProblem(socket, 'INTERNAL_ERROR', 'the gateway failed to handle the request', requestId);
    });
  };

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer, requestId: string): Promise<void> {
    const headers = req.headers;
    if ((headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      return writeProblem(socket, 'BAD_REQUEST', 'only WebSocket upgrades (GET with Upgrade: websocket) are supported', requestId);
    }
    const snap = manager.current;
    if (snap === null) return writeProblem(socket, 'NOT_READY', 'no configuration is loaded yet', requestId);
    const target = splitTarget(req.url ?? '/');
    let path: string;
    try {
      path = normalizePath(target.path);
    } catch {
      return writeProblem(socket, 'BAD_PATH', 'the request path is refused by the normalizer', requestId);
    }
    const hostHeader = headers.host ?? '';
    const found = snap.routes.lookup(normalizeHost(hostHeader), path, 'GET');
    if (found.kind === 'not_found') return writeProblem(socket, 'ROUTE_NOT_FOUND', `no route for GET ${path}`, requestId);
    if (found.kind === 'method_not_allowed') return writeProblem(socket, 'METHOD_NOT_ALLOWED', `GET is not allowed on ${path}`, requestId);
    const route = found.value;
    const raw = socket as Socket;
    const peer = unmapIp(raw.remoteAddress ?? '');
    const trustForwarding = trusted.isTrusted(peer);
    const xffIn = headers['x-forwarded-for'];
    const clientIp = trustForwarding ? trusted.clientIp(peer, typeof xffIn === 'string' ? xffIn : undefined) : peer;
    const session: WsSession = { at: meter?.now() ?? 0, t0: performance.now(), api: route.api, route: route.route, units: route.units, metric: route.metric, ctx: null, requestId, path, host: headers.host, clientIp, query: target.query, upstream: null };

    let ctx: RequestContext | null = null;
    if (route.access !== null) {
      ctx = new RequestContext(requestId, clientIp, 'GET', path, headers, route.api, route.route, target.query);
      session.ctx = ctx;
      const r = await runAccess(route.access, ctx);
      if (r !== undefined) {
        // As for any request: a draft is invisible (a refusal to anyone but its preview consumers is
        // the gateway's 404), and a deprecated API says so on refusals too.
        if (route.draftPreview !== null && (ctx.consumer === null || !route.draftPreview.has(ctx.consumer.name)) && r.status !== 404) return refuse('ROUTE_NOT_FOUND', `no route for GET ${path}`);
        writePolicyReply(socket, route.refusalHeaders !== null ? { ...r, headers: { ...route.refusalHeaders, ...r.headers } } : r, requestId);
        return meterSession(session, r.status, 'gateway', socket, typeof r.body === 'string' || Buffer.isBuffer(r.body) ? null : r.body.code);
      }
    }

    function refuse(code: GatewayErrorCode, detail: string): void {
      writeProblem(socket, code, detail, requestId);
      meterSession(session, GATEWAY_ERRORS[code].status, 'gateway', socket, code);
    }
    const actions = route.actions;
    const dest = actions.split !== null ? actions.split.pick() : actions.primary;
    if (dest === null) return refuse('BAD_REQUEST', 'this route answers without an upstream and cannot be upgraded to a WebSocket');
    const upstreamRt = dest.target;
    const lease = acquireTarget(upstreamRt, dest.subset, { headers, clientIp, query: target.query }, null);
    if (lease === 'NO_HEALTHY_UPSTREAM') return refuse(lease, `every target of upstream ${dest.upstream} is unhealthy or ejected`);
    if (lease === 'UPSTREAM_OVERLOADED') return refuse(lease, `upstream ${dest.upstream} is at its connection and pending-request limit`);
    const t = lease.target;
    session.upstream = t.origin;
    // In flight until the client side is gone, whatever happens below (even a throw before the
    // upstream socket exists); the upstream socket's close releases it earlier.
    socket.once('close', () => lease.release());
    // Gone already (while access policies ran): 'close' has fired, nothing to forward.
    if (socket.destroyed) {
      lease.release();
      return meterSession(session, CLIENT_CLOSED_STATUS, 'gateway', socket, 'CLIENT_ABORTED', true);
    }

    const out = upstreamRequestHeaders(headers, trustForwarding);
    if (ctx !== null) ctx.applyTo(out);
    out.connection = 'Upgrade';
    out.upgrade = 'websocket';
    setForwardedHeaders(out, headers, trustForwarding, peer, (raw as TLSSocket).encrypted === true, hostHeader);
    out['x-request-id'] = requestId;
    out.host = options.preserveHost && hostHeader !== '' ? hostHeader : t.host;
    let upstreamPath = path;
    if (route.stripPrefix !== null) upstreamPath = path.length === route.stripPrefix.length ? '/' : path.slice(route.stripPrefix.length);
    const query = ctx !== null ? ctx.query : target.query;
    if (query !== null) upstreamPath = `${upstreamPath}?${query}`;

    const compiled = snap.compiledUpstreams[dest.upstream];
    const url = new URL(t.origin);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const tls = compiled?.tls ?? null;
    const upstream: Socket =
      url.protocol === 'https:'
        ? tlsConnect({ host, port, servername: tls?.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host), rejectUnauthorized: tls?.rejectUnauthorized ?? true, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : netConnect({ host, port });
    const connectTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), compiled?.connectMs ?? 5_000);
    // In flight until either side closes (circuit breaking, least requests); passive health from the answer.
    const end = () => lease.release();
    let connected = false;
    let handshakeStatus = 0;
    let metered = false;
    let upstreamGone = false;
    // Once per session, when the client side goes away (whichever side closed first).
    socket.once('close', () => {
      if (metered) return;
      metered = true;
      if (handshakeStatus !== 0) meterSession(session, handshakeStatus, 'upstream', socket);
      // The upstream closed without a handshake status (its bytes, if any, were relayed as they came).
      else if (upstreamGone) meterSession(session, 502, 'gateway', socket, 'UPSTREAM_UNAVAILABLE');
      // The client left before the upstream answered the handshake: counted once, like any request
      // whose client went away before a status (499, never sent).
      else meterSession(session, CLIENT_CLOSED_STATUS, 'gateway', socket, 'CLIENT_ABORTED', true);
    });
    upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      upstream.write(serializeHead('GET', upstreamPath, out));
      if (head.length > 0) upstream.write(head);
      upstream.once('data', (first: Buffer) => {
        // `HTTP/1.1 5xx` counts against the target like any 5xx.
        lease.observe(first.subarray(9, 10).toString() === '5');
        const status = Number(first.subarray(9, 12).toString());
        if (Number.isInteger(status) && status >= 100 && status <= 599) handshakeStatus = status;
      });
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', (err: Error & { code?: string }) => {
      clearTimeout(connectTimer);
      if (!connected) {
        lease.release(true);
        logger.warn({ requestId, upstream: dest.upstream, target: t.origin, err: err.message }, 'WebSocket upstream connection failed');
        const code = err.code === 'ETIMEDOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
        metered = true;
        return refuse(code, `the upstream connection failed: ${err.message}`);
      }
      upstreamGone = true;
      socket.destroy();
    });
    upstream.on('close', () => {
      upstreamGone = true;
      end();
      socket.destroy();
    });
    socket.on('close', () => upstream.destroy());
  }
}
