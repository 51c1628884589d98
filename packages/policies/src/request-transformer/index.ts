import type { PolicyContext, PolicyDefinition, PolicyInstance } from '../types.js';
import { applyJsonOps, compileJsonOps, hasJsonOps } from './json-ops.js';
import { requestTransformerSchema } from './schema.js';
import { invalidHeaderReplies } from '../header-value.js';
import { decode, parseTemplate, renderHeader, renderString, type Template } from './template.js';
import { requestTransformerDefinition } from './definition.js';

type Named = ReadonlyArray<readonly [string, Template]>;
const templates = (r: Readonly<Record<string, string>>): Named => Object.entries(r).map(([k, v]) => [k, parseTemplate(v)] as const);

function header(ctx: PolicyContext, name: string): string | undefined {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** `name=value` pairs of a raw query string, kept encoded so untouched pairs pass byte for byte. */
function pairs(query: string | null): Array<{ raw: string; name: string }> {
  if (query === null || query === '') return [];
  return query.split('&').map((raw) => {
    const eq = raw.indexOf('=');
    return { raw, name: decode(eq === -1 ? raw : raw.slice(0, eq)) };
  });
}

const encode = (s: string) => encodeURIComponent(s);

/**
 * `request-transformer` (Kong's name): changes headers, query parameters and JSON body fields of
 * the request going upstream. Runs in the transforms band, after authentication, authorization and
 * limits, so templates can use the consumer. Header changes go through the context (applied after
 * the gateway's hop-by-hop stripping; gateway-set identity headers cannot be removed); the query
 * is rewritten in `ctx.query`; body changes are a `requestJson` hook, so only routes that change
 * the body have it buffered.
 */
export const requestTransformer: PolicyDefinition<typeof requestTransformerSchema> = {
  ...requestTransformerDefinition,
  build(config) {
    const h = config.headers;
    const hSet = templates(h.set);
    const hAdd = templates(h.add);
    const q = config.query;
    const qRemove = new Set(q.remove);
    // Rename targets and set/add names are encoded here, once, not per request.
    const qRename = new Map(q.rename.map((r) => [r.from, { name: r.to, encoded: encode(r.to) }]));
    const qSet = templates(q.set);
    const qSetNames = new Set(qSet.map(([n]) => n));
    const qAdd = templates(q.add);
    const encoded = new Map([...qSet, ...qAdd].map(([n]) => [n, encode(n)]));
    const touchesQuery = qRemove.size + qRename.size + qSet.length + qAdd.length > 0;
    const body = compileJsonOps(config.body);
    const refusals = invalidHeaderReplies([...hSet, ...hAdd].map(([n]) => n));

    const instance: PolicyInstance = {
      access(ctx) {
        // Headers: remove, rename, set, add (Kong's order). Templates read the request as received.
        for (const n of h.remove) ctx.removeUpstreamHeader(n);
        for (const r of h.rename) {
          const v = header(ctx, r.from);
          if (v === undefined) continue;
          ctx.removeUpstreamHeader(r.from);
          ctx.setUpstreamHeader(r.to, v);
        }
        for (const [n, t] of hSet) {
          const v = renderHeader(t, ctx, ctx.query);
          // Request data that is no field value (CR/LF from a decoded query or capture, a claim):
          // refused here, before anything is sent, so it can neither inject nor fail upstream.
          if (v === null) return refusals.get(n);
          // `set` owns the field: without a value the client's copy is removed, never passed on.
          if (v !== undefined) ctx.setUpstreamHeader(n, v);
          else ctx.removeUpstreamHeader(n);
        }
        for (const [n, t] of hAdd) {
          if (ctx.headers[n] !== undefined) continue;
          const v = renderHeader(t, ctx, ctx.query);
          if (v === null) return refusals.get(n);
          if (v !== undefined) ctx.setUpstreamHeader(n, v);
        }
        if (touchesQuery) {
          const before = ctx.query;
          const out: string[] = [];
          const present = new Set<string>();
          for (const p of pairs(before)) {
            if (qRemove.has(p.name) || qSetNames.has(p.name)) continue;
            const to = qRename.get(p.name);
            if (to !== undefined) {
              const eq = p.raw.indexOf('=');
              out.push(eq === -1 ? to.encoded : `${to.encoded}${p.raw.slice(eq)}`);
              present.add(to.name);
            } else {
              out.push(p.raw);
              present.add(p.name);
            }
          }
          for (const [n, t] of qSet) {
            const v = renderString(t, ctx, before);
            if (v !== undefined) {
              out.push(`${encoded.get(n) as string}=${encode(v)}`);
              present.add(n);
            }
          }
          for (const [n, t] of qAdd) {
            if (present.has(n)) continue;
            const v = renderString(t, ctx, before);
            if (v !== undefined) out.push(`${encoded.get(n) as string}=${encode(v)}`);
          }
          ctx.query = out.length === 0 ? null : out.join('&');
        }
        return undefined;
      },
    };
    if (!hasJsonOps(config.body)) return instance;
    return { ...instance, requestJson: { maxBytes: config.maxBodyBytes, apply: (ctx, value) => applyJsonOps(body, value, ctx) } };
  },
};
