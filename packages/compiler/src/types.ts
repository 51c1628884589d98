import type { HeaderOperations, Route } from '@tollgate/model';
import type { Phase, SubscriptionTable } from '@tollgate/policies/definitions';
import type { RouteTable } from '@tollgate/router';
import type { CompiledCertificate, CompiledUpstream } from './compile-upstreams.js';
import type { CompiledAggregate } from './compile-aggregate.js';
import type { CompiledProtocol } from './compile-protocols.js';

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
  /** The first destination's upstream (present in `CompiledConfig.upstreams`); null for redirect and direct-response routes. */
  readonly upstream: string | null;
  /** API priority: higher wins across APIs (see docs/routing.md). */
  readonly priority: number;
  /** Destinations, rewrites, redirects, header changes, mirroring, faults and retries. */
  readonly actions: CompiledRouteActions;
  /** Subset of the upstream (present in its `subsets`), or null for all its targets. */
  readonly subset: string | null;
  /** Route-level response-headers deadline, or null to use the upstream's timeout. */
  readonly timeoutMs: number | null;
  /** Units and metric one request counts as (route `metering`; default 1 `requests`). */
  readonly metering: { readonly units: number; readonly metric: string };
  readonly policies: PhasePolicies;
  /** Set when the route forwards the client's method / URL override headers (route `forwardOverrideHeaders`); absent: they are removed. */
  readonly forwardOverrideHeaders?: true;
  /** `all` when every credential policy must accept (`auth.mode`, docs/authentication.md); absent for the default `any`. */
  readonly authMode?: 'all';
  /** Headers added to policy refusals of this route: a deprecated Api's `Deprecation`, `Sunset`, `Link` (docs/lifecycle.md). */
  readonly refusalHeaders?: Readonly<Record<string, string>>;
  /** On a draft Api's routes: its preview consumers; refusals to anyone else become the gateway's 404. */
  readonly draftPreview?: readonly string[];
  /** Set on the route serving the Api's published OpenAPI document (`spec.openapi`). */
  readonly publishedSpec?: import('./compile-published-spec.js').CompiledPublishedSpec;
}

export type { CompiledActiveCheck, CompiledCertificate, CompiledHashOn, CompiledTarget, CompiledUpstream } from './compile-upstreams.js';

/** A weighted destination: an upstream and optionally one of its subsets. */
export interface CompiledDestination {
  readonly upstream: string;
  readonly subset: string | null;
  readonly weight: number;
}

/** A route's actions, validated by the model and compiler; the gateway precompiles them at install. */
export interface CompiledRouteActions {
  /** Empty for redirect and direct-response routes; one entry for `destination`. */
  readonly destinations: readonly CompiledDestination[];
  readonly redirect: NonNullable<Route['redirect']> | null;
  readonly directResponse: NonNullable<Route['directResponse']> | null;
  readonly rewrite: NonNullable<Route['rewrite']> | null;
  readonly requestHeaders: HeaderOperations | null;
  readonly responseHeaders: HeaderOperations | null;
  readonly mirror: { readonly upstream: string; readonly subset: string | null; readonly percentage: number } | null;
  readonly fault: NonNullable<Route['fault']> | null;
  readonly retries: NonNullable<Route['retries']> | null;
  /** Several backends combined into one JSON answer, or null. */
  readonly aggregate: CompiledAggregate | null;
  /** REST-to-gRPC, gRPC-Web or SOAP conversion (docs/protocols.md), or null. */
  readonly protocol: CompiledProtocol | null;
}

/** An immutable, versioned config snapshot (deeply frozen). */
export interface CompiledConfig {
  readonly version: number;
  /**
   * SHA-256 (hex) of the canonical JSON of the resources, independent of their order; Consumers
   * and Subscriptions are left out (they reach gateways on the change feed, see `subscriptions`).
   */
  readonly hash: string;
  readonly routes: RouteTable<CompiledRoute>;
  readonly upstreams: Readonly<Record<string, CompiledUpstream>>;
  /** Server certificates of the HTTPS listener, by name order. */
  readonly certificates: readonly CompiledCertificate[];
  /**
   * Every Subscription of the set, indexed (with every Plan): the gateway serves it to the
   * generated `subscription` policies and changes it in place from the change feed, so it is the
   * one mutable part of a snapshot (not frozen).
   */
  readonly subscriptions: SubscriptionTable;
}
