import { createServer, connect, type Server, type Socket } from 'node:net';

/** One client connection through the proxy, with its upstream socket. */
export interface ProxyConnection {
  readonly id: number;
  readonly client: Socket;
  readonly server: Socket;
}

/** Decides, per client→server chunk, whether the server's answer to it is lost. */
export type ReplyMatcher = (chunk: Buffer, conn: ProxyConnection) => boolean;

/**
 * A TCP proxy in front of a server (Postgres, Redis) that tests can break on purpose:
 * - `cut()`: reset every open connection (a server restart, a failover);
 * - `refuse(ms)`: stop listening, so new connections are refused, for `ms` (a server that is down);
 * - `freeze()` / `thaw()`: a silent partition: sockets stay open, bytes stop flowing both ways
 *   (and new connections are accepted but not connected through); after `thaw()` what was
 *   buffered is delivered, as TCP retransmission delivers it after a partition heals;
 * - `dropReplyTo(match)`: forward the matching client chunk, then lose the server's answer to it
 *   and reset that connection (the server acted; the client never learns the outcome).
 */
export interface TcpProxy {
  readonly port: number;
  /** Open connections right now. */
  readonly connections: ReadonlySet<ProxyConnection>;
  /** Connections accepted since start. */
  readonly accepted: number;
  cut(): void;
  refuse(ms: number): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** Arms a one-shot drop; resolves with the connection once an answer was dropped. */
  dropReplyTo(match: ReplyMatcher): Promise<ProxyConnection>;
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `target` (host:port). */
export async function startTcpProxy(target: { host: string; port: number }, listenPort = 0): Promise<TcpProxy> {
  const open = new Set<ProxyConnection>();
  let frozen = false;
  let nextId = 1;
  let accepted = 0;
  let drop: { match: ReplyMatcher; armedOn: ProxyConnection | null; resolve: (c: ProxyConnection) => void } | null = null;
  const held: Array<{ client: Socket; start: () => void }> = [];

  const onConnection = (client: Socket): void => {
    accepted += 1;
    client.setNoDelay(true);
    const start = (): void => {
      if (client.destroyed) return;
      const server = connect(target.port, target.host);
      server.setNoDelay(true);
      const conn: ProxyConnection = { id: nextId++, client, server };
      open.add(conn);
      const end = () => {
        open.delete(conn);
        if (!client.destroyed) client.destroy();
        if (!server.destroyed) server.destroy();
      };
      client.on('error', end);
      server.on('error', () => {
        // The server went away: the client sees a reset, as with a real server crash.
        open.delete(conn);
        if (!client.destroyed) client.resetAndDestroy();
      });
      client.on('close', end);
      server.on('close', end);
      client.on('data', (chunk: Buffer) => {
        if (drop !== null && drop.armedOn === null && drop.match(chunk, conn)) drop.armedOn = conn;
        server.write(chunk);
      });
      server.on('data', (chunk: Buffer) => {
        if (drop !== null && drop.armedOn === conn) {
          // The answer is lost and the connection dies: the server already acted on the request.
          const d = drop;
          drop = null;
          open.delete(conn);
          client.resetAndDestroy();
          server.destroy();
          d.resolve(conn);
          return;
        }
        client.write(chunk);
      });
      client.on('end', () => server.end());
      server.on('end', () => client.end());
      if (frozen) {
        client.pause();
        server.pause();
      } else client.resume();
    };
    client.on('error', () => client.destroy());
    if (frozen) {
      // A SYN through a partition goes nowhere: hold the connection until the partition heals.
      client.pause();
      held.push({ client, start });
    } else start();
  };

  let server: Server = createServer({ allowHalfOpen: true }, onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
      });
    });
  const port = await listen(listenPort);

  return {
    port,
    connections: open,
    get accepted() {
      return accepted;
    },
    cut() {
      for (const h of held.splice(0)) h.client.resetAndDestroy();
      for (const c of [...open]) {
        open.delete(c);
        c.client.resetAndDestroy();
        c.server.destroy();
      }
    },
    async refuse(ms: number) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() waits for open connections; they are not ours to end here.
        setImmediate(resolve);
      });
      await new Promise((r) => setTimeout(r, ms));
      server = createServer({ allowHalfOpen: true }, onConnection);
      await listen(port);
    },
    freeze() {
      frozen = true;
      for (const c of open) {
        c.client.pause();
        c.server.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const c of open) {
        c.client.resume();
        c.server.resume();
      }
      for (const h of held.splice(0)) h.start();
    },
    dropReplyTo(match: ReplyMatcher) {
      return new Promise<ProxyConnection>((resolve) => {
        drop = { match, armedOn: null, resolve };
      });
    },
    async close() {
      for (const c of [...open]) {
        c.client.destroy();
        c.server.destroy();
      }
      open.clear();
      for (const h of held.splice(0)) h.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
