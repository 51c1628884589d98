import { describe, expect, it } from 'vitest';
import { parseTemplate } from '@tollgate/compiler';
import { encodeSegment, render, TemplateValues } from './template.js';

const t = (s: string) => {
  const r = parseTemplate(s);
  if (!r.ok) throw new Error(r.message);
  return r.template;
};

const values = () => {
  const v = new TemplateValues({ id: 'a%20b', raw: '%zz' }, 'page=2&q=a%2Fb&q=second', { 'x-tenant': 't1', 'x-list': ['a', 'b'] }, { name: 'acme', customId: null, groups: ['gold', 'beta'] });
  v.responses.set('user', { id: 42, ok: true, name: 'x/../y', nested: { list: [{ v: 'z' }] }, obj: { a: 1 }, nul: null });
  return v;
};

describe('render', () => {
  it('fills every source and percent-encodes path values as one segment part', () => {
    const v = values();
    expect(render(t('/users/{path.id}/{query.q}/{resp.user.id}/{resp.user.name}'), v, 'segment')).toEqual({ ok: true, value: '/users/a%20b/a%2Fb/42/x%2F..%2Fy' });
    expect(render(t('{header.x-tenant}|{header.x-list}|{consumer.name}|{consumer.groups}|{resp.user.ok}|{resp.user.nested.list.0.v}'), v, 'raw')).toEqual({ ok: true, value: 't1|a, b|acme|gold,beta|true|z' });
  });

  it('keeps an undecodable capture as it is (then encodes it)', () => {
    expect(render(t('/{path.raw}'), values(), 'segment')).toEqual({ ok: true, value: '/%25zz' });
  });

  it('names the first missing value: absent request fields, null consumer fields, non-scalar or absent response fields, unfinished backends', () => {
    const v = values();
    expect(render(t('/{query.nope}'), v, 'raw')).toEqual({ ok: false, missing: '{query.nope}' });
    expect(render(t('/{consumer.customId}'), v, 'raw')).toEqual({ ok: false, missing: '{consumer.customId}' });
    expect(render(t('/{resp.user.obj}'), v, 'raw')).toEqual({ ok: false, missing: '{resp.user.obj}' });
    expect(render(t('/{resp.user.nul}'), v, 'raw')).toEqual({ ok: false, missing: '{resp.user.nul}' });
    expect(render(t('/{resp.orders.id}'), v, 'raw')).toEqual({ ok: false, missing: '{resp.orders.id}' });
    expect(render(t('{consumer.name}'), new TemplateValues(null, null, {}, null), 'raw')).toEqual({ ok: false, missing: '{consumer.name}' });
  });

  it('a value cannot climb out of the path: dot segments are encoded', () => {
    expect(encodeSegment('..')).toBe('%2E%2E');
    expect(encodeSegment('.')).toBe('%2E');
    expect(encodeSegment('a/b?c#d')).toBe('a%2Fb%3Fc%23d');
  });
});
