import { describe, expect, it } from 'vitest';
import { RequestContext } from '../context.js';
import { ipRestriction } from './index.js';
import { ipRestrictionSchema } from './schema.js';

const deps = { logger: { warn() {}, error() {} } };

function ctx(clientIp: string): RequestContext {
  return new RequestContext('r', clientIp, 'GET', '/', {}, 'a', 'r', null);
}

function build(config: unknown) {
  return ipRestriction.build(ipRestrictionSchema.parse(config), deps);
}

describe('ip-restriction', () => {
  it('admits only allowed addresses and blocks when an allow list is set', () => {
    const p = build({ allow: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] });
    expect(p.access?.(ctx('10.1.2.3'))).toBeUndefined();
    expect(p.access?.(ctx('192.0.2.7'))).toBeUndefined();
    expect(p.access?.(ctx('2001:db8::1'))).toBeUndefined();
    const r = p.access?.(ctx('192.0.2.8'));
    expect(r).toMatchObject({ status: 403, body: { code: 'IP_FORBIDDEN' } });
    expect(p.access?.(ctx('2001:db9::1'))).toMatchObject({ status: 403 });
  });

  it('refuses denied addresses and lets others through when only a deny list is set', () => {
    const p = build({ deny: ['203.0.113.0/24', '::1'] });
    expect(p.access?.(ctx('203.0.113.9'))).toMatchObject({ status: 403 });
    expect(p.access?.(ctx('::1'))).toMatchObject({ status: 403 });
    expect(p.access?.(ctx('198.51.100.1'))).toBeUndefined();
  });

  it('deny wins over allow', () => {
    const p = build({ allow: ['10.0.0.0/8'], deny: ['10.0.0.5'] });
    expect(p.access?.(ctx('10.0.0.5'))).toMatchObject({ status: 403 });
    expect(p.access?.(ctx('10.0.0.6'))).toBeUndefined();
  });

  it('matches IPv4-mapped IPv6 client addresses against IPv4 rules', () => {
    const p = build({ deny: ['127.0.0.0/8'] });
    expect(p.access?.(ctx('::ffff:127.0.0.1'))).toMatchObject({ status: 403 });
    const a = build({ allow: ['127.0.0.1'] });
    expect(a.access?.(ctx('::FFFF:127.0.0.1'))).toBeUndefined();
  });

  it('uses the configured message as detail', () => {
    const p = build({ deny: ['0.0.0.0/0'], message: 'nope' });
    expect(p.access?.(ctx('1.2.3.4'))).toMatchObject({ body: { detail: 'nope' } });
  });

  it('schema refuses bad addresses, bad prefixes, empty config and unknown fields', () => {
    expect(ipRestrictionSchema.safeParse({ allow: ['10.0.0.0/33'] }).success).toBe(false);
    expect(ipRestrictionSchema.safeParse({ allow: ['300.1.1.1'] }).success).toBe(false);
    expect(ipRestrictionSchema.safeParse({ deny: ['::1/129'] }).success).toBe(false);
    expect(ipRestrictionSchema.safeParse({ deny: ['10.0.0.0/x'] }).success).toBe(false);
    expect(ipRestrictionSchema.safeParse({}).success).toBe(false);
    expect(ipRestrictionSchema.safeParse({ allow: ['1.2.3.4'], extra: 1 }).success).toBe(false);
    expect(ipRestrictionSchema.parse({ allow: ['1.2.3.4'] })).toMatchObject({ deny: [], allow: ['1.2.3.4'] });
  });
});
