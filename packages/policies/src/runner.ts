import type { PolicyContext, PolicyInstance, PolicyReply, PolicyResponse } from './types.js';


/** An instance's bound access method; the runner calls these in priority order. */
export type AccessStep = NonNullable<PolicyInstance['access']>;
/** An instance's bound response method. */
export type ResponseStep = NonNullable<PolicyInstance['response']>;

async function continueAsync(steps: readonly AccessStep[], from: number, pending: Promise<PolicyReply | undefined>, ctx: PolicyContext): Promise<PolicyReply | undefined> {
  let r = await pending;
  if (r !== undefined) return r;
  for (let i = from; i < steps.length; i++) {
    r = await (steps[i] as AccessStep)(ctx);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * Runs access steps in order until one returns a reply. Stays synchronous while every step is
 * (no promise is allocated for the common sync case); switches to async at the first promise.
 */
export function runAccess(steps: readonly AccessStep[], ctx: PolicyContext): PolicyReply | undefined | Promise<PolicyReply | undefined> {
  for (let i = 0; i < steps.length; i++) {
    const r = (steps[i] as AccessStep)(ctx);
    if (r === undefined) continue;
    if (typeof (r as Promise<unknown>).then === 'function') return continueAsync(steps, i + 1, r as Promise<PolicyReply | undefined>, ctx);
    return r as PolicyReply;
  }
  return undefined;
}

/** Runs response steps in order; they change `res.headers` in place. */
export function runResponse(steps: readonly ResponseStep[], ctx: PolicyContext, res: PolicyResponse): void {
  for (let i = 0; i < steps.length; i++) (steps[i] as ResponseStep)(ctx, res);
}

/** Challenge sent when the auth gate refuses a request and no policy recorded one. */
const DEFAULT_CHALLENGE = 'Bearer realm="tollgate"';

/**
 * The auth gate: after every authentication policy of a route has run, a request none of them
 * authenticated (none found a credential: a policy that finds a bad one answers 401 itself) is
 * refused with 401 `AUTH_REQUIRED` and every policy's `WWW-Authenticate` challenge (RFC 9110 §11.6.1).
 */
export function authGate(ctx: PolicyContext): PolicyReply | undefined {
  if (ctx.authenticated) return undefined;
  const challenges = (ctx as { challenges?: readonly string[] | null }).challenges;
  return {
    status: 401,
    headers: { 'www-authenticate': challenges != null && challenges.length > 0 ? challenges.join(', ') : DEFAULT_CHALLENGE },
    body: AUTH_REQUIRED,
  };
}

const AUTH_REQUIRED = Object.freeze({ code: 'AUTH_REQUIRED', title: 'Unauthorized', detail: 'this route requires a credential (see WWW-Authenticate)' });

/**
 * Inserts {@link authGate} right after the last authentication step of a route's access chain
 * (`authenticates` marks them), so authorization and limits only ever see authenticated callers.
 * `names[i]` is the policy name of `steps[i]`.
 */
export function withAuthGate(names: readonly string[], steps: readonly AccessStep[], isAuth: (name: string) => boolean): AccessStep[] {
  let last = -1;
  for (let i = 0; i < names.length; i++) if (isAuth(names[i] as string)) last = i;
  if (last === -1) return [...steps];
  return [...steps.slice(0, last + 1), authGate, ...steps.slice(last + 1)];
}
