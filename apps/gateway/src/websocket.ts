import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { runResponse, type PolicyProblem, type PolicyReply, type RequestContext } from '@tollgate/policies';
import { splitTarget } from '@tollgate/router';
import { TrustedProxies, unmapIp } from './client-address.js';
import type { ConfigManager } from './config-manager.js';
import { clientResponseHeaders, firstInvalidHeader, pickRequestId } from './headers.js';
import type { ResolvedGatewayOptions } from './options.js';
import { GATEWAY_ERRORS, problemJson, type GatewayErrorCode } from './problem.js';
import { Exchange } from '@tollgate/upstream';
import { applyHeaderOps } from './header-ops.js';
import { clientHandshakeRefusal, upstreamHandshakeRefusal } from './websocket-handshake.js';
import { requestHost } from './request-host.js';
import { resolveRoute } from './stages/resolve.js';
import { accessContext, runAccessStage } from './stages/access.js';
import { upstreamHead } from './stages/prepare.js';
import { MessagingHandler } from './messaging/handler.js';
import { openMessagingSocket } from './messaging/websocket.js';
import type { UsageRecorder } from '@tollgate/metering';
import type { AccessLog } from './access-log.js';
import { NO_ROUTE, type GatewayMetrics } from './metrics.js';

/** `Sec-WebSocket-Version` on a refused handshake whose version is not 13 (RFC 6455 §4.2.2 item 4). */
const WS_VERSION: Readonly<Record<string, string>> = Object.freeze({ 'sec-websocket-version': '13' });

/** Recorded when the client left before any status (nginx's 499, never sent). */
const CLIENT_CLOSED_STATUS = 499;

/** How long a closed-off client connection is drained before it is cut. */
const LINGER_MS = 5_000;

function noop(): void {}

/** The fields of a WebSocket opening handshake (RFC 6455 §4.1), set by the gateway whatever the route's header changes said. */
function setUpgradeFields(out: Record<string, string | string[]>): void {
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
}

/**
 * Ends a client connection after the gateway's last answer on it. The socket Node handed over
 * is no longer read by its HTTP parser, so nothing the client sends after its handshake can be
 * routed as a request: the connection is closed. First half-closed (the answer flushed), then what
 * the client still sends is read and discarded until it closes or LINGER_MS passes: closing with
 * unread bytes would make the kernel reset the connection and could destroy the answer in flight
 * (RFC 9112 §9.6).
 */
function closeAfter(socket: Duplex): void {
  socket.end();
  socket.resume();
  (socket as Socket).setTimeout(LINGER_MS, () => socket.destroy());
}

/** Writes a complete HTTP/1.1 response on a raw (upgrade) socket and closes it. */
function writeResponse(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`];
  const all: Record<string, string> = { ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  for (const [k, v] of Object.entries(all)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  closeAfter(socket);
}

function writeProblem(socket: Duplex, code: GatewayErrorCode, detail: string, requestId: string, extra?: Readonly<Record<string, string>>): void {
  const e = GATEWAY_ERRORS[code];
  writeResponse(socket, e.status, { ...extra, 'content-type': 'application/problem+json', 'x-request-id': requestId }, problemJson(e.status, code, e.title, detail, requestId));
}

function writePolicyReply(socket: Duplex, r: PolicyReply, requestId: string): void {
  const headers: Record<string, string> = { ...(r.headers ?? {}), 'x-request-id': requestId };
  if (typeof r.body === 'string' || Buffer.isBuffer(r.body)) return writeResponse(socket, r.status, headers, r.body.toString());
  headers['content-type'] = 'application/problem+json';
  writeResponse(socket, r.status, headers, problemJson(r.status, r.body.code, r.body.title, r.body.detail ?? r.body.title, requestId));
}

/** A response head; field names keep the upstream's spelling where it sent them. */
function responseHead(status: number, headers: Record<string, string | string[] | undefined>, rawHeaders: readonly string[]): string {
  const spelled = new Map<string, string>();
  for (let i = 0; i < rawHeaders.length; i += 2) spelled.set((rawHeaders[i] as string).toLowerCase(), rawHeaders[i] as string);
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const name = spelled.get(k) ?? k;
    if (Array.isArray(v)) for (const x of v) s += `${name}: ${x}\r\n`;
    else s += `${name}: ${v}\r\n`;
  }
  return `${s}\r\n`;
}

/**
 * Relays an upstream's non-101 answer to an upgrade as a final response, then closes the client
 * connection (closeAfter). Keeping it open would need the gateway to parse further requests on a
 * socket Node's HTTP server has let go of, outside routing, policies, metering and logging, which
 * is the smuggling this prevents; a client that wants another request opens a connection. The
 * body keeps the upstream's Content-Length, else it is delimited by the close (RFC 9112 §6.3).
 */
function relayAndClose(socket: Duplex, status: number, headers: Record<string, string | string[] | undefined>, res: IncomingMessage, upstream: Socket): void {
  headers.connection = 'close';
  socket.write(responseHead(status, headers, res.rawHeaders));
  res.on('error', noop);
  res.pipe(socket, { end: false });
  res.once('end', () => {
    upstream.destroy();
    closeAfter(socket);
  });
  // Cut short by the upstream: the client must not take a truncated body as complete.
  res.once('close', () => {
    if (!res.complete) socket.destroy();
  });
}

/** What the meter needs of one routed handshake. */
interface WsSession {
  /** Arrival instant on the meter's clock (decides hour and billing month). */
  readonly at: number;
  /** `performance.now()` at arrival, for the session's duration. */
  readonly t0: number;
  readonly api: string;
  readonly route: string;
  units: number;
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
 * Handles the Node server's `upgrade` event. A request that is not a valid WebSocket opening
 * handshake (RFC 6455 §4.2.1; h2c and other upgrades included) is refused with 400 `BAD_REQUEST`,
 * since answering it as a plain request is not possible once Node has handed the socket over.
 * A handshake is routed and prepared as any request (lookup on host, path, headers and query;
 * access policies BEFORE anything reaches the upstream; rewrite, strip prefix, header changes,
 * host rewrite), a target is picked and admitted, and the handshake is forwarded on a fresh
 * connection. Only an upstream 101 that completes the handshake (websocket-handshake.ts) opens
 * the tunnel, bytes then piped both ways until either side closes; an invalid 101 is 502
 * `WEBSOCKET_HANDSHAKE_FAILED`, any other answer is relayed and the connection closed.
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
      quotaCharge: s.ctx?.quotaCharge ?? null,
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
    const t0 = performance.now();
    const headers = req.headers;
    const target = splitTarget(req.url ?? '/');
    const raw = socket as Socket;
    const peer = unmapIp(raw.remoteAddress ?? '');
    const trustForwarding = trusted.isTrusted(peer);
    const xffIn = headers['x-forwarded-for'];
    const clientIp = trustForwarding ? trusted.clientIp(peer, typeof xffIn === 'string' ? xffIn : undefined) : peer;
    let path = target.path;
    /** A refusal before any route matched: counted and logged like an unrouted request (api "(none)"), not metered. */
    function unrouted(code: GatewayErrorCode, detail: string, extra?: Readonly<Record<string, string>>): void {
      writeProblem(socket, code, detail, requestId, extra);
      const status = GATEWAY_ERRORS[code].status;
      const bytesIn = raw.bytesRead ?? 0;
      const bytesOut = raw.bytesWritten ?? 0;
      metrics?.recordSession(NO_ROUTE, NO_ROUTE, status, false, bytesIn, bytesOut, null);
      accessLog?.writeSession({ requestId, path, host: headers.host, status, clientIp, consumer: null, api: null, route: null, upstream: null, bytesIn, bytesOut, latencyMs: performance.now() - t0, code, query: target.query });
    }
    // No tunnel for a request that is not a valid opening handshake: nothing of it reaches an upstream.
    const bad = clientHandshakeRefusal(req);
    if (bad !== null) return unrouted('BAD_REQUEST', bad.detail, bad.version ? WS_VERSION : undefined);
    // Stage 1: resolve route, as for any request (the same Host rules, normalization, and lookup:
    // a route's header and query conditions apply to handshakes too).
    const validHost = requestHost(req);
    const snap = manager.current;
    const resolved = resolveRoute(snap, validHost, target, 'GET', headers, false);
    path = resolved.path;
    if (resolved.kind === 'refused') return unrouted(resolved.code, resolved.detail, resolved.headers ?? undefined);
    const hostName = validHost as string;
    const hostHeader = headers.host ?? '';
    const { route, found } = resolved;
    const session: WsSession = { at: meter?.now() ?? 0, t0, api: route.api, route: route.route, units: route.units, metric: route.metric, ctx: null, requestId, path, host: headers.host, clientIp, query: target.query, upstream: null };
    let metered = false;

    // Stage 2: access policies, with the draft and lifecycle rules, as for any request.
    let ctx: RequestContext | null = null;
    if (route.access !== null) {
      ctx = accessContext(route, { requestId, clientIp, method: 'GET', path, headers, query: target.query, hostName, secure: (raw as TLSSocket).encrypted === true, trustForwarding });
      if (ctx.secure) ctx.tlsSocket = raw as TLSSocket;
      session.ctx = ctx;
      const verdict = await runAccessStage(route, route.access, ctx);
      if (verdict !== undefined) {
        if (verdict.kind === 'hidden') return refuse('ROUTE_NOT_FOUND', `no route for GET ${path}`);
        // A refusal, or a stored answer (nothing to upgrade): written, and the connection closed.
        const r = verdict.reply;
        writePolicyReply(socket, r, requestId);
        metered = true;
        return meterSession(session, r.status, 'gateway', socket, typeof r.body === 'string' || Buffer.isBuffer(r.body) ? null : r.body.code);
      }
    }

    function refuse(code: GatewayErrorCode, detail: string): void {
      writeProblem(socket, code, detail, requestId);
      metered = true;
      meterSession(session, GATEWAY_ERRORS[code].status, 'gateway', socket, code);
    }
    const actions = route.actions;
    // A messaging subscription over WebSocket (docs/messaging.md): no upstream, the broker's messages as frames.
    if (actions.protocol instanceof MessagingHandler && actions.protocol.subscribes) {
      return openMessagingSocket({
        handler: actions.protocol, route, req, socket, head, ctx, requestId, path, query: target.query, captures: found.captures, clientIp, hostName, secure: (raw as TLSSocket).encrypted === true, trustForwarding,
        refuse: (status, code, detail) => {
          writeResponse(socket, status, { 'content-type': 'application/problem+json' }, JSON.stringify({ type: `https://tollgate.dev/errors/${code.toLowerCase().replaceAll('_', '-')}`, title: code, status, code, detail, requestId }));
          metered = true;
          meterSession(session, status, 'gateway', socket, code);
        },
        done: (units, quotaCharge) => {
          session.units = units;
          if (ctx !== null) ctx.quotaCharge = quotaCharge;
          metered = true;
          meterSession(session, 101, 'gateway', socket);
        },
      });
    }
    const dest = actions.split !== null ? actions.split.pick() : actions.primary;
    if (dest === null || actions.aggregate !== null || actions.protocol !== null) return refuse('BAD_REQUEST', 'this route does not forward to one upstream and cannot be upgraded to a WebSocket');
    const upstreamRt = dest.target;
    const exchange = Exchange.open(upstreamRt, dest.subset, { headers, clientIp, query: target.query }, null);
    if (exchange === 'NO_HEALTHY_UPSTREAM') return refuse(exchange, `every target of upstream ${dest.upstream} is unhealthy or ejected`);
    if (exchange === 'UPSTREAM_OVERLOADED') return refuse(exchange, `upstream ${dest.upstream} is at its connection and pending-request limit`);
    const t = exchange.target;
    session.upstream = t.origin;
    // In flight until the client side is gone, whatever happens below (even a throw before the
    // upstream socket exists); the upstream socket's close releases it earlier.
    socket.once('close', () => exchange.end());
    // Gone already (while access policies ran): 'close' has fired, nothing to forward.
    if (socket.destroyed) {
      exchange.end();
      metered = true;
      return meterSession(session, CLIENT_CLOSED_STATUS, 'gateway', socket, 'CLIENT_ABORTED', true);
    }

    // Stage 4, the same preparation as any request (stages/prepare.ts), with the upgrade fields
    // after the route's header changes; then the Host for the picked target.
    const prepared = upstreamHead({ route, found, ctx, headers, requestId, path, query: target.query, hostHeader, peer, secure: (raw as TLSSocket).encrypted === true, trustForwarding }, setUpgradeFields);
    const out = prepared.headers;
    out.host = actions.hostRewrite ?? (options.preserveHost && hostHeader !== '' ? hostHeader : t.host);
    const upstreamPath = prepared.path;
    const invalid = firstInvalidHeader(out);
    if (invalid !== null) {
      // Never written (it would split the head): the gateway's fault, not the target's.
      exchange.end();
      return refuse('INVALID_UPSTREAM_REQUEST', `the value of the header ${invalid} is not a valid HTTP field value`);
    }
    const key = headers['sec-websocket-key'] as string;

    /** The route's response header changes and response policies, on the relayed answer (101 or not). */
    function responseChanges(h: Record<string, string | string[] | undefined>, status: number): PolicyProblem | undefined {
      h['x-request-id'] = requestId;
      if (actions.responseHeaders !== null) applyHeaderOps(h, actions.responseHeaders);
      if (route.response === null) return undefined;
      ctx ??= accessContext(route, { requestId, clientIp, method: 'GET', path, headers, query: target.query, hostName, secure: (raw as TLSSocket).encrypted === true, trustForwarding });
      return runResponse(route.response, ctx, { status, headers: h });
    }
    /** A response policy refused the answer (a header it rendered is not a field value): its problem, never the answer. */
    function refuseAnswer(p: PolicyProblem, upstreamSide: Duplex): void {
      upstreamSide.destroy();
      refuse(p.code in GATEWAY_ERRORS ? (p.code as GatewayErrorCode) : 'INTERNAL_ERROR', p.detail ?? p.title);
    }

    // (Non-null: a route was resolved in it.)
    const compiled = (snap as NonNullable<typeof snap>).compiledUpstreams[dest.upstream];
    const url = new URL(t.origin);
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const tls = compiled?.tls ?? null;
    const conn: { socket: Socket | null } = { socket: null };
    const open = (): Socket =>
      (conn.socket = secure
        ? tlsConnect({ host, port, servername: tls?.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host), rejectUnauthorized: tls?.rejectUnauthorized ?? true, ca: tls?.ca, cert: tls?.cert, key: tls?.key })
        : netConnect({ host, port }));
    // Node's HTTP client writes the handshake and parses the answer (llhttp): a 101 it reads as an
    // upgrade comes as 'upgrade' with the raw socket, anything else as 'response' with its body.
    let up: ClientRequest;
    try {
      up = httpRequest({ method: 'GET', path: upstreamPath, headers: out, setHost: false, createConnection: open });
    } catch (err) {
      conn.socket?.destroy();
      exchange.end();
      throw err;
    }
    const upstream = conn.socket as unknown as Socket;
    const timeout = (what: string) => () => upstream.destroy(Object.assign(new Error(what), { code: 'ETIMEDOUT' }));
    // The connect timeout, then the deadline for the handshake's answer: the route's `timeoutMs`,
    // else the upstream's `responseHeadersMs`, as for a request's response headers.
    let timer = setTimeout(timeout('connect timeout'), compiled?.connectMs ?? 5_000);
    // In flight until the upstream connection closes (circuit breaking, least requests).
    upstream.once('close', () => exchange.end());
    let connected = false;
    let answered = false;
    /** Set once a valid 101 opened the tunnel: from then on either side closing closes the other. */
    let tunnel = false;
    let handshakeStatus = 0;
    socket.once('close', () => {
      clearTimeout(timer);
      // A client gone before the answer is not the upstream's failure, nor a refusal to answer.
      answered = true;
      upstream.destroy();
      // Once per session, when the client side goes away (whichever side closed first).
      if (metered) return;
      metered = true;
      if (handshakeStatus !== 0) meterSession(session, handshakeStatus, 'upstream', socket);
      // The client left before the upstream answered the handshake (every answer or refusal is
      // metered by then): counted once, like any request whose client went away before a status.
      else meterSession(session, CLIENT_CLOSED_STATUS, 'gateway', socket, 'CLIENT_ABORTED', true);
    });
    upstream.once(secure ? 'secureConnect' : 'connect', () => {
      connected = true;
      clearTimeout(timer);
      if (!answered) timer = setTimeout(timeout('no answer to the handshake in time'), route.headersDeadlineMs ?? compiled?.responseHeadersMs ?? 60_000);
    });
    upstream.on('error', noop);
    upstream.on('close', () => {
      if (tunnel) socket.destroy();
    });
    up.on('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      upstream.destroy();
      if (answered) return;
      answered = true;
      exchange.observe(true);
      logger.warn({ requestId, upstream: dest.upstream, target: t.origin, err: err.message }, 'WebSocket upstream connection failed');
      const code = err.code === 'ETIMEDOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
      refuse(code, connected ? `the upstream did not answer the handshake: ${err.message}` : `the upstream connection failed: ${err.message}`);
    });
    up.on('response', (res: IncomingMessage) => {
      clearTimeout(timer);
      answered = true;
      if (res.statusCode === 101) {
        // A 101 without Upgrade: websocket and Connection: upgrade (llhttp did not take it as an upgrade).
        exchange.observe(true);
        upstream.destroy();
        return refuse('WEBSOCKET_HANDSHAKE_FAILED', upstreamHandshakeRefusal(101, res.headers, key) ?? 'the upstream answered 101 without switching protocols');
      }
      // Not switched: relay the answer as a final HTTP response and close (see relayAndClose).
      const status = res.statusCode ?? 502;
      exchange.observe(status >= 500);
      handshakeStatus = status;
      const h = clientResponseHeaders(res.headers);
      const refused = responseChanges(h, status);
      if (refused !== undefined) return refuseAnswer(refused, upstream);
      relayAndClose(socket, status, h, res, upstream);
    });
    up.on('upgrade', (res: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
      clearTimeout(timer);
      answered = true;
      const why = upstreamHandshakeRefusal(res.statusCode ?? 0, res.headers, key);
      if (why !== null) {
        exchange.observe(true);
        upSocket.destroy();
        return refuse('WEBSOCKET_HANDSHAKE_FAILED', why);
      }
      exchange.observe(false);
      handshakeStatus = 101;
      const h = clientResponseHeaders(res.headers);
      const refused = responseChanges(h, 101);
      if (refused !== undefined) return refuseAnswer(refused, upSocket);
      // The protocol switch itself is the gateway's: no header change can remove it.
      h.upgrade = 'websocket';
      h.connection = 'Upgrade';
      tunnel = true;
      socket.write(responseHead(101, h, res.rawHeaders));
      if (upHead.length > 0) socket.write(upHead);
      // Bytes the client sent behind its handshake were held until now (RFC 6455 §4.1: a client
      // waits for the 101 before sending frames).
      if (head.length > 0) upSocket.write(head);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.end();
  }
}
