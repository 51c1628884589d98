import pg from 'pg';
import { expect } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { keyedFilesConfig } from '../metering/keyed-files-api.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

// Shared setup of the Postgres fault tests: one admin and one gateway process reach Postgres only
// through a breakable TCP proxy; a second admin process ("direct") reaches it without the proxy,
// so configuration can change while the others are cut off. Deadlines are short (via env), the
// safety-net config poll is a minute: only LISTEN, or the version check after the LISTEN session
// reconnects, can explain a change reaching the gateway within seconds.

export const TOKEN = 'faults-admin-token-0123456789abcdef';
export const KEY = 'tg_faults_key_0123456789abcdefghijk';

/** Deadlines set short for the tests (ms), as an operator would set them through the environment. */
export const TIMEOUTS = { connect: 2_000, statement: 2_500, query: 3_000, drain: 2_000 };

export const FAULT_ENV = {
  ADMIN_TOKEN: TOKEN,
  LOG_LEVEL: 'warn',
  ACCESS_LOG: 'false',
  CONFIG_POLL_MS: '60000',
  USAGE_FLUSH_MS: '100',
  NODE_HEARTBEAT_MS: '500',
  DRAIN_TIMEOUT_MS: String(TIMEOUTS.drain),
  DATABASE_CONNECT_TIMEOUT_MS: String(TIMEOUTS.connect),
  DATABASE_STATEMENT_TIMEOUT_MS: String(TIMEOUTS.statement),
  DATABASE_QUERY_TIMEOUT_MS: String(TIMEOUTS.query),
  DATABASE_KEEPALIVE_MS: '1000',
  DATABASE_LISTEN_PING_MS: '500',
};

export interface FaultRig {
  db: TestDatabase;
  proxy: TcpProxy;
  upstream: RecordingUpstream;
  admin: TollgateProcess;
  gateway: TollgateProcess;
  direct: TollgateProcess;
  /** 200 answers the gateway gave on the metered API so far. */
  served: number;
  stop(): Promise<void>;
}

export async function startRig(): Promise<FaultRig> {
  const db = await createTestDatabase();
  const upstream = await startRecordingUpstream('svc');
  const target = new URL(db.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const env = { ...FAULT_ENV, DATABASE_URL: viaProxy.toString() };
  const [admin, gateway, direct] = await Promise.all([
    startTollgateProcess({ role: 'admin', env }),
    startTollgateProcess({ role: 'gateway', env }),
    startTollgateProcess({ role: 'admin', env: { ...FAULT_ENV, DATABASE_URL: db.url } }),
  ]);
  const rig: FaultRig = {
    db,
    proxy,
    upstream,
    admin,
    gateway,
    direct,
    served: 0,
    async stop() {
      await Promise.all([admin.stop(5_000), gateway.stop(5_000), direct.stop(5_000)]);
      await proxy.close();
      await upstream.close();
      await db.drop();
    },
  };
  const version = await apply(direct, keyedFilesConfig(upstream.url, KEY));
  await waitUntil(async () => (await gatewayVersion(gateway)) === version, 10_000);
  return rig;
}

/** POST /config on `admin`; the new version. */
export async function apply(admin: TollgateProcess, yaml: string): Promise<number> {
  const res = await fetch(`${admin.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  const body = (await res.json()) as { version: number };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.version;
}

/** A config change that touches nothing served: one more Upstream, named by `tag`. */
export function extraUpstream(tag: string): string {
  return `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: extra-${tag} }\nspec: { targets: [{ url: http://127.0.0.1:9 }] }\n`;
}

/** Applies an extra upstream through `admin` (PUT of one resource, so the served config stays). */
export async function applyExtra(admin: TollgateProcess, tag: string): Promise<number> {
  const res = await fetch(`${admin.adminUrl}/config?prune=false`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: extraUpstream(tag) });
  const body = (await res.json()) as { version: number };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.version;
}

/** The config version the gateway serves (from /readyz), or -1. */
export async function gatewayVersion(gateway: TollgateProcess): Promise<number> {
  const res = await fetch(`${gateway.statusUrl}/readyz`);
  const body = (await res.json()) as { version?: number | null };
  return typeof body.version === 'number' ? body.version : -1;
}

/** Sends `n` metered requests; each must be answered 200; adds them to `rig.served`. */
export async function serve(rig: FaultRig, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${rig.gateway.proxyUrl}/files/${i}`, { headers: { apikey: KEY } });
    await r.arrayBuffer();
    expect(r.status).toBe(200);
    rig.served += 1;
  }
}

/** One admin read (GET /upstreams); the status, and the problem when it is not 200. */
export async function adminRead(admin: TollgateProcess): Promise<{ status: number; ms: number; code?: string; type: string; retryAfter: string | null }> {
  const t0 = Date.now();
  const res = await fetch(`${admin.adminUrl}/upstreams`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  const ms = Date.now() - t0;
  const type = res.headers.get('content-type') ?? '';
  const code = res.status === 200 ? undefined : (JSON.parse(text) as { code?: string }).code;
  return { status: res.status, ms, type, retryAfter: res.headers.get('retry-after'), ...(code !== undefined ? { code } : {}) };
}

/** Asserts an answer of the admin API while the database is unavailable, as documented. */
export function expectDatabaseUnavailable(a: Awaited<ReturnType<typeof adminRead>>): void {
  expect(a.status).toBe(503);
  expect(a.type).toContain('application/problem+json');
  expect(a.code).toBe('DATABASE_UNAVAILABLE');
  expect(Number(a.retryAfter)).toBeGreaterThan(0);
}

/** Runs `sql` on the test database directly (not through the proxy). */
export async function query<T extends pg.QueryResultRow>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Requests of consumer acme in the rollups. */
export async function rolledUp(db: TestDatabase): Promise<number> {
  const rows = await query<{ n: string }>(db, "SELECT coalesce(sum(requests), 0)::text AS n FROM usage_rollups WHERE consumer = 'acme'");
  return Number(rows[0]?.n ?? 0);
}

/** Asserts that the process is still running (no crash). */
export function expectAlive(p: TollgateProcess): void {
  expect(p.child.exitCode, p.output()).toBeNull();
  expect(p.output()).not.toMatch(/Unhandled 'error' event|uncaught|unhandled rejection/i);
}
