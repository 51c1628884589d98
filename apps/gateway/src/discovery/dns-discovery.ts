import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Endpoint } from './expand-targets.js';

/** Options of {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  readonly logger: Logger;
  /** Called when the addresses of some name changed (the gateway re-installs its snapshot). */
  readonly onChange: () => void;
  /** DNS servers (`ip` or `ip:port`); default: the system's (resolv.conf). */
  readonly servers?: readonly string[];
  /** Shortest re-resolution interval, ms (a TTL of 0 would otherwise spin). Default 1000. */
  readonly minRefreshMs?: number;
  /** Longest re-resolution interval, ms (TTLs above it are cut). Default 300000. */
  readonly maxRefreshMs?: number;
  /**
   * Re-resolution interval of SRV names, ms at most: Node's resolveSrv reports no TTL, so the
   * records are read again at this interval (or sooner, at their targets' A/AAAA TTL). Default 30000.
   */
  readonly srvRefreshMs?: number;
  /** Retry interval after a failed lookup, ms (the last addresses found keep serving). Default 5000. */
  readonly retryMs?: number;
  /** Deadline of one lookup, ms. Default 2000. */
  readonly timeoutMs?: number;
}

interface Entry {
  readonly kind: 'dns' | 'srv';
  readonly host: string;
  /** Last good answer, or null before the first. */
  endpoints: readonly Endpoint[] | null;
  timer: NodeJS.Timeout | null;
  /** The lookup in progress, if any. */
  running: Promise<void> | null;
}

/** A lookup's result: the endpoints and how long they may be cached (ms). */
interface Answer {
  readonly endpoints: Endpoint[];
  readonly ttlMs: number;
}

/**
 * Keeps the DNS names of discovered upstream targets resolved: A and AAAA records re-resolved
 * when their TTL expires (RFC 1035 §3.2.1: the TTL is how long an answer may be cached), SRV
 * records (RFC 2782) at most every `srvRefreshMs`. A failed lookup (timeout, SERVFAIL, no such
 * name) keeps the last good set and is retried; a changed set calls `onChange`. Lookups are
 * made with `dns.Resolver` (c-ares, real DNS queries with TTLs), never `getaddrinfo`, so
 * `/etc/hosts` is not consulted: name the targets as DNS serves them.
 */
export class DnsDiscovery {
  readonly #o: Required<Omit<DnsDiscoveryOptions, 'servers'>>;
  readonly #resolver: Resolver;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: DnsDiscoveryOptions) {
    this.#o = { minRefreshMs: 1_000, maxRefreshMs: 300_000, srvRefreshMs: 30_000, retryMs: 5_000, timeoutMs: 2_000, ...options };
    this.#resolver = new Resolver({ timeout: this.#o.timeoutMs, tries: 2 });
    if (options.servers !== undefined && options.servers.length > 0) this.#resolver.setServers([...options.servers]);
  }

  /** The last good endpoints of a name, or null if it was never resolved (or is not tracked). */
  lookup(kind: 'dns' | 'srv', host: string): readonly Endpoint[] | null {
    return this.#entries.get(`${kind} ${host}`)?.endpoints ?? null;
  }

  /**
   * Tracks exactly these names: starts resolving new ones, stops those no longer used. Resolves
   * once every new name has its first answer or failed (each bounded by the lookup deadline), so
   * a snapshot installed right after already has the addresses.
   */
  async track(names: ReadonlyArray<{ kind: 'dns' | 'srv'; host: string }>): Promise<void> {
    if (this.#closed) return;
    const wanted = new Set(names.map((n) => `${n.kind} ${n.host}`));
    for (const [key, e] of this.#entries) {
      if (wanted.has(key)) continue;
      if (e.timer !== null) clearTimeout(e.timer);
      this.#entries.delete(key);
    }
    const first: Promise<void>[] = [];
    for (const n of names) {
      const key = `${n.kind} ${n.host}`;
      if (this.#entries.has(key)) continue;
      const e: Entry = { kind: n.kind, host: n.host, endpoints: null, timer: null, running: null };
      this.#entries.set(key, e);
      first.push(this.#refresh(e, false));
    }
    await Promise.all(first);
  }

  /** Stops every re-resolution. */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) if (e.timer !== null) clearTimeout(e.timer);
    this.#entries.clear();
    this.#resolver.cancel();
  }

  #refresh(e: Entry, notify: boolean): Promise<void> {
    e.running ??= (async () => {
      let next = this.#o.retryMs;
      try {
        const answer = e.kind === 'dns' ? await this.#resolveHost(e.host) : await this.#resolveSrv(e.host);
        next = Math.min(this.#o.maxRefreshMs, Math.max(this.#o.minRefreshMs, answer.ttlMs));
        if (answer.endpoints.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENODATA' });
        const changed = e.endpoints === null || !sameEndpoints(e.endpoints, answer.endpoints);
        if (this.#entries.get(`${e.kind} ${e.host}`) !== e) return;
        if (changed) {
          e.endpoints = answer.endpoints;
          this.#o.logger.info({ name: e.host, discovery: e.kind, addresses: answer.endpoints.map((x) => (x.port === undefined ? x.address : `${x.address}:${x.port}`)) }, 'upstream addresses resolved');
          if (notify) this.#o.onChange();
        }
      } catch (err) {
        next = this.#o.retryMs;
        this.#o.logger.warn({ name: e.host, discovery: e.kind, code: (err as { code?: string }).code, keeping: e.endpoints?.length ?? 0 }, 'upstream DNS lookup failed; keeping the last addresses found');
      } finally {
        e.running = null;
        if (!this.#closed && this.#entries.get(`${e.kind} ${e.host}`) === e) {
          e.timer = setTimeout(() => void this.#refresh(e, true), next);
          e.timer.unref();
        }
      }
    })();
    return e.running;
  }

  /** A and AAAA of `host` (either may be empty), cached for the shortest TTL among them. */
  async #resolveHost(host: string): Promise<Answer> {
    if (isIP(host) !== 0) return { endpoints: [{ address: host }], ttlMs: this.#o.maxRefreshMs };
    const [v4, v6] = await Promise.allSettled([this.#resolver.resolve4(host, { ttl: true }), this.#resolver.resolve6(host, { ttl: true })]);
    const records = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (records.length === 0) throw v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : new Error('no addresses');
    return { endpoints: records.map((r) => ({ address: r.address })).sort(byAddress), ttlMs: Math.min(...records.map((r) => r.ttl)) * 1000 };
  }

  /** SRV records of `name`: the lowest priority present (RFC 2782), each target resolved. */
  async #resolveSrv(name: string): Promise<Answer> {
    const records = await this.#resolver.resolveSrv(name);
    if (records.length === 0) return { endpoints: [], ttlMs: this.#o.retryMs };
    const best = Math.min(...records.map((r) => r.priority));
    const chosen = records.filter((r) => r.priority === best);
    const endpoints: Endpoint[] = [];
    let ttlMs = this.#o.srvRefreshMs;
    for (const r of chosen) {
      try {
        const a = await this.#resolveHost(r.name);
        ttlMs = Math.min(ttlMs, a.ttlMs);
        for (const x of a.endpoints) endpoints.push({ address: x.address, port: r.port, weight: r.weight, host: r.name });
      } catch {
        // A record whose target does not resolve is left out; the others still serve.
      }
    }
    return { endpoints: endpoints.sort(byAddress), ttlMs };
  }
}

function byAddress(a: Endpoint, b: Endpoint): number {
  return a.address === b.address ? (a.port ?? 0) - (b.port ?? 0) : a.address < b.address ? -1 : 1;
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((x, i) => x.address === b[i]?.address && x.port === b[i]?.port && x.weight === b[i]?.weight && x.host === b[i]?.host);
}
