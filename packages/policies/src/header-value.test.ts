import { describe, expect, it } from 'vitest';
import { RequestContext } from './context.js';
import { validatePolicyConfig } from './registry.js';
import { requestTransformer } from './request-transformer/index.js';
import { parseTemplate, renderHeader } from './request-transformer/template.js';
import { responseTransformer } from './response-transformer/index.js';
import { runResponse } from './runner.js';
import type { PolicyDeps, PolicyReply } from './types.js';

const deps = { logger: { warn() {}, error() {} } } as PolicyDeps;

function ctx(query: string | null): RequestContext {
  const c = new RequestContext('rid', '10.0.0.1', 'GET', '/p', { 'x-in': 'café' }, 'api', 'route', query);
  c.authenticate({ name: 'acme', customId: null, groups: [] }, { note: 'a\r\nb', obj: { v: 'x\ny' } });
  return c;
}

describe('header values rendered from request data', () => {
  it('renderHeader: null for a value that is no RFC 9110 field value, the value otherwise', () => {
    for (const q of ['%0d', '%0a', '%0d%0aX-A:%20b', '%00', '%01', '%7f', '%E2%82%AC']) expect(renderHeader(parseTemplate('v={query.q}'), ctx(`q=${q}`), `q=${q}`)).toBeNull();
    expect(renderHeader(parseTemplate('v={query.q}'), ctx('q=a%09b%20c'), 'q=a%09b%20c')).toBe('v=a\tb c');
    expect(renderHeader(parseTemplate('{header.x-in}'), ctx(null), null)).toBe('café');
    expect(renderHeader(parseTemplate('{claims.note}'), ctx(null), null)).toBeNull();
    // A non-string claim is JSON-encoded: control characters come out escaped.
    expect(renderHeader(parseTemplate('{claims.obj}'), ctx(null), null)).toBe('{"v":"x\\ny"}');
    expect(renderHeader(parseTemplate('{query.none}'), ctx(null), null)).toBeUndefined();
  });

  it('request-transformer refuses the request with 400 INVALID_HEADER_VALUE and sets nothing', () => {
    const cfg = validatePolicyConfig('request-transformer', { headers: { set: { 'x-q': '{query.q}' }, add: { 'x-n': '{claims.note}' } } });
    if (!cfg.ok) throw new Error('config');
    const p = requestTransformer.build(cfg.config as never, deps);
    const bad = ctx('q=%0d%0aX-Injected:%201');
    const r = p.access?.(bad) as PolicyReply;
    expect(r).toMatchObject({ status: 400, body: { code: 'INVALID_HEADER_VALUE' } });
    expect(JSON.stringify(r.body)).not.toContain('Injected');
    const out: Record<string, string | string[]> = {};
    bad.applyTo(out);
    expect(out['x-q']).toBeUndefined();
    // add: the claim with CR/LF.
    expect(p.access?.(ctx('q=ok'))).toMatchObject({ status: 400, body: { code: 'INVALID_HEADER_VALUE', detail: expect.stringContaining('x-n') } });
  });

  it('response-transformer returns the problem from the response phase; runResponse stops there', () => {
    const cfg = validatePolicyConfig('response-transformer', { headers: { set: { 'x-echo': '{query.q}' } } });
    if (!cfg.ok) throw new Error('config');
    const p = responseTransformer.build(cfg.config as never, deps);
    const later: string[] = [];
    const steps = [p.response!.bind(p), () => void later.push('ran')];
    const headers: Record<string, string | string[] | undefined> = {};
    expect(runResponse(steps, ctx('q=%0a'), { status: 200, headers })).toMatchObject({ code: 'INVALID_HEADER_VALUE' });
    expect(headers['x-echo']).toBeUndefined();
    expect(later).toEqual([]);
    expect(runResponse(steps, ctx('q=v'), { status: 200, headers })).toBeUndefined();
    expect(headers['x-echo']).toBe('v');
  });

  it('literal text of a header template is checked at apply, never per request', () => {
    for (const v of ['a\r\nb', 'a\nb', 'a\0b', 'a\u0001b', 'a\u007fb', '€ {query.q}']) {
      const r = validatePolicyConfig('response-transformer', { headers: { add: { 'x-a': v } } });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues[0]?.path).toEqual(['headers', 'add', 'x-a']);
    }
    expect(validatePolicyConfig('request-transformer', { headers: { set: { 'x-a': 'café\t{query.q}' } } }).ok).toBe(true);
    // A query template is percent-encoded, not a header: its literal text is not a field value matter.
    expect(validatePolicyConfig('request-transformer', { query: { set: { a: 'x y' } } }).ok).toBe(true);
  });
});
