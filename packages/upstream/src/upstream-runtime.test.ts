import { describe, expect, it } from 'vitest';
import { TargetState, TargetStateRegistry } from './target-state.js';
import { UpstreamRuntime, type UpstreamRuntimeSettings } from './upstream-runtime.js';

interface T {
  origin: string;
  state: TargetState;
}

const target = (origin: string): T => ({ origin, state: new TargetState('u', origin) });
const settings = (over: Partial<UpstreamRuntimeSettings> = {}): UpstreamRuntimeSettings => ({
  name: 'u',
  algorithm: 'round-robin',
  hashOn: null,
  subsets: {},
  outlier: null,
  maxInflightPerTarget: 100,
  ...over,
});
const req = (headers: Record<string, string> = {}, query: string | null = null, clientIp = '10.0.0.1') => ({ headers, clientIp, query });

function count(rt: UpstreamRuntime<T>, n: number, subset: string | null = null): Record<string, number> {
  const c: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const t = rt.pick(subset, req());
    const k = t?.origin ?? 'none';
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

describe('UpstreamRuntime', () => {
  it('round robin skips unavailable targets and shares their traffic by weight', () => {
    const [a, b, c] = [target('a'), target('b'), target('c')];
    const rt = new UpstreamRuntime(settings(), [
      { value: a, weight: 2 },
      { value: b, weight: 1 },
      { value: c, weight: 1 },
    ]);
    expect(count(rt, 400)).toEqual({ a: 200, b: 100, c: 100 });
    a.state.activeHealthy = false;
    expect(count(rt, 400)).toEqual({ b: 200, c: 200 });
    b.state.ejectedUntil = Date.now() + 60_000;
    c.state.activeHealthy = false;
    expect(rt.pick(null, req())).toBeUndefined();
  });

  it('subsets pick only their targets', () => {
    const ts = [target('a'), target('b'), target('c')];
    const rt = new UpstreamRuntime(settings({ subsets: { v2: [1, 2] } }), ts.map((value) => ({ value, weight: 1 })));
    expect(count(rt, 100, 'v2')).toEqual({ b: 50, c: 50 });
    expect(() => rt.pick('v9', req())).toThrow(/no subset v9/);
  });

  it('random is weighted', () => {
    const rt = new UpstreamRuntime(settings({ algorithm: 'random' }), [
      { value: target('a'), weight: 3 },
      { value: target('b'), weight: 1 },
    ]);
    const c = count(rt, 4000);
    expect(c.a).toBeGreaterThan(2700);
    expect(c.a).toBeLessThan(3300);
  });

  it('least requests prefers the target with fewer requests in flight', () => {
    const [a, b] = [target('a'), target('b')];
    const rt = new UpstreamRuntime(settings({ algorithm: 'least-requests' }), [
      { value: a, weight: 1 },
      { value: b, weight: 1 },
    ]);
    a.state.inflight = 3;
    expect(count(rt, 50)).toEqual({ b: 50 });
    b.state.inflight = 5;
    expect(count(rt, 50)).toEqual({ a: 50 });
  });

  it('consistent hash is sticky and removing a target moves only its keys (ring hash bound)', () => {
    const ts = ['a', 'b', 'c', 'd'].map(target);
    const mk = (list: T[]) => new UpstreamRuntime(settings({ algorithm: 'consistent-hash', hashOn: { kind: 'header', name: 'x-user' } }), list.map((value) => ({ value, weight: 100 })));
    const full = mk(ts);
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const before = keys.map((k) => full.pick(null, req({ 'x-user': k }))?.origin);
    expect(keys.map((k) => full.pick(null, req({ 'x-user': k }))?.origin)).toEqual(before);
    const share = before.filter((o) => o === 'c').length / keys.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    const without = mk(ts.filter((t) => t.origin !== 'c'));
    keys.forEach((k, i) => {
      const now = without.pick(null, req({ 'x-user': k }))?.origin;
      if (before[i] !== 'c') expect(now).toBe(before[i]);
      else expect(now).not.toBe('c');
    });
    // An unavailable target behaves like a removed one, and gets its keys back when it returns.
    ts[2]!.state.activeHealthy = false;
    keys.forEach((k, i) => {
      if (before[i] !== 'c') expect(full.pick(null, req({ 'x-user': k }))?.origin).toBe(before[i]);
    });
    ts[2]!.state.activeHealthy = true;
    expect(keys.map((k) => full.pick(null, req({ 'x-user': k }))?.origin)).toEqual(before);
  });

  it('consistent hash reads cookies, query parameters and the client IP', () => {
    const ts = ['a', 'b', 'c'].map(target);
    const mk = (hashOn: UpstreamRuntimeSettings['hashOn']) => new UpstreamRuntime(settings({ algorithm: 'consistent-hash', hashOn }), ts.map((value) => ({ value, weight: 100 })));
    const byCookie = mk({ kind: 'cookie', name: 'sid' });
    const byQuery = mk({ kind: 'query', name: 'u' });
    const byIp = mk({ kind: 'clientIp' });
    const spread = (f: (i: number) => string | undefined) => new Set(Array.from({ length: 60 }, (_, i) => f(i))).size;
    expect(spread((i) => byCookie.pick(null, req({ cookie: `a=1; sid=s${i}` }))?.origin)).toBe(3);
    for (let i = 0; i < 20; i++) {
      const o = byCookie.pick(null, req({ cookie: `sid=s${i}; z=2` }))?.origin;
      expect(byCookie.pick(null, req({ cookie: `x=y; sid=s${i}` }))?.origin).toBe(o);
      const q = byQuery.pick(null, req({}, `u=${i}&x=1`))?.origin;
      expect(byQuery.pick(null, req({}, `y=2&u=${i}`))?.origin).toBe(q);
      const ip = byIp.pick(null, req({}, null, `10.0.0.${i}`))?.origin;
      expect(byIp.pick(null, req({}, null, `10.0.0.${i}`))?.origin).toBe(ip);
    }
    expect(spread((i) => byIp.pick(null, req({}, null, `10.1.0.${i}`))?.origin)).toBe(3);
  });

  it('circuit breaking admits up to maxInflightPerTarget requests per target', () => {
    const a = target('a');
    const rt = new UpstreamRuntime(settings({ maxInflightPerTarget: 2 }), [{ value: a, weight: 1 }]);
    expect(rt.begin(a)).toBe(true);
    expect(rt.begin(a)).toBe(true);
    expect(rt.begin(a)).toBe(false);
    rt.end(a);
    expect(rt.begin(a)).toBe(true);
  });

  it('ejects after consecutive errors, for a time that grows with repeated ejections and decays', () => {
    const [a, b] = [target('a'), target('b')];
    const outlier = { consecutiveErrors: 3, baseEjectionMs: 1000, maxEjectionMs: 2500, maxEjectionPercent: 50 };
    const rt = new UpstreamRuntime(settings({ outlier }), [
      { value: a, weight: 1 },
      { value: b, weight: 1 },
    ]);
    let now = 1_000_000;
    rt.observe(a, true, now);
    rt.observe(a, false, now); // a success resets the streak
    rt.observe(a, true, now);
    rt.observe(a, true, now);
    expect(a.state.ejected(now)).toBe(false);
    expect(rt.observe(a, true, now)).toBe(true);
    expect(a.state.ejectedUntil - now).toBe(1000);
    // b cannot be ejected while 50% of the targets are.
    for (let i = 0; i < 3; i++) rt.observe(b, true, now);
    expect(b.state.ejected(now)).toBe(false);
    now += 1000;
    expect(a.state.available(now)).toBe(true);
    for (let i = 0; i < 3; i++) rt.observe(a, true, now);
    expect(a.state.ejectedUntil - now).toBe(2000);
    now += 2000;
    for (let i = 0; i < 3; i++) rt.observe(a, true, now);
    expect(a.state.ejectedUntil - now).toBe(2500); // capped by maxEjectionMs
    now += 2500 + 10_000; // ten quiet base periods: back to the first ejection time
    for (let i = 0; i < 3; i++) rt.observe(a, true, now);
    expect(a.state.ejectedUntil - now).toBe(1000);
  });
});

describe('TargetStateRegistry', () => {
  it('keeps the state of unchanged targets across syncs and forgets removed ones', () => {
    const reg = new TargetStateRegistry();
    const first = reg.sync([
      { upstream: 'u', origin: 'a' },
      { upstream: 'u', origin: 'b' },
    ]);
    first.get('u\na')!.activeHealthy = false;
    const second = reg.sync([{ upstream: 'u', origin: 'a' }]);
    expect(second.get('u\na')).toBe(first.get('u\na'));
    expect(reg.get('u', 'b')).toBeUndefined();
    expect(reg.sync([{ upstream: 'u', origin: 'b' }]).get('u\nb')).not.toBe(first.get('u\nb'));
  });
});
