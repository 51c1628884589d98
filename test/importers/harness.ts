import { expect } from 'vitest';
import { startAdminHarness, type AdminHarness } from '../admin/harness.js';
import { eventually, send, startTestGateway, type RunningGateway } from '../gateway/harness.js';

/** An admin API over PGlite and a gateway in process reading the same store. */
export interface ImportStack {
  admin: AdminHarness;
  gateway: RunningGateway;
  /** Applies YAML through POST /config and waits until the gateway runs the new version. */
  apply(yaml: string, query?: string): Promise<{ status: number; body: Record<string, unknown> }>;
  get(path: string, host: string, headers?: Record<string, string>): ReturnType<typeof send>;
  close(): Promise<void>;
}

/** Starts the stack; the gateway polls the store every 200 ms. */
export async function startImportStack(): Promise<ImportStack> {
  const admin = await startAdminHarness('pglite');
  const gateway = await startTestGateway(admin.stores.config, { configPollMs: 100 });
  return {
    admin,
    gateway,
    async apply(yaml, query = '') {
      const res = await admin.applyYaml(yaml, query);
      const body = res.json() as Record<string, unknown>;
      if (res.statusCode === 200 && body.dryRun === false) {
        const version = body.version as number;
        await eventually(async () => (await admin.stores.config.version()) >= version && gateway.gw.currentVersion() >= version, 5_000);
      }
      return { status: res.statusCode, body };
    },
    get: (path, host, headers = {}) => send(gateway.port, { path, headers: { host, ...headers } }),
    async close() {
      await gateway.close();
      await admin.close();
    },
  };
}

/** Asserts an apply succeeded without warnings. */
export function expectClean(res: { status: number; body: Record<string, unknown> }): void {
  expect(res.body).toMatchObject({ warnings: [] });
  expect(res.status).toBe(200);
}
