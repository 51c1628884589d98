import { describe, expect, it } from 'vitest';
import { effectiveLifecycleState, lifecycleSchema, reconcileLifecycle, transitionAllowed, type Lifecycle } from './lifecycle.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const AT = new Date(NOW).toISOString();

function apiWith(lifecycle?: Partial<Lifecycle>) {
  const spec: Record<string, unknown> = { basePath: '/' };
  if (lifecycle !== undefined) spec.lifecycle = lifecycleSchema.parse(lifecycle);
  return { kind: 'Api', metadata: { name: 'orders' }, spec };
}

function lc(r: { spec: unknown }): Lifecycle | undefined {
  return (r.spec as { lifecycle?: Lifecycle }).lifecycle;
}

describe('transitions', () => {
  it('follows draft -> published -> deprecated -> retired, allows undeprecating, nothing out of retired', () => {
    expect(transitionAllowed('draft', 'published')).toBe(true);
    expect(transitionAllowed('draft', 'retired')).toBe(true);
    expect(transitionAllowed('draft', 'deprecated')).toBe(false);
    expect(transitionAllowed('published', 'draft')).toBe(false);
    expect(transitionAllowed('deprecated', 'published')).toBe(true);
    for (const to of ['draft', 'published', 'deprecated'] as const) expect(transitionAllowed('retired', to)).toBe(false);
  });

  it('a deprecated API with autoRetire counts as retired from its sunset', () => {
    const l = lifecycleSchema.parse({ state: 'deprecated', sunsetAt: '2026-03-01T12:00:00Z', autoRetire: true });
    expect(effectiveLifecycleState(l, NOW - 1)).toBe('deprecated');
    expect(effectiveLifecycleState(l, NOW)).toBe('retired');
    expect(effectiveLifecycleState(undefined, NOW)).toBe('published');
  });

  it('autoRetire needs sunsetAt, and the sunset is not before the deprecation', () => {
    expect(lifecycleSchema.safeParse({ autoRetire: true }).success).toBe(false);
    expect(lifecycleSchema.safeParse({ deprecatedAt: '2026-02-01T00:00:00Z', sunsetAt: '2026-01-01T00:00:00Z' }).success).toBe(false);
  });
});

describe('reconcileLifecycle', () => {
  it('records a transition: transitionedAt, a history entry and deprecatedAt', () => {
    const r = reconcileLifecycle(apiWith({ state: 'published' }), apiWith({ state: 'deprecated' }), NOW);
    expect(r.ok && lc(r.resource)).toMatchObject({ state: 'deprecated', deprecatedAt: AT, transitionedAt: AT, history: [{ from: 'published', to: 'deprecated', at: AT }] });
  });

  it('an Api created without lifecycle stays without one; a stored block is kept when the document has none', () => {
    const plain = apiWith();
    expect(reconcileLifecycle(undefined, plain, NOW)).toEqual({ ok: true, resource: plain });
    const stored = apiWith({ state: 'deprecated', deprecatedAt: AT, history: [{ from: 'published', to: 'deprecated', at: AT }] });
    const r = reconcileLifecycle(stored, apiWith(), NOW);
    expect(r.ok && lc(r.resource)).toEqual(lc(stored));
  });

  it('keeps the stored history when the incoming block omits it and the state is unchanged', () => {
    const stored = apiWith({ state: 'deprecated', deprecatedAt: AT, transitionedAt: AT, history: [{ from: 'published', to: 'deprecated', at: AT }] });
    const r = reconcileLifecycle(stored, apiWith({ state: 'deprecated', deprecatedAt: AT, sunsetAt: '2026-09-01T00:00:00Z' }), NOW + 5000);
    expect(r.ok && lc(r.resource)).toMatchObject({ sunsetAt: '2026-09-01T00:00:00Z', transitionedAt: AT, history: [{ from: 'published', to: 'deprecated', at: AT }] });
  });

  it('refuses leaving retired, and undeprecating once an autoRetire sunset has passed', () => {
    const r = reconcileLifecycle(apiWith({ state: 'retired' }), apiWith({ state: 'published' }), NOW);
    expect(r).toEqual({ ok: false, issue: { code: 'invalid_transition', message: 'Api/orders cannot go from retired to published; allowed from retired: none', resource: 'Api/orders', path: 'spec.lifecycle.state' } });
    const past = apiWith({ state: 'deprecated', deprecatedAt: '2026-01-01T00:00:00Z', sunsetAt: '2026-02-01T00:00:00Z', autoRetire: true });
    const u = reconcileLifecycle(past, apiWith({ state: 'published' }), NOW);
    expect(u.ok).toBe(false);
    expect(!u.ok && u.issue.message).toContain('counts as retired');
    expect(reconcileLifecycle(past, apiWith({ ...lc(past), state: 'retired' }), NOW).ok).toBe(true);
    // Nor revived by moving its sunset; re-applying it unchanged is fine.
    expect(reconcileLifecycle(past, apiWith({ ...lc(past), sunsetAt: '2027-01-01T00:00:00Z' }), NOW).ok).toBe(false);
    expect(reconcileLifecycle(past, apiWith(lc(past)), NOW).ok).toBe(true);
  });

  describe('three-way: the file declares, the lifecycle endpoint moves, an unchanged file keeps what was moved', () => {
    /** One apply of a document (no appliedState) onto the stored resource. */
    const applyFile = (stored: ReturnType<typeof apiWith> | undefined, l: Partial<Lifecycle>, now = NOW) => {
      const r = reconcileLifecycle(stored, apiWith(l), now);
      if (!r.ok) throw new Error(r.issue.message);
      return r.resource as ReturnType<typeof apiWith>;
    };
    /** What `POST /apis/{name}/lifecycle` writes: the stored block with a new state. */
    const endpoint = (stored: ReturnType<typeof apiWith>, state: Lifecycle['state'], now = NOW) => {
      const r = reconcileLifecycle(stored, apiWith({ ...lc(stored), state }), now);
      if (!r.ok) throw new Error(r.issue.message);
      return r.resource as ReturnType<typeof apiWith>;
    };

    it.each([
      ['draft', ['published', 'retired']],
      ['draft', ['published', 'deprecated']],
      ['published', ['deprecated']],
      ['published', ['deprecated', 'published']],
      ['deprecated', ['retired']],
    ] as const)('a file declaring %s, moved by the endpoint through %j, re-applies as unchanged', (declared, moves) => {
      let stored = applyFile(undefined, { state: declared });
      expect(lc(stored)?.appliedState).toBe(declared);
      for (const [i, state] of moves.entries()) stored = endpoint(stored, state, NOW + (i + 1) * 1000);
      const again = applyFile(stored, { state: declared }, NOW + 10_000);
      expect(again).toEqual(stored);
    });

    it('a file that changes its declared state requests that transition, validated against the stored state', () => {
      let stored = applyFile(undefined, { state: 'draft' });
      stored = endpoint(stored, 'published');
      // draft -> deprecated in the file: from the stored published that is allowed.
      const deprecated = applyFile(stored, { state: 'deprecated' }, NOW + 1000);
      expect(lc(deprecated)).toMatchObject({ state: 'deprecated', appliedState: 'deprecated' });
      const retired = endpoint(deprecated, 'retired', NOW + 2000);
      expect(() => applyFile(retired, { state: 'published' }, NOW + 3000)).toThrow('cannot go from retired to published');
    });

    it('a re-declared deprecation keeps its date; other lifecycle fields of the file still apply when the state is the stored one', () => {
      const first = applyFile(applyFile(undefined, { state: 'published' }), { state: 'deprecated' }, NOW);
      const again = applyFile(first, { state: 'deprecated' }, NOW + 60_000);
      expect(again).toEqual(first);
      const sunset = applyFile(first, { state: 'deprecated', sunsetAt: '2027-01-01T00:00:00Z' }, NOW + 60_000);
      expect(lc(sunset)).toMatchObject({ deprecatedAt: AT, sunsetAt: '2027-01-01T00:00:00Z' });
    });
  });

  it('other kinds pass unchanged', () => {
    const u = { kind: 'Upstream', metadata: { name: 'x' }, spec: {} };
    expect(reconcileLifecycle(u, u, NOW)).toEqual({ ok: true, resource: u });
  });
});
