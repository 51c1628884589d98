import type { CompiledConfig, CompiledTarget, CompiledUpstream } from '@tollgate/compiler';

/** One address found for a discovered target. */
export interface Endpoint {
  /** IPv4 or IPv6 address. */
  readonly address: string;
  /** Port (SRV records give one; for A/AAAA the target URL's). */
  readonly port?: number;
  /** Relative weight (SRV records); the target's weight otherwise. */
  readonly weight?: number;
  /** Host name the address belongs to (an SRV record's target), for Host and TLS SNI. */
  readonly host?: string;
}

/** What DNS found for a discovered name: null while nothing was ever found (then the name itself is used). */
export type EndpointLookup = (kind: 'dns' | 'srv', host: string) => readonly Endpoint[] | null;

/** Largest weight a target may have (the model's bound). */
const MAX_WEIGHT = 10_000;

/**
 * Replaces every discovered target of `config` by one target per address DNS found for it, and
 * renumbers the subsets (a subset selects the addresses of the targets it selected). Pure: the
 * result is what `instantiate` installs, so balancers, health checks and metrics all see the
 * resolved set. A name never resolved yet stays as it is (connections then resolve it), and an
 * address found twice is kept once.
 */
export function expandDiscoveredTargets(config: CompiledConfig, lookup: EndpointLookup): CompiledConfig {
  let changed = false;
  const upstreams: Record<string, CompiledUpstream> = {};
  for (const [name, u] of Object.entries(config.upstreams)) {
    if (!u.targets.some((t) => t.discovery !== undefined)) {
      upstreams[name] = u;
      continue;
    }
    changed = true;
    upstreams[name] = expandUpstream(u, lookup);
  }
  return changed ? Object.freeze({ ...config, upstreams: Object.freeze(upstreams) }) : config;
}

function expandUpstream(u: CompiledUpstream, lookup: EndpointLookup): CompiledUpstream {
  const targets: CompiledTarget[] = [];
  const seen = new Set<string>();
  /** Old target index -> its indices in the expanded list. */
  const remap: number[][] = [];
  let servername: string | undefined;
  u.targets.forEach((t, i) => {
    remap[i] = [];
    const push = (target: CompiledTarget) => {
      if (seen.has(target.origin)) return;
      seen.add(target.origin);
      remap[i]?.push(targets.length);
      targets.push(target);
    };
    const url = new URL(t.origin);
    const found = t.discovery === undefined ? null : lookup(t.discovery, url.hostname);
    if (t.discovery === undefined || found === null || found.length === 0) {
      push(t);
      return;
    }
    if (url.protocol === 'https:') servername ??= url.hostname;
    const defaultPort = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    for (const e of found) {
      const port = e.port ?? defaultPort;
      const address = e.address.includes(':') ? `[${e.address}]` : e.address;
      const host = e.host ?? url.hostname;
      push({
        origin: `${url.protocol}//${address}:${port}`,
        weight: e.weight === undefined ? t.weight : t.weight === 0 ? 0 : Math.min(MAX_WEIGHT, Math.max(1, e.weight)),
        labels: t.labels,
        hostHeader: port === (url.protocol === 'https:' ? 443 : 80) ? host : `${host}:${port}`,
      });
    }
  });
  const subsets: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (const [name, indices] of Object.entries(u.subsets)) subsets[name] = indices.flatMap((i) => remap[i] ?? []);
  // An https target reached by address is still verified against its name (SNI = the DNS name),
  // unless the upstream names a servername itself.
  const tls = servername !== undefined && u.tls?.servername === undefined ? { ...(u.tls ?? { rejectUnauthorized: true }), servername } : u.tls;
  return Object.freeze({ ...u, targets, subsets, tls });
}

/** Every discovered name of a config, as `kind` + host. */
export function discoveredNames(config: CompiledConfig): Array<{ kind: 'dns' | 'srv'; host: string }> {
  const out = new Map<string, { kind: 'dns' | 'srv'; host: string }>();
  for (const u of Object.values(config.upstreams)) {
    for (const t of u.targets) {
      if (t.discovery === undefined) continue;
      const host = new URL(t.origin).hostname;
      out.set(`${t.discovery} ${host}`, { kind: t.discovery, host });
    }
  }
  return [...out.values()];
}
