import { describe, expect, it } from 'vitest';
import { POLICY_REGISTRY, validatePolicyConfig } from './registry.js';
import { runAccess, runResponse, type AccessStep } from './runner.js';
import { RequestContext } from './context.js';
import type { PolicyReply } from './types.js';

const ctx = new RequestContext('r', '1.2.3.4', 'GET', '/', {}, 'a', 'r', null);

describe('registry', () => {
  it('holds ip-restriction and every schema field is described', () => {
    const def = POLICY_REGISTRY.get('ip-restriction');
    expect(def?.priority).toBe(3000);
    const shape = (def?.schema as unknown as { def?: { in?: { shape?: Record<string, { description?: string }> } }; shape?: Record<string, { description?: string }> });
    const fields = shape.shape ?? shape.def?.in?.shape ?? {};
    expect(Object.keys(fields).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(fields)) expect(v.description, k).toBeTruthy();
  });

  it('validatePolicyConfig returns parsed config or issues with paths', () => {
    expect(validatePolicyConfig('ip-restriction', { allow: ['1.2.3.4'] })).toMatchObject({ ok: true, config: { allow: ['1.2.3.4'], deny: [] } });
    const bad = validatePolicyConfig('ip-restriction', { allow: ['1.2.3.4', 'x'] });
    expect(bad).toMatchObject({ ok: false, issues: [{ path: ['allow', 1] }] });
    const unknown = validatePolicyConfig('ip-restriction', { allow: ['1.2.3.4'], colour: 'red' });
    expect(unknown).toMatchObject({ ok: false, issues: [{ code: 'unknown_field', path: ['colour'] }] });
    expect(validatePolicyConfig('nope', {})).toMatchObject({ ok: false, issues: [{ code: 'unknown_policy' }] });
  });
});

describe('runner', () => {
  const stop: PolicyReply = { status: 418, body: 'stop' };
  it('runs steps in order and stops at the first reply, synchronously when all are sync', () => {
    const seen: string[] = [];
    const steps: AccessStep[] = [
      () => void seen.push('a'),
      () => {
        seen.push('b');
        return stop;
      },
      () => void seen.push('c'),
    ];
    expect(runAccess(steps, ctx)).toBe(stop);
    expect(seen).toEqual(['a', 'b']);
    expect(runAccess([() => undefined], ctx)).toBeUndefined();
  });

  it('continues asynchronously after an async step', async () => {
    const seen: string[] = [];
    const steps: AccessStep[] = [async () => void seen.push('a'), () => void seen.push('b'), async () => stop, () => void seen.push('d')];
    const r = runAccess(steps, ctx);
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toBe(stop);
    expect(seen).toEqual(['a', 'b']);
  });

  it('response steps change headers in place', () => {
    const res = { status: 200, headers: {} as Record<string, string | string[] | undefined> };
    runResponse([(_c, r) => void (r.headers['x-a'] = '1'), (_c, r) => void (r.headers['x-b'] = String(r.status))], ctx, res);
    expect(res.headers).toEqual({ 'x-a': '1', 'x-b': '200' });
  });
});
