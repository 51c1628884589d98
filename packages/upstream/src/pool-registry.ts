import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { buildConnector, Pool } from 'undici';

/** TLS settings towards `https` targets (mutual TLS when `cert` and `key` are set). */
export interface UpstreamTlsSettings {
  /** PEM bundle of trusted authorities; undefined = the system roots. */
  readonly ca?: string | undefined;
  /** SNI name sent and verified; undefined = the target host. */
  readonly servername?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  /** false only with the upstream's `insecureSkipVerify`. */
  readonly rejectUnauthorized: boolean;
}

/** Settings of one connection pool; pools are shared when origin and settings are equal. */
export interface PoolSettings {
  /** Keep-alive connections per target (`maxConnectionsPerTarget`). */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** Default time to wait for response headers (a route may override it per request). */
  readonly headersTimeoutMs: number;
  /** Longest silence while receiving the response body. */
  readonly bodyTimeoutMs: number;
  /** Requests per connection before it is replaced (`maxRequestsPerConnection`); 0 or undefined = unlimited. */
  readonly maxRequestsPerConnection?: number | undefined;
  /** TLS to `https` targets. */
  readonly tls?: UpstreamTlsSettings | undefined;
}

/** What a config snapshot needs: one pool per origin and settings. */
export interface PoolRequest {
  readonly origin: string;
  readonly settings: PoolSettings;
}

/** Minimal pool surface the registry manages (undici `Pool` satisfies it). */
export interface ManagedPool {
  close(): Promise<void>;
  destroy(err?: Error | null): Promise<void>;
}

/** Options of the registry. */
export interface PoolRegistryOptions<P extends ManagedPool> {
  /** How long a pool no snapshot uses stays open for in-flight requests of the old snapshot. */
  graceMs?: number;
  /** Creates a pool; defaults to an undici `Pool`. */
  create?: (origin: string, settings: PoolSettings) => P;
}

/** Key identifying an origin with its settings. */
export function poolKey(origin: string, s: PoolSettings): string {
  const base = `${origin}|${s.connections}|${s.connectTimeoutMs}|${s.headersTimeoutMs}|${s.bodyTimeoutMs}|${s.maxRequestsPerConnection ?? 0}`;
  // TLS material is long: key on its digest (computed at snapshot install, never per request).
  return s.tls === undefined ? base : `${base}|${createHash('sha256').update(JSON.stringify(s.tls)).digest('hex')}`;
}

/** An undici `Pool` with keep-alive and the upstream's timeouts. */
export function createUndiciPool(origin: string, s: PoolSettings): Pool {
  return new Pool(origin, {
    connections: s.connections,
    connectTimeout: s.connectTimeoutMs,
    headersTimeout: s.headersTimeoutMs,
    bodyTimeout: s.bodyTimeoutMs,
    keepAliveTimeout: 4_000,
    ...(s.maxRequestsPerConnection ? { maxRequestsPerClient: s.maxRequestsPerConnection } : {}),
    ...(origin.startsWith('https:') ? { connect: tlsConnector(s.tls ?? { rejectUnauthorized: true }, s.connectTimeoutMs) } : {}),
  });
}

/**
 * A TLS connector whose SNI name is the configured `servername`, else the target's own host
 * (none for an IP). undici would otherwise derive it from the request's Host header, which is
 * the client's host when the gateway preserves it, and verify the upstream against that name.
 */
export function tlsConnector(t: UpstreamTlsSettings, timeoutMs: number): buildConnector.connector {
  const connector = buildConnector({ ...tlsConnectOptions(t), timeout: timeoutMs } as buildConnector.BuildOptions);
  return (opts, cb) => {
    const hostname = opts.hostname.replace(/^\[|\]$/g, '');
    const servername = t.servername ?? (isIP(hostname) ? '' : hostname);
    connector({ ...opts, servername }, cb);
  };
}

/** undici `connect` options for TLS targets. */
export function tlsConnectOptions(t: UpstreamTlsSettings): Record<string, unknown> {
  const o: Record<string, unknown> = { rejectUnauthorized: t.rejectUnauthorized };
  if (t.ca !== undefined) o.ca = t.ca;
  if (t.servername !== undefined) o.servername = t.servername;
  if (t.cert !== undefined) o.cert = t.cert;
  if (t.key !== undefined) o.key = t.key;
  return o;
}

/**
 * Holds connection pools across config snapshots. `sync` is called when a snapshot is
 * installed: pools whose origin and settings are unchanged are reused (no reconnects on an
 * unrelated config change); pools no longer wanted close after a grace period, gracefully
 * (undici's `close` lets queued and running requests finish).
 */
export class PoolRegistry<P extends ManagedPool = Pool> {
  readonly #pools = new Map<string, P>();
  readonly #retiring = new Map<string, NodeJS.Timeout>();
  readonly #graceMs: number;
  readonly #create: (origin: string, settings: PoolSettings) => P;

  constructor(options: PoolRegistryOptions<P> = {}) {
    this.#graceMs = options.graceMs ?? 30_000;
    this.#create = options.create ?? (createUndiciPool as unknown as (o: string, s: PoolSettings) => P);
  }

  /** Returns a pool per requested key, reusing existing ones, and retires the rest. */
  sync(wanted: readonly PoolRequest[]): ReadonlyMap<string, P> {
    const out = new Map<string, P>();
    for (const w of wanted) {
      const key = poolKey(w.origin, w.settings);
      if (out.has(key)) continue;
      let pool = this.#pools.get(key);
      if (pool === undefined) {
        pool = this.#create(w.origin, w.settings);
        this.#pools.set(key, pool);
      }
      const timer = this.#retiring.get(key);
      if (timer !== undefined) {
        clearTimeout(timer);
        this.#retiring.delete(key);
      }
      out.set(key, pool);
    }
    for (const [key, pool] of this.#pools) {
      if (out.has(key) || this.#retiring.has(key)) continue;
      const timer = setTimeout(() => {
        this.#retiring.delete(key);
        this.#pools.delete(key);
        pool.close().catch(() => undefined);
      }, this.#graceMs);
      timer.unref();
      this.#retiring.set(key, timer);
    }
    return out;
  }

  /** Number of open pools (including retiring ones). */
  get size(): number {
    return this.#pools.size;
  }

  /** Closes every pool: gracefully, then forcibly after `timeoutMs`. */
  async closeAll(timeoutMs = 5_000): Promise<void> {
    for (const t of this.#retiring.values()) clearTimeout(t);
    this.#retiring.clear();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      pools.map(async (p) => {
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            p.destroy().then(resolve, resolve);
          }, timeoutMs);
          timer.unref();
        });
        await Promise.race([p.close().catch(() => undefined), forced]);
        clearTimeout(timer);
      }),
    );
  }
}
