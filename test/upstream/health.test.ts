import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, eventually, send, startTestGateway, startUpstream, TestConfigSource, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Upstreams whose health (the /health probe) and answers (500 on traffic) tests switch at will.
const sick = { a: false, b: false, solo: false };
const failing = { a: false, b: false };
let a: RecordingUpstream;
let b: RecordingUpstream;
let solo: RecordingUpstream;
let slow: RecordingUpstream;
const held: Array<() => void> = [];
let g: RunningGateway;
let source: TestConfigSource;

function upstream(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

const active = `healthChecks:\n  active: { path: /health, intervalMs: 100, timeoutMs: 100, healthyThreshold: 2, unhealthyThreshold: 2 }`;
const config = (extraApi = '') =>
  yamlResources(
    upstream('checked', `targets: [{ url: "${a.origin}" }, { url: "${b.origin}" }]\n${active}`) +
      upstream('alone', `targets: [{ url: "${solo.origin}" }]\n${active}`) +
      upstream('outlier', `targets: [{ url: "${a.origin}" }, { url: "${b.origin}" }]\nhealthChecks:\n  passive: { consecutiveErrors: 3, baseEjectionMs: 600, maxEjectionPercent: 50 }`) +
      upstream('tight', `targets: [{ url: "${slow.origin}" }]\nmaxConnectionsPerTarget: 1\ncircuitBreaker: { maxPendingRequests: 1 }`) +
      apiYaml(
        'h',
        `routes:
  - { name: checked, match: [{ path: { prefix: /checked } }], destination: { upstream: checked } }
  - { name: alone, match: [{ path: { prefix: /alone } }], destination: { upstream: alone } }
  - { name: outlier, match: [{ path: { prefix: /outlier } }], destination: { upstream: outlier } }
  - { name: tight, match: [{ path: { prefix: /tight } }], destination: { upstream: tight } }`,
      ) +
      extraApi,
  );

async function tally(n: number, path: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await send(g.port, { path });
    const k = r.status === 200 || r.status === 500 ? (r.body.split(' ')[0] as string) : String(r.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

beforeAll(async () => {
  const probe = (name: keyof typeof sick) => (req: { url?: string | undefined; method?: string | undefined }, res: { statusCode: number; end(s: string): void }) => {
    if (req.url === '/health') {
      res.statusCode = sick[name] ? 503 : 200;
      return res.end('');
    }
    if ((name === 'a' || name === 'b') && failing[name]) res.statusCode = 500;
    res.end(`${name} ${req.method} ${req.url}`);
  };
  a = await startUpstream('a', probe('a'));
  b = await startUpstream('b', probe('b'));
  solo = await startUpstream('solo', probe('solo'));
  slow = await startUpstream('slow', (req, res) => {
    held.push(() => res.end(`slow ${req.url}`));
  });
  source = new TestConfigSource(config());
  g = await startTestGateway(source);
});
afterAll(async () => {
  for (const h of held.splice(0)) h();
  await g.close();
  await Promise.all([a.close(), b.close(), solo.close(), slow.close()]);
});

describe('active health checks', () => {
  it('take a failing target out of rotation and bring it back after it passes again', async () => {
    expect(await tally(10, '/checked')).toEqual({ a: 5, b: 5 });
    sick.a = true;
    await eventually(async () => (await tally(4, '/checked')).a === undefined, 3_000);
    expect(await tally(10, '/checked')).toEqual({ b: 10 });
    // The probes run in the background: the upstream keeps seeing them while no traffic arrives.
    const probes = a.received.filter((r) => r.url === '/health').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(a.received.filter((r) => r.url === '/health').length).toBeGreaterThan(probes);
    expect(a.received.at(-1)?.headers['user-agent']).toBe('tollgate-health-check');

    // Health state survives a snapshot swap that keeps the target.
    const version = source.set(config(apiYaml('other', 'hosts: [other.test]\nroutes: [{ name: r, destination: { upstream: alone } }]')));
    await eventually(() => g.gw.currentVersion() === version, 3_000);
    expect(await tally(6, '/checked')).toEqual({ b: 6 });

    sick.a = false;
    await eventually(async () => (await tally(4, '/checked')).a !== undefined, 3_000);
    expect(await tally(10, '/checked')).toEqual({ a: 5, b: 5 });
  });

  it('answers 503 NO_HEALTHY_UPSTREAM when every target is unhealthy', async () => {
    sick.solo = true;
    await eventually(async () => (await send(g.port, { path: '/alone' })).status === 503, 3_000);
    const r = await send(g.port, { path: '/alone' });
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.json()).toMatchObject({ code: 'NO_HEALTHY_UPSTREAM', status: 503 });
    const before = solo.received.filter((x) => x.url !== '/health').length;
    await send(g.port, { path: '/alone' });
    expect(solo.received.filter((x) => x.url !== '/health').length).toBe(before);
    sick.solo = false;
    await eventually(async () => (await send(g.port, { path: '/alone' })).status === 200, 3_000);
  });
});

describe('passive health checks (outlier ejection)', () => {
  it('ejects a target after consecutive 5xx, for a time that grows, and takes it back', async () => {
    failing.a = true;
    // Round robin alternates a, b: three 500s from a need six requests.
    const first = await tally(6, '/outlier');
    expect(first).toEqual({ a: 3, b: 3 });
    const t0 = Date.now();
    expect(await tally(10, '/outlier')).toEqual({ b: 10 });
    failing.a = false;
    await eventually(async () => (await tally(2, '/outlier')).a !== undefined, 3_000);
    const firstEjection = Date.now() - t0;
    expect(firstEjection).toBeGreaterThanOrEqual(450);

    // Second ejection lasts twice the base time (1200 ms): still out after 800 ms.
    failing.a = true;
    await eventually(async () => {
      await tally(2, '/outlier');
      return (await tally(6, '/outlier')).a === undefined;
    }, 3_000);
    failing.a = false;
    const t1 = Date.now();
    await new Promise((r) => setTimeout(r, 800));
    expect(await tally(6, '/outlier')).toEqual({ b: 6 });
    await eventually(async () => (await tally(2, '/outlier')).a !== undefined, 3_000);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(800);
  });

  it('never ejects more than maxEjectionPercent of the targets', async () => {
    // 50% of two targets: with a ejected, b is never ejected, even while it fails too.
    // Wait until a's earlier ejections are over and both take traffic again.
    await eventually(async () => {
      const t = await tally(2, '/outlier');
      return t.a === 1 && t.b === 1;
    }, 5_000);
    failing.a = true;
    failing.b = true;
    const t = await tally(12, '/outlier');
    // The first to reach three 500s is ejected; the other keeps answering (500s), since ejecting it would pass 50%.
    expect([t.a, t.b].sort()).toEqual([3, 9]);
    const survivor = t.a === 9 ? 'a' : 'b';
    expect(await tally(6, '/outlier')).toEqual({ [survivor]: 6 });
    failing.a = false;
    failing.b = false;
  });
});

describe('circuit breaking', () => {
  it('answers 503 UPSTREAM_OVERLOADED at once beyond maxConnections + maxPendingRequests', async () => {
    const started = Date.now();
    const all = Array.from({ length: 5 }, () => send(g.port, { path: '/tight' }).then((r) => ({ r, at: Date.now() - started })));
    await eventually(() => held.length === 1, 2_000);
    await new Promise((r) => setTimeout(r, 150));
    // One request on the single connection, one pending; three refused immediately.
    const settled: Array<{ status: number; code: unknown; at: number }> = [];
    const fast = await Promise.race([Promise.all(all.slice(0)).then(() => 'all'), new Promise((r) => setTimeout(() => r('some'), 100))]);
    expect(fast).toBe('some');
    while (held.length > 0 || settled.length < 5) {
      held.shift()?.();
      await new Promise((r) => setTimeout(r, 30));
      if (held.length === 0) {
        const done = await Promise.all(all);
        settled.push(...done.map(({ r, at }) => ({ status: r.status, code: r.status === 503 ? r.json().code : null, at })));
      }
    }
    const refused = settled.filter((s) => s.status === 503);
    expect(refused).toHaveLength(3);
    for (const s of refused) {
      expect(s.code).toBe('UPSTREAM_OVERLOADED');
      expect(s.at).toBeLessThan(150);
    }
    expect(settled.filter((s) => s.status === 200)).toHaveLength(2);
    // Slots free again after the exchanges finished.
    const again = send(g.port, { path: '/tight' });
    await eventually(() => held.length === 1, 2_000);
    held.shift()?.();
    expect((await again).status).toBe(200);
  });
});
