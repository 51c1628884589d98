import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { certificateFacts, type CertificateFacts } from './identity/peer-certificate.js';
import type { QuotaCharge } from './rate-limit/counters.js';
import type { ActiveSubscription, BodyRead, ConsumerIdentity, PolicyContext } from './types.js';

/**
 * The per-request policy context the gateway creates (only for routes with policies). Changes to
 * the upstream request are recorded here and applied by the gateway with {@link applyTo} AFTER its
 * own header stripping, so no client header and no `Connection` listing can undo them.
 */
export class RequestContext implements PolicyContext {
  consumer: ConsumerIdentity | null = null;
  authenticated = false;
  claims: Readonly<Record<string, unknown>> | null = null;
  credential: string | null = null;
  /** Challenges of auth policies that found no credential, for the 401 of the auth gate. */
  challenges: string[] | null = null;
  /** The caller's active subscription and plan, once the subscription policy found one (metering reads it). */
  subscription: ActiveSubscription | null = null;
  /** Units one request to the route counts as (route `metering.units`); plan quotas are charged this. */
  units = 1;
  /** What the request charged to its plan's re-seeded quota (metering reads it). */
  quotaCharge: QuotaCharge | null = null;
  /** Response fields of the limit policies that passed the request (name/value pairs), or null. */
  limitFields: string[] | null = null;
  /** The unread request body and the gateway's size limit, set by the gateway when the request has one. */
  bodySource: { readonly stream: Readable; readonly maxBytes: number } | null = null;
  /** The body once a policy read it ({@link readBody}); the gateway forwards these bytes instead of the stream. */
  bufferedBody: Buffer | null = null;
  /** Set by the gateway: the request came over the TLS listener. */
  secure = false;
  /** Set by the gateway: the TLS connection the request came over, or null (plain listener). */
  tlsSocket: TLSSocket | null = null;
  /** Set by the gateway: the peer is a trusted proxy (its forwarding fields are relayed). */
  trustForwarding = false;
  #bodyRead: Promise<BodyRead> | null = null;
  #set: Record<string, string> | null = null;
  #removed: string[] | null = null;

  constructor(
    readonly requestId: string,
    readonly clientIp: string,
    readonly method: string,
    readonly path: string,
    readonly headers: IncomingHttpHeaders,
    readonly api: string,
    readonly route: string,
    public query: string | null = null,
    readonly host: string = '',
  ) {}

  authenticate(consumer: ConsumerIdentity | null, claims: Readonly<Record<string, unknown>> | null = null, credential: string | null = null): void {
    this.authenticated = true;
    this.consumer = consumer;
    this.claims = claims;
    this.credential = credential;
  }

  challenge(value: string): void {
    (this.challenges ??= []).push(value);
  }

  // Names come in lower case (PolicyContext): policies lower-case configured names when the config
  // is parsed, so no name is lower-cased per request (key-auth made five to seven such calls per request).
  setUpstreamHeader(name: string, value: string): void {
    (this.#set ??= {})[name] = value;
  }

  removeUpstreamHeader(name: string): void {
    (this.#removed ??= []).push(name);
  }

  upstreamHeader(name: string): string | string[] | undefined {
    if (this.#set !== null && Object.hasOwn(this.#set, name)) return this.#set[name];
    if (this.#removed !== null && this.#removed.includes(name)) return undefined;
    return this.headers[name];
  }

  peerCertificate(): CertificateFacts | null {
    if (this.tlsSocket === null) return null;
    // The CA that verified the certificate is the one of the SNI name's Certificate: a request for
    // another host on that connection (Host differs from SNI) must not borrow it (nginx answers 421).
    const sni = (this.tlsSocket as TLSSocket & { servername?: string | false }).servername;
    if (typeof sni === 'string' && sni.toLowerCase().replace(/\.$/, '') !== this.host) return null;
    return certificateFacts(this.tlsSocket);
  }

  readBody(limit: number): Promise<BodyRead> {
    this.#bodyRead ??= this.#read(limit);
    return this.#bodyRead;
  }

  #read(limit: number): Promise<BodyRead> {
    const src = this.bodySource;
    if (src === null) {
      this.bufferedBody = Buffer.alloc(0);
      return Promise.resolve({ ok: true, body: this.bufferedBody });
    }
    const max = Math.min(limit, src.maxBytes);
    const stream = src.stream;
    return new Promise<BodyRead>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (r: BodyRead) => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('aborted', onError);
        resolve(r);
      };
      const onData = (c: Buffer) => {
        size += c.length;
        // Past the limit the rest stays unread: the refusal closes the connection (RFC 9112 §9.6).
        if (size > max) {
          stream.pause();
          done({ ok: false, reason: 'too_large' });
        } else chunks.push(c);
      };
      const onEnd = () => {
        this.bufferedBody = Buffer.concat(chunks, size);
        done({ ok: true, body: this.bufferedBody });
      };
      const onError = () => done({ ok: false, reason: 'aborted' });
      stream.on('data', onData);
      stream.once('end', onEnd);
      stream.once('error', onError);
      stream.once('aborted', onError);
    });
  }

  /** Client header names the policies removed (lower case), or null when none. */
  get removedHeaders(): readonly string[] | null {
    return this.#removed;
  }

  /**
   * Applies removals of client headers, then the gateway's own values (which removals never
   * touch). `removalsDone`: the caller left the removed names out while copying the client's
   * headers (see {@link removedHeaders}), so no `delete` turns `out` into a slow dictionary.
   */
  applyTo(out: Record<string, string | string[]>, removalsDone = false): void {
    if (this.#removed !== null && !removalsDone) for (const n of this.#removed) delete out[n];
    if (this.#set !== null) for (const n in this.#set) out[n] = this.#set[n] as string;
  }
}
