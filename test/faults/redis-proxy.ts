import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../support/ports.js';

/**
 * A TCP forwarder in front of a Redis that tests can freeze: `freeze()` keeps every connection
 * open but passes no byte in either direction (a hung Redis, a partition without resets), so
 * commands neither fail nor answer; `thaw()` lets the held bytes through again.
 */
export class RedisProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #frozen = false;

  private constructor(
    readonly port: number,
    readonly target: number,
  ) {
    this.#server = createServer((client) => {
      const upstream = createConnection(target, '127.0.0.1');
      const pair = { client, upstream };
      this.#pairs.add(pair);
      if (this.#frozen) {
        client.pause();
        upstream.pause();
      }
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  }

  /** Starts a proxy on a free port in front of `127.0.0.1:<target>`. */
  static async start(target: number): Promise<RedisProxy> {
    const p = new RedisProxy(await freePort(), target);
    await new Promise<void>((resolve) => p.#server.listen(p.port, '127.0.0.1', resolve));
    return p;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops passing bytes on every connection, present and future (they stay open). */
  freeze(): void {
    this.#frozen = true;
    for (const { client, upstream } of this.#pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Passes bytes again. */
  thaw(): void {
    this.#frozen = false;
    for (const { client, upstream } of this.#pairs) {
      client.resume();
      upstream.resume();
    }
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
