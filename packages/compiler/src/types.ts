import type { Phase } from '@tollgate/policies';
import type { RouteTable } from '@tollgate/router';

/** A policy resolved for one route: its validated config (defaults filled) and its priority. */
export interface PolicyDescriptor {
  readonly name: string;
  readonly priority: number;
  /** The config parsed by the policy's schema, deeply frozen. */
  readonly config: unknown;
  /** Where it was attached; a route-level entry replaces an API-level one of the same name. */
  readonly level: 'api' | 'route';
}

/** A route's policies per phase, sorted by priority (highest first); `null` when a phase has none. */
export type PhasePolicies = { readonly [P in Phase]: readonly PolicyDescriptor[] | null };

/** A route ready for the gateway: everything resolved, nothing left to look up per request. */
export interface CompiledRoute {
  /** `api/route`, unique in a snapshot. */
  readonly id: string;
  readonly api: string;
  readonly route: string;
  /** The API base path without trailing slash (`''` for `/`). */
  readonly basePath: string;
  readonly stripBasePath: boolean;
  /** Name of the destination upstream (present in `CompiledConfig.upstreams`). */
  readonly upstream: string;
  /** Route-level response-headers deadline, or null to use the upstream's timeout. */
  readonly timeoutMs: number | null;
  readonly policies: PhasePolicies;
}

/** A target origin and its weight. */
export interface CompiledTarget {
  /** Scheme, host and port, e.g. `http://10.0.0.5:8080`. */
  readonly origin: string;
  readonly weight: number;
}

/** An upstream with its targets and connection settings. */
export interface CompiledUpstream {
  readonly name: string;
  readonly targets: readonly CompiledTarget[];
  readonly connectMs: number;
  readonly responseHeadersMs: number;
  readonly idleMs: number;
  readonly maxConnectionsPerTarget: number;
}

/** An immutable, versioned config snapshot (deeply frozen). */
export interface CompiledConfig {
  readonly version: number;
  /** SHA-256 (hex) of the canonical JSON of the resources, independent of their order. */
  readonly hash: string;
  readonly routes: RouteTable<CompiledRoute>;
  readonly upstreams: Readonly<Record<string, CompiledUpstream>>;
}
