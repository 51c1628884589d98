import { z } from 'zod';
import { fieldName } from '../field-name.js';

export const responseCacheSchema = z
  .strictObject({
    storage: z.enum(['memory', 'redis']).default('memory').describe('`memory`: per gateway process (LRU bounded by CACHE_MEMORY_MAX_ENTRIES / CACHE_MEMORY_MAX_BYTES); `redis`: shared by every gateway (needs REDIS_URL; without it the gateway falls back to memory and logs a warning).'),
    ttlSeconds: z.number().int().min(1).max(31_536_000).default(300).describe('Freshness lifetime when the response gives none (no s-maxage, max-age or Expires), or always when `cacheControl` is false.'),
    methods: z
      .array(z.enum(['GET', 'HEAD']))
      .min(1)
      .default(['GET', 'HEAD'])
      .describe('Request methods that are cached (safe methods only).'),
    statuses: z.array(z.number().int().min(200).max(599)).min(1).max(50).default([200, 301, 404]).describe('Response statuses that are stored.'),
    keyHeaders: z.array(fieldName).max(16).default([]).describe('Request headers whose values are part of the key (e.g. accept-language).'),
    perConsumer: z.boolean().default(false).describe('Key every entry by the authenticated consumer (each consumer gets its own copy, even of public answers). Without it, answers that may not be shared (`Cache-Control: private`, or to a request with credentials (Authorization, or a consumer an auth policy identified) not marked `public`/`s-maxage`) are still stored under the authenticated consumer\'s own key, and never for anonymous callers.'),
    ignoreCookies: z.boolean().default(false).describe('True: the upstream does not personalize on cookies, so a request with `Cookie` is cached like any other. Default false: a request that forwards a `Cookie` is neither served from nor stored into the cache unless the answer is explicitly public (`public`, `s-maxage` or `must-revalidate`), as Varnish passes them; listing `cookie` in `keyHeaders` also allows it (one entry per cookie value). Answers with `Set-Cookie` are never stored either way.'),
    cacheControl: z.boolean().default(true).describe('Honour request and response Cache-Control (RFC 9111). False: ignore the freshness directives of requests and responses and store every cacheable status for `ttlSeconds`; `no-store` and `private` are still respected, and Set-Cookie and Vary: * answers still never stored.'),
    maxBodyBytes: z.number().int().min(0).max(67_108_864).default(1_048_576).describe('Largest response body stored; larger ones pass through uncached.'),
  })
  .describe('Caches upstream responses (RFC 9111 shared-cache rules) in memory or Redis; adds `X-Cache: HIT|MISS|BYPASS`, `X-Cache-Key` and `Age`. Purge with `DELETE /cache` on the admin API.');

export type ResponseCacheConfig = z.output<typeof responseCacheSchema>;
