import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTollgateCluster, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

const TOKEN = 'nodes-admin-token-0123456789abcdef';

interface NodeView {
  nodeId: string;
  status: 'up' | 'stale' | 'stopped';
  inSync: boolean;
  configVersion: number | null;
}

// Gateways heartbeat into the shared database: each one's /status lists the nodes seen, and the
// admin's GET /nodes says which are up, stopped and serving the current configuration.
describe('gateway nodes seen through heartbeats', () => {
  let db: TestDatabase;
  let admin: TollgateProcess;
  let gateways: TollgateProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ admin, gateways } = await startTollgateCluster({ DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, NODE_HEARTBEAT_MS: '500' }));
  });

  afterAll(async () => {
    await Promise.all([admin?.stop(), ...gateways.map((g) => g.stop())]);
    await db?.drop();
  });

  const nodes = async (): Promise<{ configVersion: number; items: NodeView[] }> => {
    const res = await fetch(`${admin.adminUrl}/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as { configVersion: number; items: NodeView[] };
  };

  it('each gateway /status counts both nodes, and GET /nodes lists them up and in sync', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    const idOf = async (g: TollgateProcess) => ((await (await fetch(`${g.statusUrl}/status`)).json()) as { nodeId: string }).nodeId;
    const ids = [await idOf(a), await idOf(b)];
    // Each node's view, refreshed on its own heartbeat, comes to list both.
    for (const g of [a, b]) {
      await waitUntil(async () => {
        const s = (await (await fetch(`${g.statusUrl}/status`)).json()) as { nodes?: { seen: number; list: { nodeId: string }[] } };
        return s.nodes?.seen === 2 && s.nodes.list.map((n) => n.nodeId).sort().join() === [...ids].sort().join();
      }, 10_000);
    }

    // A change of configuration: both heartbeats report the new version.
    const res = await fetch(`${admin.adminUrl}/config`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
      body: 'apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: u }\nspec: { targets: [ { url: "http://127.0.0.1:9" } ] }\n',
    });
    expect(res.status).toBe(200);
    await waitUntil(async () => {
      const n = await nodes();
      return n.items.filter((x) => ids.includes(x.nodeId)).every((x) => x.status === 'up' && x.inSync) && n.items.length === 2;
    }, 10_000);
  });

  it('a gateway stopped with SIGTERM is listed as stopped and drops out of the other node\'s count', async () => {
    const [a, b] = gateways as [TollgateProcess, TollgateProcess];
    const stoppedId = ((await (await fetch(`${b.statusUrl}/status`)).json()) as { nodeId: string }).nodeId;
    expect(await b.stop()).toBe(0);
    const n = await nodes();
    expect(n.items.find((x) => x.nodeId === stoppedId)?.status).toBe('stopped');
    await waitUntil(async () => ((await (await fetch(`${a.statusUrl}/status`)).json()) as { nodes: { seen: number } }).nodes.seen === 1, 10_000);
  });

  it('GET /nodes needs an admin token', async () => {
    expect((await fetch(`${admin.adminUrl}/nodes`)).status).toBe(401);
  });
});
