import { z } from 'zod';

/**
 * Config of the `lifecycle` policy. The compiler generates it from an Api's `lifecycle` and
 * `versioning` blocks (with the header values already rendered); operators do not write it.
 */
export const lifecyclePolicySchema = z
  .strictObject({
    api: z.string().min(1).describe('Name of the Api, for messages.'),
    state: z.enum(['published', 'deprecated', 'retired']).describe('Declared state (drafts are handled by `lifecycle-preview`).'),
    deprecation: z.string().nullable().default(null).describe('`Deprecation` field value (RFC 9745 structured date `@<epoch seconds>`) sent while deprecated.'),
    sunsetMs: z.number().nullable().default(null).describe('Sunset instant in epoch milliseconds, or null.'),
    autoRetire: z.boolean().default(false).describe('Answer as retired from `sunsetMs` on.'),
    links: z.array(z.string()).default([]).describe('`Link` field values sent while deprecated and on the 410 (successor-version, deprecation).'),
    successor: z.string().nullable().default(null).describe('Human description of the successor for the 410 detail, or null.'),
    vary: z.string().nullable().default(null).describe('Header name added to `Vary` on every answer (header and media-type versioning).'),
    refuseNamedVersion: z.boolean().default(false).describe('On the default version\'s fallback routes of `mediaType` versioning: an `Accept` naming a version (none of which matched) is answered 404 as if no route matched.'),
  })
  .describe('Generated from an Api\'s lifecycle and versioning: deprecation headers, 410 once retired, version fallback.');

export type LifecyclePolicyConfig = z.output<typeof lifecyclePolicySchema>;

/** Config of the `lifecycle-preview` policy (generated for draft Apis). */
export const lifecyclePreviewSchema = z
  .strictObject({
    consumers: z.array(z.string()).default([]).describe('Consumers allowed to call the draft.'),
  })
  .describe('Generated for a draft Api: only its preview consumers reach it; everyone else gets 404 as if it did not exist.');

export type LifecyclePreviewConfig = z.output<typeof lifecyclePreviewSchema>;
