import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { isIP } from 'node:net';
import { guardedLookup, portOf, refusedAddress, type OutboundPolicy } from './outbound-policy.js';

/** What one delivery attempt got back. */
export interface AttemptResult {
  readonly ok: boolean;
  /** HTTP status, or null when no response arrived (refused, timeout, connection error). */
  readonly status: number | null;
  /** The first KiB of the response body, or the error. */
  readonly detail: string;
}

/** One signed POST of one message to one endpoint. */
export interface Outgoing {
  readonly url: string;
  /** Standard Webhooks `webhook-id`: the same on every attempt of the message. */
  readonly msgId: string;
  readonly body: string;
  readonly secret: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const RESPONSE_KEEP = 1024;

/**
 * Sends one attempt: signs `body` per Standard Webhooks (HMAC-SHA256 over `id.timestamp.body`,
 * header `webhook-signature: v1,<base64>`) with the attempt's own timestamp, so a retry hours later
 * still passes the receiver's replay window, and POSTs it with node:http, whose `lookup` refuses
 * addresses the outbound policy forbids. Any 2xx is success (Standard Webhooks §delivery).
 */
export function sendAttempt(out: Outgoing, policy: OutboundPolicy, timeoutMs: number): Promise<AttemptResult> {
  const now = new Date();
  let signature: string;
  try {
    signature = new Webhook(out.secret).sign(out.msgId, now, out.body);
  } catch (err) {
    return Promise.resolve({ ok: false, status: null, detail: `signing failed: ${(err as Error).message}` });
  }
  const url = new URL(out.url);
  // Literal IP hosts never reach `lookup`: checked here, before connecting.
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0) {
    const why = refusedAddress(literal, portOf(url), policy);
    if (why !== null) return Promise.resolve({ ok: false, status: null, detail: `refused: ${why}` });
  }
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: AttemptResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const req = request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(policy, portOf(url)),
        timeout: timeoutMs,
        headers: {
          ...out.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(out.body),
          'user-agent': 'tollgate-webhooks/1',
          'webhook-id': out.msgId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature,
        },
      },
      (res) => {
        let kept = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (kept.length < RESPONSE_KEEP) kept += chunk.slice(0, RESPONSE_KEEP - kept.length);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          done({ ok: status >= 200 && status < 300, status, detail: kept });
        });
        res.on('error', (err) => done({ ok: false, status: res.statusCode ?? null, detail: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (err) => done({ ok: false, status: null, detail: err.message }));
    req.end(out.body);
  });
}
