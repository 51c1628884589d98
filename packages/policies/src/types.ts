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
  limits: 1000,
  transforms: 500,
  metering: 0,
});

/** What a policy sees of the request. One object per request, shared by all policies. */
export interface PolicyContext {
  readonly requestId: string;
  /** Client address after applying the gateway's trusted-proxy rules. */
  readonly clientIp: string;
  readonly method: string;
  /** Normalized path (the one routed on). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly api: string;
  readonly route: string;
}

/** A problem reported by a policy; the runner renders it as `application/problem+json`. */
export interface PolicyProblem {
  /** Stable machine-readable code, e.g. `IP_FORBIDDEN`. */
  readonly code: string;
  readonly title: string;
  readonly detail?: string;
}

/** A reply that stops the request in the access phase. The runner (never the policy) sends it. */
export interface PolicyReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A problem (rendered as problem+json with the request id) or a raw body. */
  readonly body: PolicyProblem | string;
}

/** The mutable response view given to `response` phase methods. */
export interface PolicyResponse {
  readonly status: number;
  /** Response headers (lower-case names) about to be sent; may be changed in place. */
  readonly headers: Record<string, string | string[] | undefined>;
}

/** Result of an access phase method: nothing (continue) or a reply (stop), maybe asynchronously. */
export type AccessResult = PolicyReply | undefined | Promise<PolicyReply | undefined>;

/** A configured policy, built once per config snapshot. */
export interface PolicyInstance {
  access?(ctx: PolicyContext): AccessResult;
  response?(ctx: PolicyContext, res: PolicyResponse): void;
}

/** Minimal logger a policy may use (pino-compatible). */
export interface PolicyLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Runtime dependencies handed to `build` when the gateway installs a snapshot. */
export interface PolicyDeps {
  readonly logger: PolicyLogger;
}

/** A policy kind: its schema, when it runs, and how to build an instance from a config. */
export interface PolicyDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  /** Higher runs first within a phase; see {@link PRIORITY}. */
  readonly priority: number;
  readonly phases: readonly Phase[];
  readonly schema: S;
  build(config: z.output<S>, deps: PolicyDeps): PolicyInstance;
}
