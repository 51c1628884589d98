import type { ConsumerIdentity, PolicyContext, PolicyInstance, PolicyProblem, PolicyReply, PolicyResponse } from './types.js';
import { problemOf } from './errors.js';
import { SHARED_ERRORS } from './shared-errors.js';


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
    if (typeof (r as Promise<unknown>).then === 'function') {
      // The last step's promise is the chain's answer (a limit, usually): no async frame around it.
      if (i === steps.length - 1) return r as Promise<PolicyReply | undefined>;
      return continueAsync(steps, i + 1, r as Promise<PolicyReply | undefined>, ctx);
    }
    return r as PolicyReply;
  }
  return undefined;
}

/**
 * Runs response steps in order; they change `res.headers` in place. Returns the problem of the
 * first step that could not produce a valid response (a header template whose request data is
 * not a field value): the gateway answers it instead of the response, later steps do not run.
 */
export function runResponse(steps: readonly ResponseStep[], ctx: PolicyContext, res: PolicyResponse): PolicyProblem | undefined {
  for (let i = 0; i < steps.length; i++) {
    const p = (steps[i] as ResponseStep)(ctx, res) as PolicyProblem | undefined;
    if (p !== undefined) return p;
  }
  return undefined;
}

/** An instance's bound `responseFields` method. */
export type ResponseFieldsStep = NonNullable<PolicyInstance['responseFields']>;

/**
 * The flat-head form of {@link runResponse}: the steps append their fields to `head` (name/value
 * pairs, the upstream's from index 0), and an earlier field of a name a step set is dropped, so the
 * step's value replaces it as it would in the header object.
 */
export function runResponseFields(steps: readonly ResponseFieldsStep[], ctx: PolicyContext, head: (string | string[])[]): void {
  const from = head.length;
  for (let i = 0; i < steps.length; i++) (steps[i] as ResponseFieldsStep)(ctx, head);
  const end = head.length;
  if (end === from) return;
  let out = 0;
  for (let i = 0; i < end; i += 2) {
    const name = head[i] as string;
    let replaced = false;
    // A name set again later (by a step, or by a step after this one) is written once, last value.
    for (let j = Math.max(i + 2, from); j < end && !replaced; j += 2) if (head[j] === name) replaced = true;
    if (replaced) continue;
    if (out !== i) {
      head[out] = name;
      head[out + 1] = head[i + 1] as string | string[];
    }
    out += 2;
  }
  head.length = out;
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
    status: SHARED_ERRORS.AUTH_REQUIRED.status,
    headers: { 'www-authenticate': challenges != null && challenges.length > 0 ? challenges.join(', ') : DEFAULT_CHALLENGE },
    body: AUTH_REQUIRED,
  };
}

const AUTH_REQUIRED = Object.freeze(problemOf(SHARED_ERRORS.AUTH_REQUIRED, 'this route requires a credential (see WWW-Authenticate)'));

/**
 * How a route combines its authentication policies (`auth.mode` of an Api or route):
 * - `any` (default): the first policy that accepts a credential identifies the caller; later
 *   ones skip the request (logical OR).
 * - `all`: every credential policy must accept its own credential, and all must identify the same
 *   consumer (logical AND, as Kong runs several auth plugins configured without `anonymous`).
 */
export type AuthMode = 'any' | 'all';

/** Per-request progress of `all` mode, kept on the context under a private symbol. */
interface AllModeState {
  seen: boolean;
  missing: boolean;
  consumer: ConsumerIdentity | null;
  claims: Readonly<Record<string, unknown>> | null;
  credential: string | null;
}

const ALL_MODE = Symbol('tollgate.authAllMode');

/** The writable view of the context the runner uses in `all` mode (RequestContext's fields are plain). */
type AuthFields = {
  authenticated: boolean;
  consumer: ConsumerIdentity | null;
  claims: Readonly<Record<string, unknown>> | null;
  credential: string | null;
  challenges?: string[] | null;
  [ALL_MODE]?: AllModeState;
};

const CREDENTIALS_MISMATCH = Object.freeze(problemOf(SHARED_ERRORS.CREDENTIALS_MISMATCH, 'this route requires several credentials and they do not belong to the same consumer'));

/**
 * After one credential policy ran in `all` mode without replying: records a missing credential,
 * or checks that the consumer it identified is the one earlier policies identified.
 */
function afterAllModeStep(ctx: PolicyContext): PolicyReply | undefined {
  const c = ctx as unknown as AuthFields;
  const st = c[ALL_MODE] as AllModeState;
  if (!c.authenticated) {
    // No credential for this policy (its challenge is recorded): keep running the others, so
    // each strips its own credential and adds its challenge, and let the gate answer 401.
    st.missing = true;
  } else if (st.seen && (st.consumer?.name ?? null) !== (c.consumer?.name ?? null)) {
    // Two valid credentials of different consumers (or one of no consumer) never combine into
    // one identity: whose limits, ACL groups and identity headers would apply? Refused outright.
    c.authenticated = false;
    return { status: SHARED_ERRORS.CREDENTIALS_MISMATCH.status, headers: { 'www-authenticate': DEFAULT_CHALLENGE }, body: CREDENTIALS_MISMATCH };
  } else {
    // Same consumer: keep the first credential id (priority order) and any verified JWT claims.
    st.claims = c.claims ?? st.claims;
    st.credential = st.credential ?? c.credential;
    st.consumer = c.consumer;
    st.seen = true;
  }
  // What later policies (and lifecycle-preview) see: authenticated only while nothing is missing.
  c.authenticated = st.seen && !st.missing;
  c.consumer = st.seen ? st.consumer : null;
  c.claims = st.claims;
  c.credential = st.credential;
  return undefined;
}

/** Wraps a credential policy's step for `all` mode: it judges its credential as if it ran alone. */
function allModeStep(step: AccessStep, first: boolean): AccessStep {
  return (ctx) => {
    const c = ctx as unknown as AuthFields;
    if (first || c[ALL_MODE] === undefined) c[ALL_MODE] = { seen: false, missing: false, consumer: null, claims: null, credential: null };
    // Hide earlier acceptances, or the policy would skip the request as in `any` mode.
    c.authenticated = false;
    const r = step(ctx);
    if (r === undefined) return afterAllModeStep(ctx);
    if (typeof (r as Promise<unknown>).then === 'function') return (r as Promise<PolicyReply | undefined>).then((x) => (x !== undefined ? x : afterAllModeStep(ctx)));
    return r;
  };
}

/**
 * Inserts {@link authGate} right after the last authentication step of a route's access chain
 * (`authenticates` marks them), so authorization and limits only ever see authenticated callers.
 * `names[i]` is the policy name of `steps[i]`. In `all` mode the steps of credential policies
 * (`isCredential`, default `isAuth`) are wrapped so each must accept its own credential for the
 * same consumer; the gate then refuses a request any of them found no credential in.
 */
export function withAuthGate(names: readonly string[], steps: readonly AccessStep[], isAuth: (name: string) => boolean, mode: AuthMode = 'any', isCredential: (name: string) => boolean = isAuth): AccessStep[] {
  let last = -1;
  for (let i = 0; i < names.length; i++) if (isAuth(names[i] as string)) last = i;
  if (last === -1) return [...steps];
  let out = [...steps];
  if (mode === 'all') {
    let first = true;
    out = out.map((s, i) => {
      if (!isCredential(names[i] as string)) return s;
      const w = allModeStep(s, first);
      first = false;
      return w;
    });
  }
  return [...out.slice(0, last + 1), authGate, ...out.slice(last + 1)];
}
