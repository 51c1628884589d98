import { z } from 'zod';
import { httpFieldName, resourceName } from './common.js';
import type { ConfigIssue } from './issues.js';

/**
 * The states of an API through its life. `draft` is hidden (except to preview consumers),
 * `published` is served normally, `deprecated` is served with `Deprecation` (RFC 9745) and
 * `Sunset` (RFC 8594) headers, `retired` answers 410 Gone.
 */
export const LIFECYCLE_STATES = ['draft', 'published', 'deprecated', 'retired'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/**
 * Allowed transitions. Nothing leaves `retired`; a published API never goes back to `draft`
 * (its consumers already depend on it). `deprecated -> published` ("undeprecate") is allowed:
 * an operator may withdraw a deprecation before the sunset (RFC 9745 does not forbid it), but
 * not after an `autoRetire` sunset has passed, since the API is then retired in effect.
 */
export const LIFECYCLE_TRANSITIONS: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = Object.freeze({
  draft: Object.freeze(['published', 'retired'] as const),
  published: Object.freeze(['deprecated', 'retired'] as const),
  deprecated: Object.freeze(['published', 'retired'] as const),
  retired: Object.freeze([] as const),
});

/** Largest number of transitions kept in `lifecycle.history` (the oldest are dropped; the audit log keeps all). */
export const MAX_LIFECYCLE_HISTORY = 50;

const rfc3339 = z.iso.datetime({ offset: true });

export const lifecycleTransitionSchema = z
  .strictObject({
    from: z.enum(LIFECYCLE_STATES).describe('State before the transition.'),
    to: z.enum(LIFECYCLE_STATES).describe('State after the transition.'),
    at: rfc3339.describe('RFC 3339 time the transition was committed.'),
  })
  .describe('One recorded state transition.');

export const lifecycleSchema = z
  .strictObject({
    state: z.enum(LIFECYCLE_STATES).default('published').describe('`draft` (hidden: 404 except to `previewConsumers`), `published`, `deprecated` (served with Deprecation/Sunset/Link headers) or `retired` (410 Gone).'),
    deprecatedAt: rfc3339.optional().describe('RFC 3339 time of the deprecation, sent as `Deprecation: @<epoch seconds>` (RFC 9745). Filled in with the transition time when an API becomes deprecated without one.'),
    sunsetAt: rfc3339.optional().describe('RFC 3339 time after which the API may stop answering, sent as `Sunset: <HTTP-date>` (RFC 8594) while deprecated.'),
    successor: resourceName.optional().describe('Name of the Api that replaces this one: linked with `rel="successor-version"` while deprecated and named in the 410 once retired.'),
    link: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      // Sent in `Link: <url>; rel="deprecation"`: the URL parser drops tabs and newlines, so the raw
      // text is checked too (visible ASCII without <, > or ", RFC 8288 §3 URI-Reference).
      .refine((u) => /^[\x21-\x7e]+$/.test(u) && !/[<>"]/.test(u), 'must be visible ASCII without "<", ">" or \'"\' (a URI, RFC 3986)')
      .optional().describe('URL of documentation about the deprecation, linked with `rel="deprecation"` (RFC 9745 §3).'),
    autoRetire: z.boolean().default(false).describe('Once `sunsetAt` has passed, a deprecated API answers as retired (410) without a config change; needs `sunsetAt`.'),
    previewConsumers: z.array(resourceName).max(1000).default([]).describe('Consumers that may call the API while it is a draft; they must authenticate through one of its auth policies.'),
    transitionedAt: rfc3339.optional().describe('Set by Tollgate: RFC 3339 time of the last state change.'),
    history: z.array(lifecycleTransitionSchema).max(MAX_LIFECYCLE_HISTORY).optional().describe(`Set by Tollgate: the last ${MAX_LIFECYCLE_HISTORY} state transitions, oldest first. An apply that omits it keeps the stored history.`),
    appliedState: z.enum(LIFECYCLE_STATES).optional().describe('Set by Tollgate: the state the last applied document declared. Re-applying a document that declares that same state keeps the stored lifecycle (a transition made since with `tollgate api lifecycle` stands); declaring another state requests that transition.'),
  })
  .superRefine((l, ctx) => {
    if (l.autoRetire && l.sunsetAt === undefined) ctx.addIssue({ code: 'custom', path: ['autoRetire'], message: 'autoRetire needs sunsetAt' });
    if (l.sunsetAt !== undefined && l.deprecatedAt !== undefined && Date.parse(l.sunsetAt) < Date.parse(l.deprecatedAt)) ctx.addIssue({ code: 'custom', path: ['sunsetAt'], message: 'sunsetAt must not be before deprecatedAt' });
  })
  .describe('Where the API is in its life (see docs/lifecycle.md); omitted means published.');

export type Lifecycle = z.infer<typeof lifecycleSchema>;

export const VERSIONING_SCHEMES = ['path', 'header', 'mediaType'] as const;

export const versioningSchema = z
  .strictObject({
    scheme: z.enum(VERSIONING_SCHEMES).describe('How clients name a version: `path` (`/<version>/<basePath>...`), `header` (`Accept-Version: v2`, see `header`) or `mediaType` (`Accept: application/json; version=2`). Versions of one product must use the same scheme.'),
    header: httpFieldName
      .default('accept-version')
      .describe('Header naming the version for the `header` scheme; its value is the version label, with or without a leading `v` (case-insensitive).'),
    default: z.boolean().default(false).describe('This version also serves requests that name no version: `path` under the unprefixed basePath, `header` when the header is absent, `mediaType` when `Accept` has no `version` parameter. At most one per product.'),
  })
  .describe('Version selection among the Apis of one `product`.');

export type Versioning = z.infer<typeof versioningSchema>;

/** Spec fields of an Api that the lifecycle functions read. */
interface LifecycleHolder {
  kind: string;
  metadata: { name: string };
  spec: unknown;
}

function lifecycleOf(r: LifecycleHolder): Lifecycle | undefined {
  return (r.spec as { lifecycle?: Lifecycle }).lifecycle;
}

/**
 * The state an API is in at `now`: its declared state, except that a deprecated API with
 * `autoRetire` counts as retired from its `sunsetAt` on.
 */
export function effectiveLifecycleState(l: Pick<Lifecycle, 'state' | 'autoRetire' | 'sunsetAt'> | undefined, now: number): LifecycleState {
  if (l === undefined) return 'published';
  if (l.state === 'deprecated' && l.autoRetire && l.sunsetAt !== undefined && now >= Date.parse(l.sunsetAt)) return 'retired';
  return l.state;
}

/** Whether `from -> to` is allowed (a state "changing" to itself always is). */
export function transitionAllowed(from: LifecycleState, to: LifecycleState): boolean {
  return from === to || LIFECYCLE_TRANSITIONS[from].includes(to);
}

/** Why a transition is refused, for messages. */
export function transitionRefusal(name: string, from: LifecycleState, to: LifecycleState, effective: LifecycleState): string {
  const allowed = LIFECYCLE_TRANSITIONS[effective];
  const why = effective !== from ? ` (it is ${from} with autoRetire and its sunset has passed, so it counts as ${effective})` : '';
  return `Api/${name} cannot go from ${effective} to ${to}${why}; allowed from ${effective}: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`;
}

/** Result of {@link reconcileLifecycle}: the resource to store, or the reason it is refused. */
export type LifecycleReconcile<R> = { ok: true; resource: R } | { ok: false; issue: ConfigIssue };

/**
 * Run by the config store inside the apply transaction, for every Api written, with the stored
 * version (`before`) when there is one. It
 * - refuses an illegal state change (`invalid_transition`), whichever way it arrives (the
 *   lifecycle endpoint, `POST /config`, `PUT /apis/{name}`);
 * - records a state change: `transitionedAt` and a `history` entry at `now`, and `deprecatedAt`
 *   when an API becomes deprecated without one;
 * - keeps the stored `lifecycle` block when the incoming document has none, and the stored
 *   bookkeeping (`transitionedAt`, `history`) when the incoming block omits it: re-applying a
 *   hand-written file that never mentions the lifecycle neither undoes a deprecation made with
 *   `tollgate api lifecycle` nor erases its history (and is reported unchanged). To change the
 *   state through a file, write `lifecycle.state`;
 * - three-way, like kubectl's last-applied configuration: a document without `appliedState` (a
 *   file, PUT) that declares the same state as the last applied document did, while the stored
 *   state has moved on since, keeps the stored lifecycle whole, so re-applying an unchanged file after `tollgate api lifecycle … retired`
 *   is a no-op instead of a refused `retired -> draft`. A document declaring a different state
 *   requests that transition, validated against the stored state. Writes that carry the stored
 *   `appliedState` (the lifecycle endpoint, a re-applied export) are transitions as they are.
 * Resources of other kinds, and Apis that never had a lifecycle block, pass unchanged.
 */
export function reconcileLifecycle<R extends LifecycleHolder>(before: R | undefined, after: R, now: number): LifecycleReconcile<R> {
  if (after.kind !== 'Api') return { ok: true, resource: after };
  const prev = before === undefined ? undefined : lifecycleOf(before);
  const next = lifecycleOf(after);
  if (next === undefined) return prev === undefined ? { ok: true, resource: after } : { ok: true, resource: { ...after, spec: { ...(after.spec as object), lifecycle: prev } } };
  const at = new Date(now).toISOString();
  const from: LifecycleState | null = before === undefined ? null : (prev?.state ?? 'published');
  const to: LifecycleState = next.state;
  const declaration = next.appliedState === undefined;
  if (declaration && from !== null && from !== to && prev?.appliedState === to) {
    // The document still says what it said at the last apply: the state moved on since through
    // the lifecycle endpoint (or not at all), and the stored block is the truth.
    return { ok: true, resource: { ...after, spec: { ...(after.spec as object), lifecycle: prev } } };
  }
  if (from !== null) {
    const effective = effectiveLifecycleState(prev, now);
    // Keeping the state but switching autoRetire off or moving the sunset would revive an API
    // that an autoRetire sunset has already retired: that is leaving retired, too.
    const revives = from === to && effective === 'retired' && from !== 'retired' && (!next.autoRetire || next.sunsetAt !== prev?.sunsetAt);
    if ((from !== to && !transitionAllowed(effective, to)) || revives) {
      return { ok: false, issue: { code: 'invalid_transition', message: transitionRefusal(after.metadata.name, from, to, effective), resource: `Api/${after.metadata.name}`, path: 'spec.lifecycle.state' } };
    }
  }
  const merged: Lifecycle = { ...next };
  if (merged.transitionedAt === undefined && prev?.transitionedAt !== undefined) merged.transitionedAt = prev.transitionedAt;
  if (merged.history === undefined && prev?.history !== undefined) merged.history = prev.history;
  // A file that omits deprecatedAt in the same state keeps the stored one (set by Tollgate at the
  // deprecation), so re-applying it changes nothing.
  if (declaration && from === to && merged.deprecatedAt === undefined && prev?.deprecatedAt !== undefined) merged.deprecatedAt = prev.deprecatedAt;
  if (from !== null && from !== to) {
    merged.transitionedAt = at;
    merged.history = [...(merged.history ?? []), { from, to, at }].slice(-MAX_LIFECYCLE_HISTORY);
  }
  // A document re-declaring an existing deprecation keeps its date (else every apply would move it).
  if (to === 'deprecated' && merged.deprecatedAt === undefined) merged.deprecatedAt = from === 'deprecated' && prev?.deprecatedAt !== undefined ? prev.deprecatedAt : at;
  if (declaration) merged.appliedState = to;
  else if (prev?.appliedState !== undefined) merged.appliedState = prev.appliedState;
  return { ok: true, resource: { ...after, spec: { ...(after.spec as object), lifecycle: merged } } };
}
