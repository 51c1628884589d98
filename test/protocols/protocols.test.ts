import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync, type ServiceDefinition as LoaderService } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { TestCa, yamlBlock } from '../edge/certs.js';
import { freePort } from '../support/ports.js';
import { startTollgateProcess, waitUntil, type TollgateProcess } from '../support/tollgate-process.js';
import { BIG_ID, BOOKSTORE_FILE, BOOKSTORE_PROTO, PROTO_DIR, startBookstore, type BookstoreServer } from './grpc-server.js';

// Protocol conversion in a running `tollgate start` (on a fresh Postgres database): REST/JSON to a real
// @grpc/grpc-js server via google.api.http annotations and explicit mapping, gRPC-Web (binary and
// text) to the same server, JSON to a real SOAP-over-HTTP server, and bad configs refused at apply.

const TOKEN = `tgadm_${randomBytes(24).toString('hex')}`;

let dir: string;
let db: TestDatabase;
let tg: TollgateProcess;
let grpc: BookstoreServer;
let grpcTls: BookstoreServer;
let ca: TestCa;
let soap: { server: Server; origin: string; received: Array<{ headers: IncomingMessage['headers']; body: string }> };
let downPort: number;

// The client side of gRPC-Web encodes with @grpc/proto-loader's serializers, not the gateway's code.
const svc = loadSync(BOOKSTORE_FILE, { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: false })['bookstore.v1.Bookstore'] as LoaderService;

const indent = (s: string, n: number) => s.replace(/^/gm, ' '.repeat(n));

const SOAP_ENVELOPE = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://example.com/stock">
  <soap:Body><m:GetPrice><m:Item>{path.item}</m:Item><m:Currency>{body.currency}</m:Currency><m:Note>{body.note}</m:Note></m:GetPrice></soap:Body>
</soap:Envelope>`;

function config(): string {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: books-grpc }
spec: { targets: [{ url: "${grpc.origin}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: books-down }
spec: { targets: [{ url: "http://127.0.0.1:${downPort}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: books-tls }
spec:
  targets: [{ url: "${grpcTls.origin}" }]
  tls:
    ca: ${yamlBlock(ca.ca.cert, 6)}
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: books-tls-untrusted }
spec: { targets: [{ url: "${grpcTls.origin}" }] }
---
apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: stock-soap }
spec: { targets: [{ url: "${soap.origin}" }] }
---
apiVersion: tollgate.dev/v1
kind: ProtoDescriptor
metadata: { name: bookstore }
spec:
  files:
    ${BOOKSTORE_FILE}: |
${indent(BOOKSTORE_PROTO, 6)}
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: books }
spec:
  routes:
    - name: rest
      match: [{ path: { prefix: /v1 } }]
      timeoutMs: 400
      headers: { response: { set: { x-converted: grpc } }, request: { set: { x-origin-route: rest } } }
      grpc: { upstream: books-grpc, descriptor: bookstore, useHttpAnnotations: true, metadataHeaders: [x-tenant, x-origin-route] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: books-explicit }
spec:
  basePath: /explicit
  stripBasePath: true
  routes:
    - name: title
      match: [{ path: { template: "/shelves/{shelf}/books/{book_id}" }, methods: [GET] }]
      grpc: { upstream: books-grpc, descriptor: bookstore, service: bookstore.v1.Bookstore, method: GetBook, responseBody: title }
    - name: tls
      match: [{ path: { template: "/tls/shelves/{shelf}/books/{book_id}" } }]
      grpc: { upstream: books-tls, descriptor: bookstore, service: bookstore.v1.Bookstore, method: GetBook }
    - name: tls-untrusted
      match: [{ path: { exact: /tls-untrusted } }]
      grpc: { upstream: books-tls-untrusted, descriptor: bookstore, service: bookstore.v1.Bookstore, method: GetBook }
    - name: down
      match: [{ path: { exact: /down } }]
      grpc: { upstream: books-down, descriptor: bookstore, service: bookstore.v1.Bookstore, method: GetBook }
    - name: denied
      match: [{ path: { exact: /denied } }]
      policies: [{ name: ip-restriction, config: { deny: [127.0.0.1, "::1"] } }]
      grpc: { upstream: books-grpc, descriptor: bookstore, service: bookstore.v1.Bookstore, method: GetBook }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: books-web }
spec:
  basePath: /grpc
  stripBasePath: true
  routes:
    - name: web
      grpcWeb: { upstream: books-grpc }
      policies:
        - name: cors
          config: { allowOrigins: ["https://app.example"], allowMethods: [POST], allowHeaders: [content-type, x-grpc-web, x-user-agent, grpc-timeout, x-tenant] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: prices }
spec:
  basePath: /prices
  routes:
    - name: price
      match: [{ path: { template: "/{item}" }, methods: [GET, POST] }]
      soap:
        upstream: stock-soap
        path: /StockService
        soapAction: "http://example.com/GetPrice"
        responsePath: Envelope.Body.GetPriceResponse
        faultStatus: { Client: 400 }
        envelope: |
${indent(SOAP_ENVELOPE, 10)}
    - name: price12
      match: [{ path: { template: "/v12/{item}" } }]
      soap:
        upstream: stock-soap
        path: /StockService12
        soapAction: "urn:GetPrice"
        version: "1.2"
        responsePath: Envelope.Body.GetPriceResponse
        envelope: '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><m:GetPrice xmlns:m="http://example.com/stock"><m:Item>{path.item}</m:Item></m:GetPrice></env:Body></env:Envelope>'
`;
}

async function apply(yaml: string): Promise<{ status: number; type: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${tg.adminUrl}/config`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: yaml });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> };
}

/** A SOAP 1.1 service: GetPrice for any item; UNKNOWN is a Client fault, BROKEN a Server fault, HTML answers a web page, BIG a 2 MiB body. */
function soapHandler(req: IncomingMessage, res: ServerResponse, body: string): void {
  const item = /<m:Item>([^<]*)<\/m:Item>/.exec(body)?.[1] ?? '';
  const envelope = (inner: string) => `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://example.com/stock"><soap:Body>${inner}</soap:Body></soap:Envelope>`;
  const fault = (code: string, text: string) => {
    res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(envelope(`<soap:Fault><faultcode>${code}</faultcode><faultstring>${text}</faultstring><detail><m:Reason>no such item</m:Reason></detail></soap:Fault>`));
  };
  if (req.url === '/StockService12') {
    // SOAP 1.2: application/soap+xml, Code/Value and Reason/Text faults.
    res.writeHead(item === 'FAULT12' ? 500 : 200, { 'content-type': 'application/soap+xml; charset=utf-8' });
    const env12 = (inner: string) => `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:m="http://example.com/stock"><env:Body>${inner}</env:Body></env:Envelope>`;
    if (item === 'FAULT12') return void res.end(env12('<env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Bad item</env:Text></env:Reason></env:Fault>'));
    return void res.end(env12(`<m:GetPriceResponse><m:Price>12</m:Price><m:Item>${item}</m:Item></m:GetPriceResponse>`));
  }
  if (item === 'UNKNOWN') return fault('soap:Client', 'Unknown item UNKNOWN');
  if (item === 'BROKEN') return fault('soap:Server', 'Database down');
  if (item === 'HTML') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return void res.end('<html><body>maintenance</body></html>');
  }
  if (item === 'BIG') {
    res.writeHead(200, { 'content-type': 'text/xml' });
    return void res.end(envelope(`<m:GetPriceResponse><m:Pad>${'x'.repeat(2 * 1024 * 1024)}</m:Pad></m:GetPriceResponse>`));
  }
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(envelope(`<m:GetPriceResponse><m:Price>34.5</m:Price><m:Code>007</m:Code><m:Item>${item}</m:Item></m:GetPriceResponse>`));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-protocols-'));
  grpc = await startBookstore();
  ca = new TestCa();
  grpcTls = await startBookstore(ca.issue('127.0.0.1', ['127.0.0.1', 'localhost']));
  downPort = await freePort();
  const received: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body });
      soapHandler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  soap = { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
  db = await createTestDatabase();
  // Overload shedding off: on a loaded CI machine an apply can delay the loop past 1 s, which is not what this file tests.
  tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), DATABASE_URL: db.url, ADMIN_TOKEN: TOKEN, MAX_EVENT_LOOP_DELAY_MS: '0' } });
  const r = await apply(config());
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await waitUntil(async () => (await fetch(`${tg.proxyUrl}/v1/shelves/1/books/1`)).status === 200, 10_000);
});

afterAll(async () => {
  await tg?.stop();
  await db?.drop();
  await grpc?.close();
  await grpcTls?.close();
  ca?.dispose();
  if (soap) await new Promise<void>((r) => (soap.server.closeAllConnections(), soap.server.close(() => r())));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${tg.proxyUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}

describe('REST/JSON to gRPC through google.api.http annotations', () => {
  it('GET with path variables and a query parameter; int64 as string, enum as name, Timestamp as RFC 3339, JSON names', async () => {
    const r = await call('/v1/shelves/12/books/7?include_tags=true', { headers: { 'x-request-id': 'req-grpc-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('x-converted')).toBe('grpc'); // route response header operations apply
    expect(r.json).toEqual({ name: 'shelves/12/books/7', id: BIG_ID, title: 'Dune', genre: 'FICTION', published: '2001-09-09T01:46:40.500Z', tags: ['sf', 'classic'], pageCount: 412 });
    const got = grpc.calls.findLast((c) => c.method === 'GetBook');
    expect(got?.request).toMatchObject({ shelf: '12', book_id: '7', include_tags: true });
    expect(got?.metadata['x-request-id']).toBe('req-grpc-1');
    // The trace continues through the gateway's span: same trace id, a new parent span.
    expect(String(got?.metadata.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01$/);
  });

  it('repeated and enum query parameters fill the request message', async () => {
    const r = await call('/v1/shelves/3/books?page_size=3&tags=a&tags=b&genre=HISTORY');
    expect(r.status).toBe(200);
    expect(r.json.nextPageToken).toBe('next');
    expect(r.json.books).toHaveLength(3);
    expect((r.json.books as Array<Record<string, unknown>>)[0]).toEqual({ name: 'shelves/3/books/1', title: 'book 1', genre: 'HISTORY', tags: ['a', 'b'] });
  });

  it('POST maps the JSON body to the `book` field and the path to `shelf`; selected headers become metadata', async () => {
    const before = grpc.calls.length;
    const r = await call('/v1/shelves/5/books', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant': 'acme', 'x-other': 'not-forwarded' },
      body: JSON.stringify({ title: 'New', pageCount: 10, genre: 'HISTORY', published: '2020-01-02T03:04:05Z', tags: ['x'] }),
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'shelves/5/books/100', id: '100', title: 'New', pageCount: 10, genre: 'HISTORY', published: '2020-01-02T03:04:05Z', tags: ['x'] });
    const got = grpc.calls[before];
    expect(got?.method).toBe('CreateBook');
    expect(got?.request.shelf).toBe('5');
    expect(got?.request.book).toMatchObject({ title: 'New', page_count: 10, genre: 'HISTORY', published: { seconds: '1577934245', nanos: 0 } });
    expect(got?.metadata['x-tenant']).toBe('acme');
    expect(got?.metadata['x-origin-route']).toBe('rest'); // route request header changes apply first
    expect(got?.metadata['x-other']).toBeUndefined();
  });

  it('body "*" with a multi-segment path variable, and an additional binding', async () => {
    const r = await call('/v1/shelves/2/books/9', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'T', name: 'ignored' }) });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'shelves/2/books/9', title: 'T (updated)' });
    const put = await call('/v1/books/abc', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'P', page_count: 3 }) });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ name: 'abc', title: 'P (updated)', pageCount: 3 });
  });

  it('gRPC errors become problem+json with the google.rpc HTTP mapping', async () => {
    const nf = await call('/v1/shelves/1/books/404');
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(nf.json).toMatchObject({ status: 404, code: 'GRPC_NOT_FOUND', grpcStatus: 5, grpcCode: 'NOT_FOUND', grpcMessage: 'book 404 not found on shelf 1', detail: 'book 404 not found on shelf 1' });
    expect(typeof nf.json.requestId).toBe('string');
    const bad = await call('/v1/shelves/0/books/1');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'GRPC_INVALID_ARGUMENT', grpcStatus: 3 });
    const denied = await call('/v1/shelves/1/books/403');
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ code: 'GRPC_PERMISSION_DENIED', grpcStatus: 7 });
  });

  it('the route timeout is the gRPC deadline: past it 504 DEADLINE_EXCEEDED', async () => {
    const r = await call('/v1/slow/3000');
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({ code: 'GRPC_DEADLINE_EXCEEDED', grpcStatus: 4 });
  });

  it('a request that does not fit the message is a 400 and never reaches the server', async () => {
    const before = grpc.calls.length;
    const unknownField = await call('/v1/shelves/5/books', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nope: 1 }) });
    expect(unknownField.status).toBe(400);
    expect(unknownField.json).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(String(unknownField.json.detail)).toMatch(/no field "nope"/);
    const wrongType = await call('/v1/shelves/abc/books/1');
    expect(wrongType.status).toBe(400);
    const unknownQuery = await call('/v1/shelves/1/books/1?colour=red');
    expect(unknownQuery.status).toBe(400);
    const notJson = await call('/v1/shelves/5/books', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(notJson.json.code).toBe('INVALID_JSON');
    expect(grpc.calls.length).toBe(before);
  });

  it('an unbound path is 404 and an unbound method 405 with Allow', async () => {
    const nf = await call('/v1/nothing/here');
    expect(nf.status).toBe(404);
    expect(nf.json.code).toBe('GRPC_NO_BINDING');
    const res = await fetch(`${tg.proxyUrl}/v1/shelves/1/books/7`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    // PATCH is bound on the same path through {name=shelves/*/books/*}.
    expect(res.headers.get('allow')).toBe('GET, PATCH');
  });
});

describe('REST/JSON to gRPC with explicit mapping', () => {
  it('route template captures fill fields of the same name; responseBody answers with one field', async () => {
    const r = await fetch(`${tg.proxyUrl}/explicit/shelves/4/books/8`);
    expect(r.status).toBe(200);
    expect(await r.json()).toBe('Dune');
    expect(grpc.calls.findLast((c) => c.method === 'GetBook')?.request).toMatchObject({ shelf: '4', book_id: '8' });
  });

  it('an https target is gRPC over TLS, verified with the upstream CA', async () => {
    const r = await call('/explicit/tls/shelves/8/books/9');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'shelves/8/books/9', title: 'Dune' });
    expect(grpcTls.calls.at(-1)?.request).toMatchObject({ shelf: '8', book_id: '9' });
    // Without the CA the server's certificate is not trusted: the call never happens.
    const before = grpcTls.calls.length;
    const untrusted = await call('/explicit/tls-untrusted');
    expect(untrusted.status).toBe(503);
    expect(untrusted.json.code).toBe('GRPC_UNAVAILABLE');
    expect(grpcTls.calls.length).toBe(before);
  });

  it('the access log records the route and the target; a service status is the upstream\'s answer, no connection a gateway error', async () => {
    await call('/v1/shelves/1/books/404', { headers: { 'x-request-id': 'grpc-access-1' } });
    await call('/explicit/down', { headers: { 'x-request-id': 'grpc-access-2' } });
    await waitUntil(async () => tg.output().includes('"grpc-access-2"'), 5000);
    const line = (id: string) =>
      tg
        .output()
        .split('\n')
        .filter((l) => l.includes(`"${id}"`) && l.includes('"type":"access"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
    const answered = line('grpc-access-1');
    expect(answered).toMatchObject({ api: 'books', route: 'rest', status: 404, upstream: grpc.origin });
    expect(answered?.code).toBeUndefined();
    expect(typeof answered?.upstreamMs).toBe('number');
    expect(line('grpc-access-2')).toMatchObject({ api: 'books-explicit', route: 'down', status: 503, code: 'GRPC_UNAVAILABLE' });
  });

  it('an upstream nobody listens on is 503 UNAVAILABLE', async () => {
    const r = await call('/explicit/down');
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ code: 'GRPC_UNAVAILABLE', grpcStatus: 14 });
  });

  it('policies run before the conversion: a denied client never reaches the gRPC server', async () => {
    const before = grpc.calls.length;
    const r = await call('/explicit/denied');
    expect(r.status).toBe(403);
    expect(grpc.calls.length).toBe(before);
  });
});

/** gRPC-Web frames of a body. */
function frames(buf: Buffer): Array<{ flag: number; data: Buffer }> {
  const out: Array<{ flag: number; data: Buffer }> = [];
  for (let i = 0; i < buf.length; ) {
    const len = buf.readUInt32BE(i + 1);
    out.push({ flag: buf[i] as number, data: buf.subarray(i + 5, i + 5 + len) });
    i += 5 + len;
  }
  return out;
}

function frame(data: Buffer, flag = 0): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(data.length, 1);
  return Buffer.concat([h, data]);
}

const getBook = svc.GetBook as LoaderService[string];
const streamBooks = svc.StreamBooks as LoaderService[string];

describe('gRPC-Web to gRPC', () => {
  it('binary: a unary call round-trips, trailers come as the final frame', async () => {
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/GetBook`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', 'x-tenant': 'web', origin: 'https://app.example' },
      body: frame(getBook.requestSerialize({ shelf: '6', book_id: '2' })),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/grpc-web+proto');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/grpc-status/);
    const f = frames(Buffer.from(await res.arrayBuffer()));
    expect(f.map((x) => x.flag)).toEqual([0, 0x80]);
    expect(getBook.responseDeserialize((f[0] as { data: Buffer }).data)).toMatchObject({ name: 'shelves/6/books/2', id: BIG_ID, title: 'Dune' });
    expect((f[1] as { data: Buffer }).data.toString()).toMatch(/^grpc-status: 0\r\n/);
    // Custom headers reach the server as metadata.
    expect(grpc.calls.findLast((c) => c.method === 'GetBook')?.metadata['x-tenant']).toBe('web');
  });

  it('text: base64 both ways', async () => {
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/GetBook`, {
      method: 'POST',
      headers: { 'content-type': 'application/grpc-web-text', accept: 'application/grpc-web-text' },
      body: frame(getBook.requestSerialize({ shelf: '1', book_id: '3' })).toString('base64'),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/grpc-web-text+proto');
    const f = frames(Buffer.from(await res.text(), 'base64'));
    expect(getBook.responseDeserialize((f[0] as { data: Buffer }).data)).toMatchObject({ name: 'shelves/1/books/3' });
    expect((f.at(-1) as { data: Buffer }).data.toString()).toContain('grpc-status: 0');
  });

  it('an error status travels in the trailers (and the headers, trailers-only)', async () => {
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/GetBook`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: frame(getBook.requestSerialize({ shelf: '1', book_id: '404' })) });
    expect(res.status).toBe(200);
    expect(res.headers.get('grpc-status')).toBe('5');
    expect(res.headers.get('grpc-message')).toBe('book 404 not found on shelf 1');
    const f = frames(Buffer.from(await res.arrayBuffer()));
    expect(f).toHaveLength(1);
    expect((f[0] as { flag: number; data: Buffer }).flag).toBe(0x80);
    expect((f[0] as { data: Buffer }).data.toString()).toContain('grpc-status: 5');
  });

  it('server streaming: every message a frame, then the trailers with trailing metadata', async () => {
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/StreamBooks`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: frame(streamBooks.requestSerialize({ page_size: 3 })) });
    const f = frames(Buffer.from(await res.arrayBuffer()));
    expect(f.map((x) => x.flag)).toEqual([0, 0, 0, 0x80]);
    expect(f.slice(0, 3).map((x) => (streamBooks.responseDeserialize(x.data) as { title: string }).title)).toEqual(['streamed 1', 'streamed 2', 'streamed 3']);
    expect((f[3] as { data: Buffer }).data.toString()).toContain('x-stream-count: 3');
  });

  it('server streaming is streamed: the first message arrives before the last is sent; a client that leaves cancels the call', async () => {
    const before = grpc.streamed;
    const cancelledBefore = grpc.cancelledStreams;
    const ac = new AbortController();
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/StreamBooks`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: frame(streamBooks.requestSerialize({ page_size: 50, shelf: '200' })), signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const f = frames(Buffer.from(first.value as Uint8Array));
    expect((streamBooks.responseDeserialize((f[0] as { data: Buffer }).data) as { title: string }).title).toBe('streamed 1');
    // 50 messages 200 ms apart: far from all sent when the first one is here.
    expect(grpc.streamed - before).toBeLessThan(50);
    ac.abort();
    await waitUntil(async () => grpc.cancelledStreams > cancelledBefore, 5000);
  });

  it('a browser preflight is answered by the cors policy; responses expose grpc-status and grpc-message', async () => {
    const pre = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/GetBook`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web' } });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/x-grpc-web/);
    const res = await fetch(`${tg.proxyUrl}/grpc/bookstore.v1.Bookstore/GetBook`, { method: 'POST', headers: { origin: 'https://app.example', 'content-type': 'application/grpc-web+proto' }, body: frame(getBook.requestSerialize({ shelf: '1', book_id: '1' })) });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-expose-headers')).toBe('grpc-status, grpc-message');
  });

  it('anything but gRPC-Web is refused with 415', async () => {
    const r = await call('/grpc/bookstore.v1.Bookstore/GetBook', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(415);
    expect(r.json.code).toBe('GRPC_WEB_REQUIRED');
  });
});

describe('JSON to SOAP', () => {
  it('round trip: the envelope is filled (XML-escaped) and the response element becomes JSON', async () => {
    const before = soap.received.length;
    const r = await call('/prices/ACME', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ currency: 'EUR', note: '<b>&"' }) });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ Price: 34.5, Code: '007', Item: 'ACME' });
    const got = soap.received[before];
    expect(got?.headers['content-type']).toBe('text/xml; charset=utf-8');
    expect(got?.headers.soapaction).toBe('"http://example.com/GetPrice"');
    expect(got?.body).toContain('<m:Item>ACME</m:Item><m:Currency>EUR</m:Currency><m:Note>&lt;b&gt;&amp;&quot;</m:Note>');
  });

  it('a Client fault is mapped to 400 problem+json with faultcode and faultstring', async () => {
    const r = await call('/prices/UNKNOWN', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.json).toMatchObject({ code: 'SOAP_FAULT', faultcode: 'soap:Client', faultstring: 'Unknown item UNKNOWN', detail: 'Unknown item UNKNOWN', faultDetail: { Reason: 'no such item' }, upstreamStatus: 500 });
  });

  it('an unmapped fault is 502', async () => {
    const r = await call('/prices/BROKEN');
    expect(r.status).toBe(502);
    expect(r.json).toMatchObject({ code: 'SOAP_FAULT', faultcode: 'soap:Server', faultstring: 'Database down' });
  });

  it('a non-XML or oversized answer is a clear 502, not a crash', async () => {
    const html = await call('/prices/HTML');
    expect(html.status).toBe(502);
    expect(html.json.code).toBe('SOAP_BAD_RESPONSE');
    expect(String(html.json.detail)).toMatch(/text\/html/);
    const big = await call('/prices/BIG');
    expect(big.status).toBe(502);
    expect(big.json.code).toBe('SOAP_RESPONSE_TOO_LARGE');
    // Still serving.
    expect((await call('/prices/OK')).status).toBe(200);
  });

  it('SOAP 1.2: application/soap+xml with the action parameter, and a 1.2 fault', async () => {
    const before = soap.received.length;
    const r = await call('/prices/v12/BOLT');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ Price: 12, Item: 'BOLT' });
    expect(soap.received[before]?.headers['content-type']).toBe('application/soap+xml; charset=utf-8; action="urn:GetPrice"');
    expect(soap.received[before]?.headers.soapaction).toBeUndefined();
    const f = await call('/prices/v12/FAULT12');
    expect(f.status).toBe(502);
    expect(f.json).toMatchObject({ code: 'SOAP_FAULT', faultcode: 'env:Sender', faultstring: 'Bad item' });
  });

  it('a body value that is not text is a 400', async () => {
    const r = await call('/prices/ACME', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ currency: { a: 1 } }) });
    expect(r.status).toBe(400);
  });
});

describe('bad protocol config is refused at apply with the document path', () => {
  async function refused(yaml: string): Promise<Array<{ code: string; path: string; message: string; resource?: string }>> {
    const r = await apply(yaml);
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.type).toMatch(/^application\/problem\+json/);
    return r.body.errors as Array<{ code: string; path: string; message: string; resource?: string }>;
  }
  const swap = (from: string, to: string) => {
    const c = config();
    expect(c).toContain(from);
    return c.replace(from, to);
  };

  it('an unknown gRPC method', async () => {
    const errors = await refused(swap('method: GetBook, responseBody: title', 'method: GetBooks'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown_method', resource: 'Api/books-explicit', path: 'spec.routes[0].grpc.method' }));
  });

  it('an unknown service', async () => {
    const errors = await refused(swap('service: bookstore.v1.Bookstore, method: GetBook, responseBody: title', 'service: bookstore.v1.Library, method: GetBook'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown_service', path: 'spec.routes[0].grpc.service', message: expect.stringMatching(/has: bookstore\.v1\.Bookstore/) }));
  });

  it('an invalid proto', async () => {
    const errors = await refused(swap('int32 page_count = 7;', 'int32 page_count = ;'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_proto', resource: 'ProtoDescriptor/bookstore', path: `spec.files["${BOOKSTORE_FILE}"]` }));
  });

  it('an annotation path variable naming a missing field', async () => {
    const errors = await refused(swap('{ get: "/v1/slow/{ms}" }', '{ get: "/v1/slow/{millis}" }'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_http_rule', resource: 'Api/books', path: 'spec.routes[0].grpc.descriptor', message: expect.stringMatching(/\{millis\}.*no field "millis"/) }));
  });

  it('an unresolvable import and a missing descriptor', async () => {
    const errors = await refused(swap('import "google/protobuf/timestamp.proto";', 'import "acme/money.proto";'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_proto', message: expect.stringMatching(/acme\/money\.proto/) }));
    const missing = await refused(swap('grpc: { upstream: books-grpc, descriptor: bookstore, useHttpAnnotations', 'grpc: { upstream: books-grpc, descriptor: nothing, useHttpAnnotations'));
    expect(missing).toContainEqual(expect.objectContaining({ code: 'dangling_reference', path: 'spec.routes[0].grpc.descriptor' }));
  });

  it('SOAP envelope placeholders referencing nothing', async () => {
    const errors = await refused(swap('<m:Item>{path.item}</m:Item>', '<m:Item>{path.sku}</m:Item><m:X>{foo.bar}</m:X>'));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unknown_capture', resource: 'Api/prices', path: 'spec.routes[0].soap.envelope' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_template', path: 'spec.routes[0].soap.envelope' }));
  });

  it('descriptors are resources of the admin API', async () => {
    const res = await fetch(`${tg.adminUrl}/protodescriptors/bookstore`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { kind: string; spec: { files: Record<string, string> } };
    expect(doc.kind).toBe('ProtoDescriptor');
    expect(Object.keys(doc.spec.files)).toEqual([BOOKSTORE_FILE]);
    const openapi = (await (await fetch(`${tg.adminUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toContain('/protodescriptors/{name}');
  });

  it('a rejected apply leaves the serving config alone', async () => {
    const r = await call('/v1/shelves/1/books/2');
    expect(r.status, JSON.stringify(r.json)).toBe(200);
  });
});
