import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';

/** A built `tollgate start` process on embedded defaults, with recording upstreams and a config applied. */
export interface SecurityGateway {
  tg: TollgateProcess;
  upstreams: Record<string, RecordingUpstream>;
  /** Requests all upstreams received so far. */
  received(): number;
  /** Sends raw bytes to the proxy port and resolves with the parsed response (the connection is closed after it). */
  raw(request: string): Promise<RawResponse>;
  stop(): Promise<void>;
}

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): Record<string, unknown>;
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  let body = split === -1 ? '' : text.slice(split + 4);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    for (;;) {
      const eol = body.indexOf('\r\n');
      const n = parseInt(body.slice(0, eol), 16);
      if (!(n > 0)) break;
      out += body.slice(eol + 2, eol + 2 + n);
      body = body.slice(eol + 2 + n + 2);
    }
    body = out;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}

/**
 * Starts recording upstreams named `names` (their URLs are passed to `config` to build the
 * resources YAML), a tollgate process, applies the config through the admin API and waits until
 * `readyPath` (with `readyHost`) is routed.
 */
export async function startSecurityGateway(names: readonly string[], config: (urls: Record<string, string>) => string, ready: { host: string; path: string }): Promise<SecurityGateway> {
  const token = `tgadm_${randomBytes(24).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sec-'));
  const upstreams: Record<string, RecordingUpstream> = {};
  for (const n of names) upstreams[n] = await startRecordingUpstream(n);
  // A generous start deadline: these files start one process each, often alongside other suites.
  const tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), ADMIN_TOKEN: token }, readyTimeoutMs: 90_000 });
  const port = Number(new URL(tg.proxyUrl).port);
  const urls = Object.fromEntries(Object.entries(upstreams).map(([k, u]) => [k, u.url]));
  const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, body: config(urls) });
  if (res.status !== 200) throw new Error(`config refused: ${res.status} ${await res.text()}`);
  const raw = (request: string) =>
    new Promise<RawResponse>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write(request));
      let buf = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (buf += d));
      s.on('error', reject);
      s.on('close', () => resolve(parseResponse(buf)));
    });
  await waitUntil(async () => (await raw(`GET ${ready.path} HTTP/1.1\r\nHost: ${ready.host}\r\nConnection: close\r\n\r\n`)).status !== 404, 10_000);
  for (const u of Object.values(upstreams)) u.requests.length = 0;
  return {
    tg,
    upstreams,
    received: () => Object.values(upstreams).reduce((n, u) => n + u.requests.length, 0),
    raw,
    async stop() {
      await tg.stop();
      await Promise.all(Object.values(upstreams).map((u) => u.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A GET with the given Host line(s) (each a full `Name: value` line) and target, closing the connection. */
export function get(target: string, hostLines: readonly string[], extra: readonly string[] = []): string {
  return `GET ${target} HTTP/1.1\r\n${[...hostLines, ...extra].map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`;
}

/** YAML of an Upstream named `name` with one target. */
export function upstream(name: string, url: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: ${name} }\nspec: { targets: [{ url: "${url}" }] }\n`;
}

/** YAML of an Api: `spec` is its spec body (indented by this function). */
export function api(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}
