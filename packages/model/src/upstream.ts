import { z } from 'zod';
import { durationMs } from './common.js';

/** One backend instance. Only scheme, host and port are taken from `url`. */
export const targetSchema = z
  .strictObject({
    url: z
      .string()
      .refine((s) => {
        try {
          const u = new URL(s);
          return (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be an http:// or https:// origin (scheme, host, optional port; no path, query or credentials)')
      .describe('Origin of the target, e.g. `http://10.0.0.5:8080`.'),
    weight: z.number().int().min(0).max(10_000).default(100).describe('Relative share of traffic; 0 takes the target out of rotation.'),
    labels: z.record(z.string(), z.string()).default({}).describe('Labels, used to select subsets of targets.'),
  })
  .describe('A backend instance of the upstream.');

export const upstreamTimeoutsSchema = z
  .strictObject({
    connectMs: durationMs.default(5_000).describe('Time allowed to open a TCP (and TLS) connection; past it the gateway answers 504.'),
    responseHeadersMs: durationMs.default(60_000).describe('Time allowed from sending the request until the response headers arrive; past it 504.'),
    idleMs: durationMs.default(60_000).describe('Longest silence allowed while streaming the response body before the exchange is aborted.'),
  })
  .describe('Upstream timeouts in milliseconds.');

export const upstreamSpecSchema = z
  .strictObject({
    targets: z.array(targetSchema).min(1).describe('Backend instances; at least one.'),
    loadBalancing: z.enum(['round-robin']).default('round-robin').describe('How a target is chosen: smooth weighted round robin over targets with weight > 0.'),
    timeouts: upstreamTimeoutsSchema.default({ connectMs: 5_000, responseHeadersMs: 60_000, idleMs: 60_000 }),
    maxConnectionsPerTarget: z.number().int().min(1).max(10_000).default(128).describe('Keep-alive connection pool size per target.'),
  })
  .describe('A named group of backend targets that routes send traffic to.')
  .superRefine((spec, ctx) => {
    if (!spec.targets.some((t) => t.weight > 0)) ctx.addIssue({ code: 'custom', path: ['targets'], message: 'at least one target must have a weight above 0' });
    const seen = new Set<string>();
    spec.targets.forEach((t, i) => {
      const origin = safeOrigin(t.url);
      if (origin && seen.has(origin)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'url'], message: `duplicate target ${origin}` });
      if (origin) seen.add(origin);
    });
  });

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export type UpstreamSpec = z.infer<typeof upstreamSpecSchema>;
export type Target = z.infer<typeof targetSchema>;
