import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';

/**
 * Phases a policy can run in, in request order:
 * - `access`: after routing, before the request is forwarded; may stop it with a reply.
 * - `response`: after the upstream answered, before the response headers are sent; may change them.
 */
export type Phase = 'access' | 'response';

/** Every phase, in execution order. */
export const PHASES: readonly Phase[] = Object.freeze(['access', 'response']);

/**
 * Priorities (higher runs first within a phase). Auth must know the caller before limits count
 * them, and metering must see the final outcome, so the bands are fixed (as Kong's are).
 */
export const PRIORITY = Object.freeze({
  ipRestriction: 3000,
  auth: 2000,
  /** Authorization (acl) runs after every authentication policy and the auth gate. */
  authorization: 1900,
  limits: 1000,
  transforms: 500,
  metering: 0,
});

/** The consumer an authentication policy identified (see `IdentityIndex`). */
export interface ConsumerIdentity {
  /** `metadata.name` of the Consumer resource. */
  readonly name: string;
  /** The customer's id in the operator's own system, or null. */
  readonly customId: string | null;
  readonly groups: readonly string[];
}

/**
 * What a policy sees of the request, and the few things it may change on the way upstream.
 * One object per request, shared by all policies (the gateway creates a `RequestContext`).
 */
export interface PolicyContext {
  readonly requestId: string;
  /** Client address after applying the gateway's trusted-proxy rules. */
  readonly clientIp: string;
  readonly method: string;
  /** Normalized path (the one routed on). */
  readonly path: string;
  /** True when the request came over the gateway's TLS listener. */
  readonly secure: boolean;
  /**
   * True when the peer is a trusted proxy: its X-Forwarded-Proto / -Host / -Port / -Prefix and
   * Forwarded fields are relayed to the upstream (else the gateway drops them and sets its own).
   */
  readonly trustForwarding: boolean;
  /**
   * The request's host as the gateway validated and normalized it once (lower case, no port, no
   * trailing dot; an absolute-form target's authority rather than Host, RFC 9112 §3.2.2): the value
   * the route table matched. Compare this, never `headers.host`, so `h:80`, `H.` or `h:443` cannot
   * slip past a rule the router still matched ('' when the request had no host).
   */
  readonly host: string;
  /** The client's request headers as received; change the upstream request through the methods below. */
  readonly headers: IncomingHttpHeaders;
  readonly api: string;
  readonly route: string;
  /** Raw query string (without `?`) that will be forwarded and logged, or null; policies may replace it (e.g. to drop a credential). */
  query: string | null;
  /** The authenticated consumer, or null (no authentication yet, or an anonymous caller). */
  readonly consumer: ConsumerIdentity | null;
  /** True once an authentication policy accepted a credential (or admitted an anonymous caller). */
  readonly authenticated: boolean;
  /** Verified JWT claims when a jwt-auth policy authenticated the request, else null. */
  readonly claims: Readonly<Record<string, unknown>> | null;
  /** Records a successful authentication; later auth policies skip the request. */
  authenticate(consumer: ConsumerIdentity | null, claims?: Readonly<Record<string, unknown>> | null, credential?: string | null): void;
  /**
   * A stable, non-secret id of the credential that authenticated the request (`key:<16 hex of its
   * SHA-256>`, `jwt:<iss> <subject>`), or null; rate limits may count per credential.
   */
  readonly credential: string | null;
  /** Records that an auth policy found no credential: its `WWW-Authenticate` challenge joins the final 401. */
  challenge(value: string): void;
  /**
   * Sets (replaces) a request header sent upstream; applied after the gateway's own stripping.
   * Header names given to these methods are in lower case, as in {@link headers}: field names are
   * case-insensitive (RFC 9110 §5.1), so a policy lower-cases configured names once when its config
   * is parsed (`fieldName`), not on every request.
   */
  setUpstreamHeader(name: string, value: string): void;
  /** Removes a client request header from the upstream request (e.g. the credential); values set with `setUpstreamHeader` stay. Lower-case name. */
  removeUpstreamHeader(name: string): void;
  /**
   * The value a request header will have upstream after the policies' changes so far: the one set
   * with `setUpstreamHeader`, else undefined when removed, else the client's. Lower-case name.
   */
  upstreamHeader(name: string): string | string[] | undefined;
  /** The caller's active subscription and its plan, set by the subscription policy (metering reads it); null or absent when none. */
  subscription?: ActiveSubscription | null;
  /** Units one request to this route counts as (route `metering.units`, default 1): what plan quotas are charged. */
  readonly units?: number;
  /** What the request charged to its plan's re-seeded quota (set by the subscription limiter; metering reads it). */
  quotaCharge?: import('./rate-limit/counters.js').QuotaCharge | null;
  /**
   * The response fields the limit policies recorded for a request they passed, as name/value pairs
   * (one pair per name), applied by their response phase; null or absent when none.
   */
  limitFields?: string[] | null;
  /**
   * Reads the whole request body (at most `limit` bytes) into memory; the gateway then forwards
   * exactly those bytes. Only policies that must see the body call it (request-validation):
   * bodies otherwise stream. Absent where the host offers no body access.
   */
  readBody?(limit: number): Promise<BodyRead>;
  /**
   * The client certificate the TLS listener verified against a configured CA (`clientAuth`) for
   * this connection, or null (plain listener, no certificate, or one that did not verify).
   * Absent where the host offers no TLS view.
   */
  peerCertificate?(): import('./identity/consumer-credentials.js').CertificateFacts | null;
}

/** Outcome of {@link PolicyContext.readBody}: the body (empty when there is none), or why not. */
export type BodyRead = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly reason: 'too_large' | 'aborted' };

/** A subscription the subscription policy found active for the caller, with its plan. */
export interface ActiveSubscription {
  readonly name: string;
  readonly plan: string;
  readonly planSpec: import('@tollgate/model').PlanSpec;
}

/** One failed field of a request (request-validation), in a problem's `errors` member. */
export interface ValidationIssue {
  readonly field: string;
  readonly message: string;
}

/** A problem reported by a policy; the runner renders it as `application/problem+json`. */
export interface PolicyProblem {
  /** Stable machine-readable code, e.g. `IP_FORBIDDEN`. */
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
  /** Fields that failed (request-validation), rendered as the problem's `errors` member. */
  readonly errors?: readonly ValidationIssue[];
}

/** A reply that stops the request in the access phase. The runner (never the policy) sends it. */
export interface PolicyReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A problem (rendered as problem+json with the request id) or a raw body. */
  readonly body: PolicyProblem | string | Buffer;
  /**
   * True when the reply stands in for the upstream's answer (a cache hit): the gateway then applies
   * the route's response header changes, response policies and response body changes to it, as
   * to an upstream response.
   */
  readonly asUpstream?: boolean;
}

/** The mutable response view given to `response` phase methods. */
export interface PolicyResponse {
  readonly status: number;
  /** Response headers (lower-case names) about to be sent; may be changed in place. */
  readonly headers: Record<string, string | string[] | undefined>;
}

/** See {@link PolicyInstance.gatewayAnswer}: the request's method and headers, the answer's headers (lower-case names, changed in place). */
export type GatewayAnswerStep = (method: string, requestHeaders: IncomingHttpHeaders, headers: Record<string, string | string[] | undefined>) => void;

/** Result of an access phase method: nothing (continue) or a reply (stop), maybe asynchronously. */
export type AccessResult = PolicyReply | undefined | Promise<PolicyReply | undefined>;

/** A configured policy, built once per config snapshot. */
export interface PolicyInstance {
  access?(ctx: PolicyContext): AccessResult;
  /**
   * Changes the response headers in place. Returns a problem when the response cannot be produced
   * (a header value from request data is not an RFC 9110 field value): the gateway then answers
   * it, with the problem's code, instead of the upstream's response.
   */
  response?(ctx: PolicyContext, res: PolicyResponse): PolicyProblem | undefined | void;
  /**
   * The same change as `response`, for a policy whose `response` only sets fields it builds itself:
   * appends them to a flat head as name/value pairs (lower-case names; values valid RFC 9110 §5.5
   * field values by construction, as such a head is written without Node's per-field check). When
   * every response policy of a route has it and the route changes no response header, a streamed
   * answer's head stays a flat list (issue #16: no header object, no validation per field).
   */
  responseFields?(ctx: PolicyContext, head: (string | string[])[]): void;
  /**
   * Adds to an answer the gateway produced itself, which never passes the response phase (a
   * policy's refusal, an upstream error or timeout, a body too large, overload), the headers this
   * policy gives every answer of its route: CORS, so that a browser app can read why it was
   * refused (Kong and APISIX do the same for plugin-generated errors). Synchronous, no I/O.
   */
  gatewayAnswer?: GatewayAnswerStep;
  /**
   * Changes a JSON request body. Only routes with such a policy have their request body buffered
   * (up to `maxBytes`, else 413), and only `application/json` / `+json` bodies are given to it.
   */
  readonly requestJson?: JsonBodyHook<(ctx: PolicyContext, body: unknown) => unknown>;
  /** Changes a JSON response body, after the response phase (the body is buffered up to `maxBytes`, else 502). */
  readonly responseJson?: JsonBodyHook<(ctx: PolicyContext, res: PolicyResponse, body: unknown) => unknown>;
  /**
   * Offered the upstream's answer (status and headers as received, before any response change);
   * returns a sink when it wants the body (the gateway tees up to `maxBytes` while streaming it to
   * the client and calls `done` with the whole body), else null. Used by the response cache.
   */
  capture?(ctx: PolicyContext, status: number, headers: Readonly<Record<string, string | string[] | undefined>>): BodySink | null;
}

/** A body hook and the largest body it is given. */
export interface JsonBodyHook<F> {
  readonly maxBytes: number;
  readonly apply: F;
}

/** Where a captured response body goes (see `PolicyInstance.capture`). */
export interface BodySink {
  readonly maxBytes: number;
  /** The complete body; not called when it exceeded `maxBytes` or the stream failed. */
  done(body: Buffer): void;
}

/** Minimal logger a policy may use (pino-compatible). */
export interface PolicyLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Where authentication policies read the current consumer index (swapped with each config snapshot). */
export interface IdentitySource {
  readonly current: import('./identity/index.js').IdentityIndex;
}

/** Where the generated `subscription` policy reads the serving subscription index (swapped with each snapshot). */
export interface SubscriptionSource {
  readonly current: import('./subscription/table.js').SubscriptionTable;
}

/** Runtime dependencies handed to `build` when the gateway installs a snapshot. */
export interface PolicyDeps {
  readonly logger: PolicyLogger;
  /** The consumer index; without it, authentication policies know no consumer (they fail closed). */
  readonly identity?: IdentitySource;
  /**
   * The serving subscription index (the compiler's table of the snapshot, then changed in place
   * from the change feed); the generated `subscription` policy reads it per request.
   */
  readonly subscriptions?: SubscriptionSource;
  /** JWKS caches shared across snapshots (so a config change does not refetch every key set). */
  readonly jwks?: import('./jwt-auth/jwks.js').JwksRegistry;
  /** Shared counters for limits (Redis across nodes); without it limits count in process. */
  readonly counters?: import('./rate-limit/counters.js').LimitCounters;
  /** In-process counters for fail-open while the shared store is unreachable. */
  readonly fallbackCounters?: import('./rate-limit/counters.js').LimitCounters;
  /** Seed marker of the plan quota counters (present when usage metering re-seeds them into Redis). */
  readonly quotaGuard?: import('./rate-limit/counters.js').QuotaGuard;
  /** Observer of decisions taken without the shared store (metrics). */
  readonly limitEvents?: import('./rate-limit/counters.js').LimitEvents;
  /**
   * Hears the SHA-256 digest of each API key that matched no active key (synchronous, no I/O): the
   * usage meter checks them against revoked keys at flush time (`api_key.used_after_revocation`).
   */
  readonly unknownKey?: (sha256Hex: string) => void;
  /** Clock for limit windows and calendar quotas (tests inject one). Default `Date.now`. */
  readonly now?: () => number;
  /** Tollgate's own token issuer (signing keys shared by every node): used by oauth2-token, oauth2-jwks and jwt-auth `issuer: tollgate`. Without it they fail closed (503). */
  readonly tokenSigner?: import('./oauth2-token/signer.js').TokenSigner;
  /** Response cache storage (memory, and Redis when configured), shared across snapshots; without it the cache keeps a private in-memory store. */
  readonly responseCache?: import('./response-cache/store.js').CacheStorages;
}

/**
 * One error a policy (or the gateway) answers with: a stable code, its HTTP status and title,
 * and a sentence for the error catalogue (docs/errors.md). Declared once, where the error is
 * raised, and read from there by the reply builders, the catalogue and the docs.
 */
export interface ErrorSpec {
  readonly code: string;
  /** HTTP status; 0 when the status is not the gateway's to choose (configured, or the upstream's). */
  readonly status: number;
  readonly title: string;
  readonly description: string;
}

/** The errors of one policy (or part of the gateway) by code. */
export type ErrorSpecs = Readonly<Record<string, ErrorSpec>>;

/**
 * What the compiler, the importers and the admin need to know of a policy kind without loading
 * its runtime code: name, priority, phases, flags, config schema and errors. Each policy folder
 * declares it in `definition.ts` (see `definitions.ts`, the light entry point).
 */
export interface PolicyMeta<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** Higher runs first within a phase; see {@link PRIORITY}. */
  readonly priority: number;
  readonly phases: readonly Phase[];
  readonly schema: S;
  /** Every error the policy can answer with; a test checks each code it raises is declared here. */
  readonly errors: ErrorSpecs;
  /** One sentence for the policy reference. */
  readonly summary: string;
  /** True for authentication policies: the runner adds the 401 gate after the last of them. */
  readonly authenticates?: boolean;
  /** True for policies that judge a credential of their own (key-auth, jwt-auth): in an `auth.mode: all` route each must accept one (see runner `withAuthGate`). */
  readonly credentials?: boolean;
}

/** A policy kind: its definition (see {@link PolicyMeta}) and how to build an instance from a config. */
export interface PolicyDefinition<S extends z.ZodType = z.ZodType> extends PolicyMeta<S> {
  build(config: z.output<S>, deps: PolicyDeps): PolicyInstance;
}
