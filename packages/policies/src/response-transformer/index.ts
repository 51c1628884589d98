import { applyJsonOps, compileJsonOps, hasJsonOps } from '../request-transformer/json-ops.js';
import { invalidHeaderProblem } from '../header-value.js';
import { parseTemplate, renderHeader } from '../request-transformer/template.js';
import type { PolicyDefinition, PolicyInstance, PolicyProblem } from '../types.js';
import { responseTransformerSchema } from './schema.js';
import { responseTransformerDefinition } from './definition.js';

/**
 * `response-transformer` (Kong's name): changes headers and JSON body fields of the response on
 * its way to the client, with the same templates as `request-transformer` (they read the request
 * and the consumer). Header changes run in the response phase; body changes are a `responseJson`
 * hook, so only routes that change the body have responses buffered.
 */
export const responseTransformer: PolicyDefinition<typeof responseTransformerSchema> = {
  ...responseTransformerDefinition,
  build(config) {
    const h = config.headers;
    const set = Object.entries(h.set).map(([k, v]) => [k, parseTemplate(v)] as const);
    const add = Object.entries(h.add).map(([k, v]) => [k, parseTemplate(v)] as const);
    const body = compileJsonOps(config.body);
    const problems = new Map<string, PolicyProblem>([...set, ...add].map(([n]) => [n, invalidHeaderProblem(n)]));
    const instance: PolicyInstance = {
      response(ctx, res) {
        const out = res.headers;
        for (const n of h.remove) delete out[n];
        for (const r of h.rename) {
          const v = out[r.from];
          if (v === undefined) continue;
          delete out[r.from];
          out[r.to] = v;
        }
        for (const [n, t] of set) {
          const v = renderHeader(t, ctx, ctx.query);
          // Not a field value: the gateway answers this problem instead of failing to write the head (a raw 500).
          if (v === null) return problems.get(n);
          if (v !== undefined) out[n] = v;
          else delete out[n];
        }
        for (const [n, t] of add) {
          if (out[n] !== undefined) continue;
          const v = renderHeader(t, ctx, ctx.query);
          if (v === null) return problems.get(n);
          if (v !== undefined) out[n] = v;
        }
        return undefined;
      },
    };
    if (!hasJsonOps(config.body)) return instance;
    return { ...instance, responseJson: { maxBytes: config.maxBodyBytes, apply: (ctx, _res, value) => applyJsonOps(body, value, ctx) } };
  },
};
