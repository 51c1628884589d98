import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, status, type Metadata, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition as LoaderService } from '@grpc/proto-loader';

/** The fixture protos; the service is loaded by @grpc/proto-loader, independently of the gateway's code. */
export const PROTO_DIR = fileURLToPath(new URL('../fixtures/proto/', import.meta.url));
export const BOOKSTORE_FILE = 'bookstore/v1/bookstore.proto';
export const BOOKSTORE_PROTO = readFileSync(`${PROTO_DIR}${BOOKSTORE_FILE}`, 'utf8');

/** One call the test server received: method, request (proto-loader object form) and metadata. */
export interface ReceivedCall {
  method: string;
  request: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface BookstoreServer {
  /** `http://127.0.0.1:PORT`, usable as an Upstream target. */
  origin: string;
  calls: ReceivedCall[];
  /** StreamBooks messages written so far, and streams the client cancelled. */
  streamed: number;
  cancelledStreams: number;
  close(): Promise<void>;
}

/** A big int64 id: beyond 2^53, so a JSON number would lose it. */
export const BIG_ID = '9007199254740993';

/**
 * A real gRPC server (@grpc/grpc-js, HTTP/2 cleartext, or TLS with `tls`) on 127.0.0.1:0 implementing
 * bookstore.v1.Bookstore: book 404 is NOT_FOUND, shelf 0 is INVALID_ARGUMENT, Slow sleeps `ms`.
 */
export async function startBookstore(tls?: { cert: string; key: string }): Promise<BookstoreServer> {
  const def = loadSync(BOOKSTORE_FILE, { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: true });
  const svc = def['bookstore.v1.Bookstore'] as LoaderService;
  const calls: ReceivedCall[] = [];
  // Counters the handlers update; filled into the returned object.
  const server = { streamed: 0, cancelledStreams: 0 };
  const record = (method: string, call: { request: unknown; metadata: Metadata }) => calls.push({ method, request: call.request as Record<string, unknown>, metadata: call.metadata.getMap() });
  const impl: UntypedServiceImplementation = {
    GetBook(call: ServerUnaryCall<Record<string, string | boolean>, unknown>, cb: sendUnaryData<unknown>) {
      record('GetBook', call);
      const { shelf, book_id, include_tags } = call.request;
      if (shelf === '0') return cb({ code: status.INVALID_ARGUMENT, details: 'shelf must be positive' });
      if (book_id === '404') return cb({ code: status.NOT_FOUND, details: `book ${String(book_id)} not found on shelf ${String(shelf)}` });
      if (book_id === '403') return cb({ code: status.PERMISSION_DENIED, details: 'not your shelf' });
      cb(null, {
        name: `shelves/${String(shelf)}/books/${String(book_id)}`,
        id: BIG_ID,
        title: 'Dune',
        genre: 'FICTION',
        published: { seconds: 1_000_000_000, nanos: 500_000_000 },
        tags: include_tags === true ? ['sf', 'classic'] : [],
        page_count: 412,
      });
    },
    ListBooks(call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) {
      record('ListBooks', call);
      const r = call.request;
      const n = Number(r.page_size) || 2;
      cb(null, { books: Array.from({ length: n }, (_, i) => ({ name: `shelves/${String(r.shelf)}/books/${i + 1}`, title: `book ${i + 1}`, genre: r.genre, tags: r.tags })), next_page_token: 'next' });
    },
    CreateBook(call: ServerUnaryCall<{ shelf: string; book: Record<string, unknown> | null }, unknown>, cb: sendUnaryData<unknown>) {
      record('CreateBook', call);
      const b = call.request.book ?? {};
      cb(null, { ...b, name: `shelves/${call.request.shelf}/books/100`, id: '100' });
    },
    UpdateBook(call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) {
      record('UpdateBook', call);
      cb(null, { ...call.request, title: `${String(call.request.title)} (updated)` });
    },
    Slow(call: ServerUnaryCall<{ ms: number }, unknown>, cb: sendUnaryData<unknown>) {
      record('Slow', call);
      const t = setTimeout(() => cb(null, { title: 'late' }), call.request.ms);
      call.on('cancelled', () => clearTimeout(t));
    },
    StreamBooks(call: ServerWritableStream<{ page_size: number; shelf: string }, unknown>) {
      record('StreamBooks', call);
      const n = call.request.page_size || 3;
      // `shelf` is the pause between messages in ms here (0: all at once).
      const pause = Number(call.request.shelf);
      let i = 0;
      let timer: NodeJS.Timeout | undefined;
      call.on('cancelled', () => {
        clearTimeout(timer);
        server.cancelledStreams++;
      });
      const next = () => {
        if (call.cancelled) return;
        i++;
        server.streamed++;
        call.write({ name: `books/${i}`, title: `streamed ${i}` });
        if (i < n) {
          if (pause > 0) timer = setTimeout(next, pause);
          else next();
          return;
        }
        const md = new (call.metadata.constructor as new () => Metadata)();
        md.set('x-stream-count', String(n));
        call.end(md);
      };
      next();
    },
  };
  const grpcServer = new Server();
  grpcServer.addService(svc as unknown as ServiceDefinition, impl);
  const creds = tls ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }]) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  const out: BookstoreServer = {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    calls,
    get streamed() {
      return server.streamed;
    },
    get cancelledStreams() {
      return server.cancelledStreams;
    },
    close: () => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve())),
  };
  return out;
}
