import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from '@tollgate/policies';
import { WebSocketServer, type WebSocket } from 'ws';
import { RequestState } from '../access-log.js';
import type { ProtocolRequest } from '../protocols/common.js';
import type { RuntimeRoute } from '../runtime.js';
import { accessRechecker } from './recheck.js';
import type { MessagingHandler } from './handler.js';

/** One server for every upgrade (noServer: the gateway's upgrade handler hands sockets over); clients only send control frames. */
const wss = new WebSocketServer({ noServer: true, maxPayload: 4_096, perMessageDeflate: false });

/** RFC 6455 §7.4.1 close codes the gateway uses. */
const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008;
const CLOSE_INTERNAL = 1011;
const CLOSE_TRY_AGAIN = 1013;

export interface MessagingSocketOptions {
  readonly handler: MessagingHandler;
  readonly route: RuntimeRoute;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly ctx: RequestContext | null;
  readonly requestId: string;
  readonly path: string;
  readonly query: string | null;
  readonly captures: Readonly<Record<string, string>> | null;
  readonly clientIp: string;
  readonly hostName: string;
  readonly secure: boolean;
  readonly trustForwarding: boolean;
  /** Refuses the handshake with a problem (nothing upgraded). */
  refuse(status: number, code: string, detail: string): void;
  /** The session is over: meter it with the units and quota charge it accumulated. */
  done(units: number, quotaCharge: RequestState['quotaCharge']): void;
}

/**
 * A WebSocket subscription (the messaging route's `subscribe` over WebSocket): after the same
 * access stage as any handshake, each delivered message is one text frame
 * `{"id", "target", "data", "headers"}` (admitted through the route's policies and metered as
 * over Server-Sent Events). A final refusal or broker failure is sent as `{"event": "end" |
 * "error", ...}` and the socket closed (1008 policy, 1011 broker, 1013 broker down at start).
 * `Last-Event-ID` or the `lastEventId` query parameter resumes a JetStream subscription.
 */
export async function openMessagingSocket(o: MessagingSocketOptions): Promise<void> {
  const state = new RequestState();
  state.units = o.route.units;
  state.quotaCharge = o.ctx?.quotaCharge ?? null;
  const ac = new AbortController();
  const recheck = o.route.access !== null ? accessRechecker(o.route, { requestId: o.requestId, clientIp: o.clientIp, method: 'GET', path: o.path, headers: o.req.headers, query: o.query, hostName: o.hostName, secure: o.secure, trustForwarding: o.trustForwarding }) : undefined;
  const preq: ProtocolRequest = {
    raw: o.req,
    method: 'GET',
    path: o.path,
    query: o.query,
    captures: o.captures,
    headers: o.req.headers,
    ctx: o.ctx,
    requestId: o.requestId,
    state,
    deadlineMs: undefined,
    maxBodyBytes: 0,
    pick: { headers: o.req.headers, clientIp: o.clientIp, query: o.query },
    signal: ac.signal,
    recheck,
  };
  const target = o.handler.targetOf(preq);
  if (target === null) return o.refuse(400, 'MESSAGING_BAD_TARGET', 'a path value is empty or holds a separator or wildcard of the broker');
  const header = o.req.headers['last-event-id'];
  const fromQuery = new URLSearchParams(o.query ?? '').get('lastEventId') ?? undefined;
  const after = o.handler.resumeAfter(preq, typeof header === 'string' ? header : fromQuery);
  if (after !== null && typeof after === 'object') return o.refuse(400, 'MESSAGING_BAD_EVENT_ID', 'Last-Event-ID must be the stream sequence of the last event received');
  if (!o.handler.brokerConnected()) return o.refuse(503, 'MESSAGING_BROKER_DOWN', 'the broker of this route is not connected');

  const ws = await new Promise<WebSocket>((resolve) => wss.handleUpgrade(o.req, o.socket, o.head, resolve));
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    o.done(state.units, state.quotaCharge);
  };
  const opened = await o.handler.subscription(preq, target, after, {
    message: (d) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: d.id, target: d.target, data: d.body.toString('utf8'), headers: d.headers }));
    },
    end: (final) => {
      if (final === null) return ws.close(CLOSE_NORMAL);
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event: final.event, ...final.data }));
      ws.close(final.event === 'end' ? CLOSE_POLICY : CLOSE_INTERNAL, String(final.data.code ?? '').slice(0, 120));
    },
  });
  ws.on('close', () => {
    ac.abort();
    finish();
  });
  ws.on('error', () => ws.terminate());
  if ('status' in opened) {
    // Could not subscribe after all (the broker dropped meanwhile, no stream for the subject).
    ws.close(opened.status === 503 ? CLOSE_TRY_AGAIN : CLOSE_INTERNAL, state.errorCode ?? 'MESSAGING_NOT_CONFIRMED');
  }
}
