import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliRun } from '../cli/cli-harness.js';
import { createTestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

/** The fixtures of this suite. */
export const PETSTORE = readFileSync(fileURLToPath(new URL('../fixtures/openapi/petstore3.yaml', import.meta.url)), 'utf8');
export const ORDERS31 = readFileSync(fileURLToPath(new URL('../fixtures/openapi/orders31.yaml', import.meta.url)), 'utf8');

/** A running `tollgate start` (gateway + admin on a fresh real Postgres database), a recording upstream, and the CLI. */
export interface OpenApiStack {
  tg: TollgateProcess;
  upstream: RecordingUpstream;
  token: string;
  dir: string;
  /** Writes a file in the stack's temporary directory and returns its path. */
  file(name: string, text: string): string;
  cli(args: string[], stdin?: string): Promise<CliRun>;
  /** An admin API request with the admin token. */
  admin(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; type: string; json: Record<string, unknown> }>;
  /** A request through the gateway. */
  gw(path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; type: string; text: string; json(): Record<string, unknown> }>;
  /** Waits until the gateway runs the config version the admin API reported. */
  served(check: () => Promise<boolean>): Promise<void>;
  close(): Promise<void>;
}

export async function startOpenApiStack(): Promise<OpenApiStack> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-openapi-'));
  const token = 'tgadm_openapi_suite_token_0123456789';
  const upstream = await startRecordingUpstream('petstore');
  const db = await createTestDatabase();
  let tg: TollgateProcess;
  try {
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, TOLLGATE_DATA: join(dir, 'data'), ADMIN_TOKEN: token, ADMIN_HOST: '127.0.0.1', CONFIG_POLL_MS: '200', LOG_LEVEL: 'warn' } });
  } catch (error) {
    await upstream.close();
    await db.drop();
    throw error;
  }
  const env = { TOLLGATE_ADMIN_URL: tg.adminUrl, TOLLGATE_ADMIN_TOKEN: token };
  return {
    tg,
    upstream,
    token,
    dir,
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cli: (args, stdin) => runCli(args, env, stdin),
    async admin(method, path, body, contentType = 'application/yaml') {
      const res = await fetch(`${tg.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) }, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type') ?? '', json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    },
    async gw(path, init = {}) {
      const res = await fetch(`${tg.proxyUrl}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as Record<string, unknown> };
    },
    async served(check) {
      await waitUntil(check, 10_000, 50);
    },
    async close() {
      await tg.stop();
      await upstream.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
