import { describe, expect, it } from 'vitest';
import type { Resource } from '@tollgate/model';
import { locateIssues, parsePath, readResources, YamlText } from './documents.js';
import { ProblemError } from './problem.js';

const yaml = `apiVersion: tollgate.dev/v1
kind: Upstream
metadata:
  name: u
spec:
  targets:
    - url: http://127.0.0.1:1
---
apiVersion: tollgate.dev/v1
kind: Api
metadata:
  name: a
spec:
  routes:
    - name: r
      destination:
        upstream: missing
`;

/** No stored resources: nothing to restore a redacted secret from. */
const noStore = { get: async () => undefined };

describe('admin documents', () => {
  it('parses formatted paths back into parts', () => {
    expect(parsePath('spec.routes[0].destination.upstream')).toEqual(['spec', 'routes', 0, 'destination', 'upstream']);
    expect(parsePath('')).toEqual([]);
    expect(parsePath('[2].x')).toEqual([2, 'x']);
  });

  it('locates set-validator issues at the submitted document and YAML line', async () => {
    const submitted = await readResources(new YamlText(yaml), noStore);
    const validate = locateIssues(() => [{ code: 'dangling_reference', message: 'no', resource: 'Api/a', path: 'spec.routes[0].destination.upstream' }], submitted);
    expect(await validate(submitted.resources)).toEqual([{ code: 'dangling_reference', message: 'no', resource: 'Api/a', path: 'spec.routes[0].destination.upstream', document: 1, line: 17 }]);
  });

  it('leaves issues about resources not in the body unlocated', async () => {
    const submitted = await readResources(new YamlText(yaml), noStore);
    const issue = { code: 'x', message: 'y', resource: 'Api/stored-only', path: 'spec' };
    expect(await locateIssues(() => [issue], submitted)(submitted.resources as Resource[])).toEqual([issue]);
  });

  it('classifies syntax errors as INVALID_BODY and model errors as INVALID_CONFIG', async () => {
    const syntax = () => readResources(new YamlText('a: [\n'), noStore);
    await expect(syntax()).rejects.toThrow(ProblemError);
    await expect(syntax()).rejects.toMatchObject({ code: 'INVALID_BODY' });
    try {
      await readResources({ apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: 'x' }, spec: {} }, noStore);
      expect.unreachable();
    } catch (e) {
      expect((e as ProblemError).code).toBe('INVALID_CONFIG');
      expect((e as ProblemError).status).toBe(422);
    }
  });

  it('restores redacted secrets in slices: the event loop turns while many documents are read (#16)', async () => {
    // A re-applied export of many Upstreams, each with a redacted client key to restore.
    const docs = Array.from({ length: 40 }, (_, i) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Upstream', metadata: { name: `u${i}` }, spec: { targets: [{ url: 'http://127.0.0.1:1' }], tls: { clientCertificate: 'c', clientKey: '<redacted>' } } }));
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const ticksAtGet: number[] = [];
    const store = {
      get: async (kind: string, name: string) => {
        ticksAtGet.push(ticks);
        // Each lookup holds the thread a little, as reading and restoring a document does.
        const end = performance.now() + 1;
        while (performance.now() < end);
        return { resource: { ...docs.find((d) => d.metadata.name === name)!, kind, spec: { targets: [{ url: 'http://127.0.0.1:1' }], tls: { clientCertificate: 'c', clientKey: 'stored' } } } as unknown as Resource, version: 1, createdAt: new Date(), updatedAt: new Date() };
      },
    };
    await readResources(docs, store).catch(() => undefined);
    ticking = false;
    expect(ticksAtGet).toHaveLength(40);
    // Before: all 40 lookups (40 ms) ran in one turn, with no timer in between.
    expect(ticksAtGet.at(-1)! - ticksAtGet[0]!).toBeGreaterThanOrEqual(3);
  });
});
