import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { validatePolicyConfig } from '../registry.js';
import { applyJsonOps, compileJsonOps } from './json-ops.js';
import { parseTemplate, render, TemplateError } from './template.js';

function ctx(query: string | null = 'a=1&b=x%20y'): RequestContext {
  const c = new RequestContext('rid', '10.0.0.1', 'POST', '/v1/orders', { 'x-tenant': 'blue', host: 'h' }, 'shop', 'orders', query);
  c.authenticate({ name: 'acme', customId: 'cust-42', groups: ['gold', 'beta'] }, { sub: 'u1', org: { id: 7 }, roles: ['a', 'b'] });
  return c;
}

describe('templates', () => {
  it('renders request and consumer references', () => {
    const c = ctx();
    const r = (s: string) => render(parseTemplate(s), c, c.query);
    expect(r('{method} {path} {clientIp} {requestId} {api}/{route}')).toBe('POST /v1/orders 10.0.0.1 rid shop/orders');
    expect(r('q={query.a},{query.b} h={header.X-Tenant}')).toBe('q=1,x y h=blue');
    expect(r('{consumer.name}|{consumer.customId}|{consumer.groups}')).toBe('acme|cust-42|gold,beta');
    expect(r('{claims.sub}:{claims.org.id}')).toBe('u1:7');
    expect(r('{{literal}}')).toBe('{literal}');
  });
  it('a single reference keeps its JSON type; a missing value renders undefined', () => {
    const c = ctx();
    expect(render(parseTemplate('{claims.roles}'), c, c.query)).toEqual(['a', 'b']);
    expect(render(parseTemplate('x-{header.absent}'), c, c.query)).toBeUndefined();
    const anon = new RequestContext('r', 'ip', 'GET', '/', {}, 'a', 'r');
    expect(render(parseTemplate('{consumer.name}'), anon, null)).toBeUndefined();
  });
  it('refuses unknown references and unbalanced braces', () => {
    for (const bad of ['{consumer.nmae}', '{nothing}', '{query.}', 'a { b', 'a } b', '{claims.a..b}']) expect(() => parseTemplate(bad), bad).toThrow(TemplateError);
  });
  it('a bad template in a policy config is a config issue with its path', () => {
    const v = validatePolicyConfig('request-transformer', { headers: { set: { 'x-who': '{consumer.nmae}' } } });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.issues[0]?.path).toEqual(['headers', 'set', 'x-who']);
      expect(v.issues[0]?.message).toMatch(/references nothing known/);
    }
    const b = validatePolicyConfig('response-transformer', { body: { add: { who: 'x {oops}' } } });
    expect(b.ok).toBe(false);
    expect(validatePolicyConfig('request-transformer', { headers: { set: { host: 'x' } } }).ok).toBe(false);
    expect(validatePolicyConfig('request-transformer', { headers: { set: { 'X-Consumer-Name': '{header.x-me}' } } }).ok).toBe(false);
    expect(validatePolicyConfig('request-transformer', { body: { remove: ['__proto__.x'] } }).ok).toBe(false);
  });
});

describe('JSON body operations', () => {
  it('remove, rename, set and add, nested, in that order; constants keep their type', () => {
    const ops = compileJsonOps({ remove: ['secret', 'meta.internal'], rename: [{ from: 'old', to: 'info.new' }], set: { 'owner.name': '{consumer.name}', count: 3 }, add: { tenant: '{header.x-tenant}', old: 'kept?' } });
    const body = { secret: 1, meta: { internal: true, keep: 1 }, old: 'v', count: 1 };
    expect(applyJsonOps(ops, body, ctx())).toEqual({ meta: { keep: 1 }, info: { new: 'v' }, owner: { name: 'acme' }, count: 3, tenant: 'blue', old: 'kept?' });
  });
  it('add does not overwrite; a set without value removes the field; non-objects pass', () => {
    const ops = compileJsonOps({ remove: [], rename: [], set: { who: '{header.absent}' }, add: { a: 'new', b: '{header.absent}' } });
    expect(applyJsonOps(ops, { a: 'old', who: 'spoofed' }, ctx())).toEqual({ a: 'old' });
    expect(applyJsonOps(ops, [1, 2], ctx())).toEqual([1, 2]);
  });
});
