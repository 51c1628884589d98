import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One POST a receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server standing in for a webhook receiver; `answer` decides each status. */
export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** Sets how the receiver answers from now on (default 204). */
  answer: (fn: (r: ReceivedWebhook, receivedSoFar: ReceivedWebhook[]) => number) => void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  let decide: (r: ReceivedWebhook, all: ReceivedWebhook[]) => number = () => 204;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      res.statusCode = decide(r, received);
      res.end(res.statusCode >= 400 ? 'receiver says no' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (fn) => {
      decide = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
