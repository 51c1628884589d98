import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiYaml, send, startTestGateway, startUpstream, TestConfigSource, yamlResources, type RecordingUpstream, type RunningGateway } from '../gateway/harness.js';

// Three real upstreams answer "<name> <method> <url>"; `a` can hold requests open on /hold.
let a: RecordingUpstream;
let b: RecordingUpstream;
let c: RecordingUpstream;
const held: Array<() => void> = [];
let g: RunningGateway;
let source: TestConfigSource;

function upstream(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

const config = (hashTargets = () => [a, b, c]) =>
  yamlResources(
    upstream('rr', `targets: [{ url: "${a.origin}", weight: 3 }, { url: "${b.origin}", weight: 1 }]`) +
      upstream('rnd', `loadBalancing: random\ntargets: [{ url: "${a.origin}", weight: 3 }, { url: "${b.origin}", weight: 1 }]`) +
      upstream('least', `loadBalancing: least-requests\ntargets: [{ url: "${a.origin}" }, { url: "${b.origin}" }]`) +
      upstream(
        'sets',
        `targets:\n  - { url: "${a.origin}", labels: { version: v1 } }\n  - { url: "${b.origin}", labels: { version: v2 } }\n  - { url: "${c.origin}", labels: { version: v2 } }\nsubsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]`,
      ) +
      upstream('by-header', `loadBalancing: consistent-hash\nconsistentHash: { header: x-user }\ntargets: [${hashTargets().map((u) => `{ url: "${u.origin}" }`).join(', ')}]`) +
      upstream('by-cookie', `loadBalancing: consistent-hash\nconsistentHash: { cookie: sid }\ntargets: [{ url: "${a.origin}" }, { url: "${b.origin}" }, { url: "${c.origin}" }]`) +
      upstream('by-query', `loadBalancing: consistent-hash\nconsistentHash: { queryParameter: user }\ntargets: [{ url: "${a.origin}" }, { url: "${b.origin}" }, { url: "${c.origin}" }]`) +
      upstream('by-ip', `loadBalancing: consistent-hash\nconsistentHash: { clientIp: true }\ntargets: [{ url: "${a.origin}" }, { url: "${b.origin}" }, { url: "${c.origin}" }]`) +
      apiYaml(
        'lb',
        `routes:
  - { name: rr, match: [{ path: { prefix: /rr } }], destination: { upstream: rr } }
  - { name: rnd, match: [{ path: { prefix: /rnd } }], destination: { upstream: rnd } }
  - { name: least, match: [{ path: { prefix: /least } }], destination: { upstream: least } }
  - { name: v2, match: [{ path: { prefix: /v2 } }], destination: { upstream: sets, subset: v2 } }
  - { name: v1, match: [{ path: { prefix: /v1 } }], destination: { upstream: sets, subset: v1 } }
  - { name: header, match: [{ path: { prefix: /header } }], destination: { upstream: by-header } }
  - { name: cookie, match: [{ path: { prefix: /cookie } }], destination: { upstream: by-cookie } }
  - { name: query, match: [{ path: { prefix: /query } }], destination: { upstream: by-query } }
  - { name: ip, match: [{ path: { prefix: /ip } }], destination: { upstream: by-ip } }`,
      ),
  );

async function who(path: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await send(g.port, { path, headers });
  expect(r.status).toBe(200);
  return r.body.split(' ')[0] as string;
}

async function tally(n: number, path: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const w = await who(path);
    out[w] = (out[w] ?? 0) + 1;
  }
  return out;
}

beforeAll(async () => {
  const holding = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.includes('/hold')) held.push(() => res.end(`${name} ${req.method} ${req.url}`));
    else res.end(`${name} ${req.method} ${req.url}`);
  };
  a = await startUpstream('a', holding('a'));
  b = await startUpstream('b', holding('b'));
  c = await startUpstream('c', holding('c'));
  source = new TestConfigSource(config());
  g = await startTestGateway(source);
});
afterAll(async () => {
  for (const h of held.splice(0)) h();
  await g.close();
  await Promise.all([a.close(), b.close(), c.close()]);
});

describe('load balancing', () => {
  it('round robin follows the weights exactly over whole cycles (3:1 over 400 requests)', async () => {
    expect(await tally(400, '/rr')).toEqual({ a: 300, b: 100 });
  });

  it('random follows the weights within a tolerance (3:1 over 400 requests, a in 255..345)', async () => {
    const t = await tally(400, '/rnd');
    // Binomial(400, 0.75): sd ≈ 8.7, so ±45 is over 5 sd.
    expect(t.a).toBeGreaterThanOrEqual(255);
    expect(t.a).toBeLessThanOrEqual(345);
    expect((t.a ?? 0) + (t.b ?? 0)).toBe(400);
  });

  it('least requests sends new requests away from a target busy with an open request', async () => {
    // Two targets: power-of-two-choices always compares both.
    const pending = send(g.port, { path: '/least/hold' });
    await new Promise((r) => setTimeout(r, 100));
    expect(held).toHaveLength(1);
    const busy = (await new Promise<string>((resolve) => {
      held.shift()?.();
      void pending.then((r) => resolve(r.body.split(' ')[0] as string));
    })) as string;
    // Again, now that we know which one takes the held request: hold it and count the others.
    const again = send(g.port, { path: '/least/hold' });
    await new Promise((r) => setTimeout(r, 100));
    const t = await tally(6, '/least');
    held.shift()?.();
    const holder = (await again).body.split(' ')[0] as string;
    const other = holder === 'a' ? 'b' : 'a';
    expect(t).toEqual({ [other]: 6 });
    expect(['a', 'b']).toContain(busy);
    await new Promise((r) => setTimeout(r, 50));
    // Idle again: both get traffic.
    expect(Object.keys(await tally(20, '/least')).sort()).toEqual(['a', 'b']);
  });

  it('a route to a subset reaches only the targets whose labels match', async () => {
    expect(await tally(40, '/v2')).toEqual({ b: 20, c: 20 });
    expect(await tally(5, '/v1')).toEqual({ a: 5 });
  });

  it('consistent hash by header, cookie, query parameter and client IP is sticky', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const first = await who('/header', { 'x-user': `u${i}` });
      seen.add(first);
      for (let k = 0; k < 3; k++) expect(await who('/header', { 'x-user': `u${i}` })).toBe(first);
      const byCookie = await who('/cookie', { cookie: `theme=dark; sid=s${i}` });
      expect(await who('/cookie', { cookie: `sid=s${i}` })).toBe(byCookie);
      const byQuery = await who(`/query?user=${i}&page=1`);
      expect(await who(`/query?page=2&user=${i}`)).toBe(byQuery);
    }
    expect(seen.size).toBe(3); // 30 keys spread over all three targets
    const ip = await who('/ip');
    for (let k = 0; k < 5; k++) expect(await who('/ip')).toBe(ip);
  });

  it('consistent hash: removing a target remaps only the keys it had (ring hash bound)', async () => {
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const before = new Map<string, string>();
    for (const u of users) before.set(u, await who('/header', { 'x-user': u }));
    const onC = users.filter((u) => before.get(u) === 'c');
    expect(onC.length).toBeGreaterThan(0);
    const version = source.set(config(() => [a, b]));
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = () => (g.gw.currentVersion() === version ? resolve() : Date.now() - t0 > 5000 ? reject(new Error('no swap')) : setTimeout(poll, 20));
      poll();
    });
    let moved = 0;
    for (const u of users) {
      const now = await who('/header', { 'x-user': u });
      if (before.get(u) === 'c') {
        expect(now).not.toBe('c');
        moved++;
      } else expect(now).toBe(before.get(u));
    }
    expect(moved).toBe(onC.length);
    source.set(config());
  });
});
