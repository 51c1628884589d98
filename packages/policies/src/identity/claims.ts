import { z } from 'zod';
import { authReply, quoted } from './consumer-headers.js';
import { CLAIM_ERRORS } from './errors.js';
import type { PolicyReply } from '../types.js';

/** Schema fields for scope and claim requirements (shared by jwt-auth and acl). */
export const claimRequirementsShape = {
  requiredScopes: z.array(z.string().min(1).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token (RFC 6749 §3.3)')).default([]).describe('Scopes the token must all carry (`scope` claim, space-separated, or `scp` array); else 403 INSUFFICIENT_SCOPE.'),
  claimValues: z
    .array(z.strictObject({ claim: z.string().min(1).describe('Claim name.'), equals: z.union([z.string(), z.number(), z.boolean()]).describe('Required value (an array claim must contain it).') }))
    .default([])
    .describe('Claims that must have a value; else 403 CLAIM_MISMATCH.'),
};

/** Compiled scope/claim requirements: checks verified claims and answers 403 when unmet. */
export class ClaimRequirements {
  readonly #scopes: readonly string[];
  readonly #claims: ReadonlyArray<{ claim: string; equals: string | number | boolean }>;
  readonly #scopeReply: PolicyReply;
  readonly #claimReply: PolicyReply;

  constructor(scopes: readonly string[], claims: ReadonlyArray<{ claim: string; equals: string | number | boolean }>) {
    this.#scopes = scopes;
    this.#claims = claims;
    // RFC 6750 §3.1: insufficient_scope is a 403 with the scope needed.
    this.#scopeReply = authReply(CLAIM_ERRORS.INSUFFICIENT_SCOPE, `the token lacks a required scope (${scopes.join(' ')})`, `Bearer error="insufficient_scope", scope=${quoted(scopes.join(' '))}`);
    this.#claimReply = authReply(CLAIM_ERRORS.CLAIM_MISMATCH, 'the token does not carry the claims this route requires');
  }

  /** True when nothing is required. */
  get empty(): boolean {
    return this.#scopes.length === 0 && this.#claims.length === 0;
  }

  /** Undefined when `claims` meet every requirement, else the 403 reply. Null claims meet none. */
  check(claims: Readonly<Record<string, unknown>> | null): PolicyReply | undefined {
    if (this.#scopes.length > 0) {
      const granted = scopesOf(claims);
      for (const s of this.#scopes) if (!granted.includes(s)) return this.#scopeReply;
    }
    for (const { claim, equals } of this.#claims) {
      const v = claims?.[claim];
      if (Array.isArray(v) ? !v.includes(equals) : v !== equals) return this.#claimReply;
    }
    return undefined;
  }
}

/** Scopes granted by a token: `scope` (space-separated string, RFC 8693 §4.2) or `scp` (array or string). */
function scopesOf(claims: Readonly<Record<string, unknown>> | null): readonly string[] {
  if (claims === null) return [];
  const s = claims.scope ?? claims.scp;
  if (typeof s === 'string') return s.split(' ');
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  return [];
}
