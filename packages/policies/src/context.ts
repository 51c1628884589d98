import type { IncomingHttpHeaders } from 'node:http';
import type { ConsumerIdentity, PolicyContext } from './types.js';

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

  setUpstreamHeader(name: string, value: string): void {
    (this.#set ??= {})[name.toLowerCase()] = value;
  }

  removeUpstreamHeader(name: string): void {
    (this.#removed ??= []).push(name.toLowerCase());
  }

  /** Applies removals of client headers, then the gateway's own values (which removals never touch). */
  applyTo(out: Record<string, string | string[]>): void {
    if (this.#removed !== null) for (const n of this.#removed) delete out[n];
    if (this.#set !== null) for (const n in this.#set) out[n] = this.#set[n] as string;
  }
}
