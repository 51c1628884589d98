import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

export const TOKEN = 'lifecycle-admin-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A `tollgate start` process on its own Postgres database, with two recording upstreams. */
export interface LifecycleStack {
  tg: TollgateProcess;
  db: TestDatabase;
  one: RecordingUpstream;
  two: RecordingUpstream;
  close(): Promise<void>;
}

export async function startStack(): Promise<LifecycleStack> {
  const db = await createTestDatabase();
  const [one, two] = await Promise.all([startRecordingUpstream('one'), startRecordingUpstream('two')]);
  const tg = await startTollgateProcess({ env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, CONFIG_POLL_MS: '500' } });
  return {
    tg,
    db,
    one,
    two,
    async close() {
      await tg.stop();
      await Promise.all([one.close(), two.close()]);
      await db.drop();
    },
  };
}

/** A YAML document. */
export function doc(kind: string, name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}

/** A Consumer with one declared API key (stored as its SHA-256). */
export function consumer(name: string, key: string): string {
  return doc('Consumer', name, `keys: [{ name: k, hash: ${createHash('sha256').update(key).digest('hex')} }]`);
}

export function upstreams(s: LifecycleStack): string {
  return doc('Upstream', 'one', `targets: [{ url: "${s.one.url}" }]`) + doc('Upstream', 'two', `targets: [{ url: "${s.two.url}" }]`);
}

/** `POST /config` with YAML; returns status and parsed body. */
export async function apply(s: LifecycleStack, yaml: string): Promise<{ status: number; contentType: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${s.tg.adminUrl}/config`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/yaml' }, body: yaml });
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

/** `POST /apis/{name}/lifecycle`. */
export async function transition(s: LifecycleStack, api: string, body: Record<string, unknown>): Promise<{ status: number; contentType: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${s.tg.adminUrl}/apis/${api}/lifecycle`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

/** One request through the gateway. */
export interface ProxyAnswer {
  status: number;
  headers: Headers;
  text: string;
  json(): Record<string, unknown>;
}

export async function call(s: LifecycleStack, path: string, headers: Record<string, string> = {}): Promise<ProxyAnswer> {
  const res = await fetch(`${s.tg.proxyUrl}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Waits until the gateway's answer to `path` satisfies `ok` (a config change reaches it within a second). */
export async function untilAnswer(s: LifecycleStack, path: string, ok: (a: ProxyAnswer) => boolean, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<ProxyAnswer> {
  let last: ProxyAnswer | undefined;
  try {
    await waitUntil(async () => {
      last = await call(s, path, headers);
      return ok(last);
    }, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last answer ${last?.status} ${last?.text}`);
  }
  return last as ProxyAnswer;
}

/** Waits until the gateway answers `path` with `status` (a config change reaches it within a second). */
export function until(s: LifecycleStack, path: string, status: number, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<ProxyAnswer> {
  return untilAnswer(s, path, (a) => a.status === status, headers, timeoutMs);
}
