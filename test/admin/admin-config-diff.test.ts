import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiYaml, startAdminHarness, stream, upstreamYaml, type AdminHarness } from './harness.js';

interface DiffBody {
  dryRun: boolean;
  version: number;
  changes: { kind: string; name: string; action: string }[];
  diff?: { kind: string; name: string; action: string; patch: string }[];
}

/** `POST /config?diff=true`: the unified diff the console shows before an apply. */
describe('POST /config diff=true', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdminHarness('pglite');
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(async () => {
    await h.reset();
  });

  it('answers one unified diff per created, updated and pruned resource, leaves unchanged ones out and commits nothing on a dry run', async () => {
    expect((await h.applyYaml(stream(upstreamYaml('orders-svc', 9001), apiYaml('orders', 'orders-svc'), upstreamYaml('old-svc')))).statusCode).toBe(200);
    const before = await h.exportYaml();

    const res = await h.applyYaml(stream(upstreamYaml('orders-svc', 9002), apiYaml('orders', 'orders-svc'), upstreamYaml('new-svc')), '?dryRun=true&diff=true&prune=true');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<DiffBody>();
    expect(body.dryRun).toBe(true);
    const byName = new Map(body.diff?.map((d) => [d.name, d]));
    expect([...byName.keys()].sort()).toEqual(['new-svc', 'old-svc', 'orders-svc']);

    const update = byName.get('orders-svc');
    expect(update?.action).toBe('update');
    expect(update?.patch).toContain('--- live/Upstream/orders-svc');
    expect(update?.patch).toContain('+++ merged/Upstream/orders-svc');
    expect(update?.patch).toMatch(/^-.*9001/m);
    expect(update?.patch).toMatch(/^\+.*9002/m);
    // Only the port changed: the rest of the document is context, not removed and re-added.
    expect(update?.patch.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(2);

    expect(byName.get('new-svc')?.action).toBe('create');
    expect(byName.get('new-svc')?.patch).toMatch(/^\+kind: Upstream$/m);
    expect(byName.get('old-svc')?.action).toBe('delete');
    expect(byName.get('old-svc')?.patch).toMatch(/^-kind: Upstream$/m);

    // A dry run changes nothing.
    expect(await h.exportYaml()).toBe(before);
  });

  it('has no diff field without diff=true, and an empty one when nothing changes', async () => {
    const docs = stream(upstreamYaml('orders-svc'), apiYaml('orders', 'orders-svc'));
    const first = await h.applyYaml(docs);
    expect(first.json<DiffBody>().diff).toBeUndefined();
    const again = await h.applyYaml(docs, '?dryRun=true&diff=true');
    expect(again.json<DiffBody>().diff).toEqual([]);
  });

  it('lets a viewer preview nothing: a dry run with diff is still a write route (403)', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/config?dryRun=true&diff=true', headers: { ...h.auth('viewer'), 'content-type': 'application/yaml' }, payload: upstreamYaml('x') });
    expect(res.statusCode).toBe(403);
  });
});
