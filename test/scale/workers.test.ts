import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { keyedFilesConfig } from '../metering/keyed-files-api.js';

const TOKEN = 'workers-test-token-0123456789';
const KEY = 'tg_workers_meter_0123456789abcdefgh';

interface WorkerStatus {
  id: number;
  pid: number;
  ready: boolean;
  configVersion: number | null;
}
interface PrimaryStatus {
  workers: { count: number; restarts: number; list: WorkerStatus[] };
}

/** GET on a new connection each time (agent: false), so node:cluster hands each to a worker in turn. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { apikey: KEY }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function send(tg: TollgateProcess, n: number, tag: string): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await getOnNewConnection(`${tg.proxyUrl}/files/${tag}-${i}`)) === 200) ok += 1;
  return ok;
}

/** Pids of the workers whose access-log lines show a request to /files/<tag>-*. */
function servingPids(output: string, tag: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.includes('"type":"access"') || !line.includes(`/files/${tag}-`)) continue;
    const entry = JSON.parse(line) as { pid: number; status: number };
    if (entry.status === 200) pids.add(entry.pid);
  }
  return pids;
}

async function status(tg: TollgateProcess): Promise<PrimaryStatus> {
  return (await fetch(`${tg.statusUrl}/status`)).json() as Promise<PrimaryStatus>;
}

/** One sample of the status port's /metrics (summed over workers), by exact series text. */
async function metric(tg: TollgateProcess, series: string): Promise<number> {
  const text = await (await fetch(`${tg.statusUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(series)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// WORKERS=2: one primary (status port, supervision) and two gateway workers sharing the proxy port.
describe('WORKERS=2: several processes, one gateway', () => {
  let db: TestDatabase;
  let up: RecordingUpstream;
  let tg: TollgateProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    up = await startRecordingUpstream('svc');
    tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, WORKERS: '2', USAGE_FLUSH_MS: '200', LOG_FORMAT: 'json' }, readyTimeoutMs: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await tg?.stop();
    await up?.close();
    await db?.drop();
  });

  it('serves from both workers, sums their metrics, replaces a killed one, meters exactly and stops on SIGTERM', async () => {
    const applied = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: keyedFilesConfig(up.url, KEY) });
    expect(applied.status).toBe(200);
    // /readyz reports the oldest version any worker serves: every worker has the new config.
    await waitUntil(async () => ((await (await fetch(`${tg.statusUrl}/readyz`)).json()) as { version: number }).version >= 1, 15_000, 100);

    const first = await send(tg, 24, 'a');
    expect(first).toBe(24);
    const before = await status(tg);
    expect(before.workers.count).toBe(2);
    const pids = before.workers.list.map((w) => w.pid);
    expect(servingPids(tg.output(), 'a')).toEqual(new Set(pids));
    // The status port's /metrics is the sum over workers.
    await waitUntil(async () => (await metric(tg, 'tollgate_http_requests_total{api="files"')) === first, 5_000, 100);

    // Everything metered so far is committed before the kill (a SIGKILL may lose one flush interval).
    await waitUntil(async () => (await metric(tg, 'tollgate_usage_backlog_requests')) === 0, 10_000, 100);
    const victim = pids[0] as number;
    process.kill(victim, 'SIGKILL');
    await waitUntil(async () => {
      const s = await status(tg);
      return s.workers.restarts === 1 && s.workers.list.length === 2 && s.workers.list.every((w) => w.ready && w.configVersion !== null && w.configVersion >= 1) && !s.workers.list.some((w) => w.pid === victim);
    }, 30_000, 100);
    expect(await metric(tg, 'tollgate_worker_restarts_total')).toBe(1);
    const after = await status(tg);
    const replacement = after.workers.list.find((w) => !pids.includes(w.pid)) as WorkerStatus;
    expect(replacement).toBeDefined();

    const second = await send(tg, 24, 'b');
    expect(second).toBe(24);
    expect(servingPids(tg.output(), 'b')).toEqual(new Set(after.workers.list.map((w) => w.pid)));

    // SIGTERM: every worker drains and flushes, the primary exits 0, no worker is left behind.
    expect(await tg.stop()).toBe(0);
    for (const w of after.workers.list) expect(alive(w.pid)).toBe(false);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>("SELECT coalesce(sum(requests), 0) AS n FROM usage_rollups WHERE consumer = 'acme' AND billable");
      expect(Number(rows[0]?.n)).toBe(first + second);
    } finally {
      await client.end();
    }
  }, 90_000);
});

describe('WORKERS > 1 on the embedded store', () => {
  it('refuses to start: PGlite belongs to one process', async () => {
    const tg = await startTollgateProcess({ env: { WORKERS: '2', TOLLGATE_DATA: '/nonexistent/never-created' }, waitFor: 'none' });
    expect(await tg.exited).toBe(1);
    expect(tg.output()).toContain('WORKERS=2 needs DATABASE_URL');
  });
});
