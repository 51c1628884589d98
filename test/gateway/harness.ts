import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildGateway, type ConfigSource, type Gateway, type GatewayOptions } from '@tollgate/gateway';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import type { ConfigSnapshot } from '@tollgate/stores';

/** A config source held in memory by the test: resources + version, watchers called on change. */
export class TestConfigSource implements ConfigSource {
  #version = 1;
  #resources: Resource[];
  #watchers = new Set<(v: number) => void>();
  /** When set, load() waits for this promise (simulates a slow store at boot). */
  gate: Promise<void> | null = null;

  constructor(resources: Resource[]) {
    this.#resources = resources;
  }

  async load(): Promise<ConfigSnapshot> {
    if (this.gate) await this.gate;
    return { version: this.#version, resources: structuredClone(this.#resources) };
  }

  async version(): Promise<number> {
    return this.#version;
  }

  async watch(onChange: (version: number) => void): Promise<() => Promise<void>> {
    this.#watchers.add(onChange);
    return async () => void this.#watchers.delete(onChange);
  }

  /** Replaces the resources, bumps the version and notifies watchers. */
  set(resources: Resource[]): number {
    const v = this.setSilently(resources);
    for (const w of this.#watchers) w(v);
    return v;
  }

  /** Replaces the resources and bumps the version without notifying (a lost NOTIFY). */
  setSilently(resources: Resource[]): number {
    this.#resources = resources;
    return ++this.#version;
  }
}

/** Parses YAML resources or throws. */
export function yamlResources(text: string): Resource[] {
  const r = parseResourcesYaml(text);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources;
}

/** What the recording upstream received for one complete request. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A real upstream on 127.0.0.1:0 that records requests. */
export interface RecordingUpstream {
  origin: string;
  received: Received[];
  /** Requests whose headers arrived (complete or not). */
  started: number;
  server: Server;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** Starts a recording upstream; by default answers 200 with `name method url`. */
export async function startUpstream(name = 'up', handler?: UpstreamHandler): Promise<RecordingUpstream> {
  const up: RecordingUpstream = { origin: '', received: [], started: 0, server: undefined as unknown as Server, close: async () => undefined };
  const server = createServer((req, res) => {
    up.started++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      up.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler) handler(req, res, body);
      else res.end(`${name} ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.server = server;
  up.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return up;
}

/** A gateway listening on 127.0.0.1:0 with captured log lines. */
export interface RunningGateway {
  gw: Gateway;
  port: number;
  statusPort: number;
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Builds and listens a gateway fed by `source`. */
export async function startTestGateway(source: ConfigSource, options: GatewayOptions = {}, waitReady = true): Promise<RunningGateway> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gw = buildGateway({ source, logger: pino({ level: 'info' }, sink), options: { configPollMs: 200, ...options } });
  await gw.status.listen({ host: '127.0.0.1', port: 0 });
  if (waitReady) await gw.ready;
  await gw.proxy.listen({ host: '127.0.0.1', port: 0 });
  return {
    gw,
    port: (gw.proxy.server.address() as AddressInfo).port,
    statusPort: (gw.status.server.address() as AddressInfo).port,
    logs,
    close: () => gw.close(),
  };
}

/** A client response with the body read. */
export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): Record<string, unknown>;
}

/** Sends one raw HTTP/1.1 request (no connection reuse), path sent exactly as given. */
export function send(port: number, opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: Buffer | string | AsyncIterable<Buffer> }): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    const b = opts.body;
    if (b === undefined) req.end();
    else if (typeof b === 'string' || Buffer.isBuffer(b)) req.end(b);
    else
      void (async () => {
        try {
          for await (const c of b) if (!req.write(c)) await new Promise((r) => req.once('drain', r));
          req.end();
        } catch (err) {
          req.destroy(err as Error);
        }
      })();
  });
}

/** Waits until `check` returns true (polling), or throws after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}

/** YAML for one upstream. */
export function upstreamYaml(name: string, origins: string[], extra = ''): string {
  return `---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: ${name} }
spec:
  targets: [${origins.map((o) => `{ url: "${o}" }`).join(', ')}]
${extra}`;
}

/** YAML for one API. */
export function apiYaml(name: string, spec: string): string {
  return `---\napiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: ${name} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
}
