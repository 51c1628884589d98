import { RE2JS } from 're2js';
import type { PolicyContext, PolicyDefinition, PolicyReply, PolicyResponse } from '../types.js';
import { corsSchema, type CorsConfig } from './schema.js';
import { corsDefinition, CORS_ERRORS } from './definition.js';
import { problemReply } from '../errors.js';

/** Above authentication: a preflight carries no credentials (Fetch §3.2.2) and must not be refused for that. */

/** Precompiled origin matcher. */
interface OriginRule {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  /** `.example.com` suffixes with their scheme. */
  readonly wildcards: ReadonlyArray<{ readonly scheme: string; readonly suffix: string; readonly port: string }>;
  readonly regexes: readonly RE2JS[];
}

function originRule(c: CorsConfig): OriginRule {
  const exact = new Set<string>();
  const wildcards: Array<{ scheme: string; suffix: string; port: string }> = [];
  let any = false;
  for (const o of c.allowOrigins) {
    // The schema refuses "*" with credentials; never honour it there even if it got through.
    if (o === '*') any = !c.allowCredentials;
    else if (o.includes('://*.')) {
      const [scheme, rest] = o.split('://*') as [string, string];
      const m = /^(.*?)(:\d+)?$/.exec(rest);
      wildcards.push({ scheme, suffix: m?.[1] ?? rest, port: m?.[2] ?? '' });
    } else exact.add(o);
  }
  return { any, exact, wildcards, regexes: c.allowOriginRegexes.map((r) => RE2JS.compile(r)) };
}

/** A serialized origin (RFC 6454 §6.2) as a wildcard can match it: scheme, DNS host, optional port. */
const ORIGIN_PARTS = /^([a-z]+):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(:\d+)?$/;

/**
 * Origins compare as serialized ASCII origins (RFC 6454 §6.2): lower-case scheme and host. The
 * opaque origin `null` (RFC 6454 §7.3: sandboxed iframes, data: and file: documents — anyone can
 * send it) is echoed only when listed exactly; wildcards and regexes never admit it.
 */
function allowed(rule: OriginRule, origin: string): boolean {
  // `any` is only set without credentials, where the answer is "*" and nothing is reflected.
  if (rule.any) return true;
  const o = origin.toLowerCase();
  if (o === 'null') return rule.exact.has(o);
  if (rule.exact.has(o)) return true;
  if (rule.wildcards.length > 0) {
    const m = ORIGIN_PARTS.exec(o);
    if (m !== null) {
      const host = m[2] as string;
      for (const w of rule.wildcards) if (m[1] === w.scheme && (m[3] ?? '') === w.port && host.length > w.suffix.length && host.endsWith(w.suffix)) return true;
    }
  }
  for (const r of rule.regexes) if (r.testExact(o)) return true;
  return false;
}

/**
 * Fields the gateway puts on its own answers to tell a script why it was refused and when to try
 * again (RFC 9110 §10.2.3 Retry-After, §11.6.1 WWW-Authenticate, the RateLimit draft, the
 * request id to quote). None is CORS-safelisted (Fetch §3.2.4), so a browser hides them unless
 * exposed: on a gateway answer, those present are exposed along with `exposeHeaders`.
 */
const GATEWAY_FIELDS: readonly string[] = ['retry-after', 'www-authenticate', 'ratelimit', 'ratelimit-policy', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-quota-limit', 'x-quota-remaining', 'x-quota-reset', 'x-request-id'];

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** Appends `Origin` to Vary, since the answer depends on it (Fetch §3.2.5 "CORS protocol and HTTP caches"). */
function addVary(h: Record<string, string | string[] | undefined>, value: string): void {
  const cur = header(h.vary);
  if (cur === undefined || cur === '') h.vary = value;
  else if (!cur.toLowerCase().split(/\s*,\s*/).includes(value.toLowerCase()) && cur !== '*') h.vary = `${cur}, ${value}`;
}

/**
 * `cors`: a CORS-preflight request (OPTIONS with Origin and Access-Control-Request-Method) is
 * answered 204 by the gateway, without calling the upstream, when origin, method and headers are
 * allowed, else 403 `CORS_FORBIDDEN`. Other requests from an allowed origin get
 * Access-Control-Allow-Origin (and -Credentials, -Expose-Headers) on the response; requests from
 * other origins pass unchanged (the browser withholds the response, CORS is not server-side access control).
 */
export const cors: PolicyDefinition<typeof corsSchema> = {
  ...corsDefinition,
  build(config) {
    const rule = originRule(config);
    const methods = new Set(config.allowMethods);
    const anyHeader = config.allowHeaders.includes('*');
    const headers = new Set(config.allowHeaders);
    const allowMethods = config.allowMethods.join(', ');
    const expose = config.exposeHeaders.join(', ');
    const exposed = new Set(config.exposeHeaders.map((n) => n.toLowerCase()));
    // With credentials the wildcard is not honoured by browsers (Fetch §3.3.5): echo the origin.
    const star = rule.any && !config.allowCredentials;
    const forbidden = (detail: string): PolicyReply => problemReply(CORS_ERRORS.CORS_FORBIDDEN, detail, { headers: { vary: 'Origin' } });
    return {
      access(ctx: PolicyContext) {
        if (ctx.method !== 'OPTIONS') return undefined;
        const origin = header(ctx.headers.origin);
        const requested = header(ctx.headers['access-control-request-method']);
        if (origin === undefined || requested === undefined) return undefined;
        if (!allowed(rule, origin)) return forbidden(`origin ${origin} is not allowed`);
        if (!methods.has(requested.toUpperCase())) return forbidden(`method ${requested} is not allowed`);
        const reqHeaders = header(ctx.headers['access-control-request-headers']);
        const asked = reqHeaders === undefined ? [] : reqHeaders.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
        if (!anyHeader) for (const h of asked) if (!headers.has(h)) return forbidden(`header ${h} is not allowed`);
        const h: Record<string, string> = {
          'access-control-allow-origin': star ? '*' : origin,
          'access-control-allow-methods': allowMethods,
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        };
        if (asked.length > 0) h['access-control-allow-headers'] = asked.join(', ');
        if (config.allowCredentials) h['access-control-allow-credentials'] = 'true';
        if (config.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(config.maxAgeSeconds);
        return { status: 204, headers: h, body: '' };
      },
      response(ctx: PolicyContext, res: PolicyResponse) {
        const origin = header(ctx.headers.origin);
        if (!star) addVary(res.headers, 'Origin');
        if (origin === undefined || !allowed(rule, origin)) return;
        res.headers['access-control-allow-origin'] = star ? '*' : origin;
        if (config.allowCredentials) res.headers['access-control-allow-credentials'] = 'true';
        if (expose !== '') res.headers['access-control-expose-headers'] = expose;
      },
      /**
       * The same headers on the gateway's own answers (a refusal by any policy, an upstream error
       * or timeout, 413, 503), with the gateway's explaining fields exposed. A preflight's answer
       * is the access phase's (a refused preflight must not carry Allow-Origin).
       */
      gatewayAnswer(method, requestHeaders, h) {
        if (method === 'OPTIONS' && requestHeaders.origin !== undefined && requestHeaders['access-control-request-method'] !== undefined) return;
        const origin = header(requestHeaders.origin);
        if (!star) addVary(h, 'Origin');
        if (origin === undefined || !allowed(rule, origin)) return;
        h['access-control-allow-origin'] = star ? '*' : origin;
        if (config.allowCredentials) h['access-control-allow-credentials'] = 'true';
        let names = expose;
        for (const f of GATEWAY_FIELDS) if (h[f] !== undefined && !exposed.has(f)) names = names === '' ? f : `${names}, ${f}`;
        if (names !== '') h['access-control-expose-headers'] = names;
      },
    };
  },
};
