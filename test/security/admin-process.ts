import { createTestDatabase } from '../support/databases.js';
import { startTollgateProcess, type StartTollgateOptions, type TollgateProcess } from '../support/tollgate-process.js';

/** The admin token of the processes the security suites start. */
export const TOKEN = 'security-admin-token-0123456789abcdef';

/** A real `tollgate start` process on a fresh Postgres database (quicker to start than PGlite). */
export interface SecurityProcess {
  tg: TollgateProcess;
  /** A request to the admin API with the admin token. */
  admin(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; type: string | null; body: string; json: () => ProblemJson }>;
  close(): Promise<void>;
}

/** The problem members the suites look at. */
export interface ProblemJson {
  status: number;
  code: string;
  detail: string;
  errors?: Array<{ path: string; code: string; message: string; document?: number; line?: number }>;
}

export async function startSecurityProcess(role: StartTollgateOptions['role'] = 'admin', env: Record<string, string> = {}): Promise<SecurityProcess> {
  const db = await createTestDatabase();
  const tg = await startTollgateProcess({ role, env: { DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, ...env } }).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  return {
    tg,
    async admin(method, path, body, contentType) {
      const res = await fetch(`${tg.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(contentType ? { 'content-type': contentType } : {}) }, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type'), body: text, json: () => JSON.parse(text) as ProblemJson };
    },
    async close() {
      await tg.stop();
      await db.drop();
    },
  };
}

/** A request to the proxy with the given headers (node:http, so Origin and Host are sent as given). */
export async function proxyRequest(proxyUrl: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, proxyUrl), { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits until the process's gateway serves config `version` (from the status listener). */
export async function waitForVersion(p: SecurityProcess, version: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const status = (await (await fetch(`${p.tg.statusUrl}/status`)).json()) as { config?: { version?: number } };
    if ((status.config?.version ?? -1) >= version) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway did not reach config version ${version}`);
}
