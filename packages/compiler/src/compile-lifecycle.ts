import { resourceKey, type ApiResource, type ConfigIssue, type Resource, type RouteMatch, type StringMatch } from '@tollgate/model';
import { runToEnd } from './slices.js';
import { POLICY_DEFINITIONS, validatePolicyConfig } from '@tollgate/policies/definitions';
import { trimBasePath } from './compile-route.js';
import type { PolicyDescriptor } from './types.js';

/** Policies only the compiler may attach. */
const GENERATED = new Set(['lifecycle', 'lifecycle-preview']);

/** A header condition the compiler adds to every match block of a version. */
export interface VersionCondition {
  readonly name: string;
  readonly match: StringMatch;
}

/**
 * One way an Api's routes enter the route table. An unversioned Api has one variant (its own
 * base path, no condition); a versioned one has its versioned variant and, for the default
 * version, a fallback variant for requests that name no version.
 */
export interface ApiVariant {
  /** Base path as in the spec (`/v2/orders` for path versioning). */
  readonly basePath: string;
  /** Condition added to every match block, or null. */
  readonly condition: VersionCondition | null;
  /**
   * Fallback entries go after every other entry of the group, so that within the product a
   * version named by the request always wins over the default (the route table tries a group's
   * entries in declared order).
   */
  readonly fallback: boolean;
  /** Generated policies (`lifecycle`, `lifecycle-preview`) of this variant. */
  readonly policies: readonly PolicyDescriptor[];
  /** A deprecated Api's `Deprecation`, `Sunset` and `Link`, also sent on policy refusals (401, 403, 429). */
  readonly refusalHeaders?: Readonly<Record<string, string>>;
  /** A draft's preview consumers: any refusal to anyone else is answered as "no route" (404). */
  readonly draftPreview?: readonly string[];
}

/** How one Api is compiled into route-table entries. */
export interface ApiPlan {
  /** Route-table group: the product for versioned Apis (so versions rank in declared order), else the Api name. */
  readonly group: string;
  readonly variants: readonly ApiVariant[];
}

/** The product an Api belongs to: `spec.product`, default its name. */
export function productOf(api: ApiResource): string {
  return api.spec.product ?? api.metadata.name;
}

/** RE2-escapes a literal. */
function re2Literal(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&');
}

/** The version label without a leading `v` (`v2` and `2` name the same version). */
function bareLabel(version: string): string {
  return /^v\d/i.test(version) ? version.slice(1) : version;
}

/** `Accept-Version: v2` or `2`, any case, surrounding spaces allowed. */
function headerCondition(name: string, version: string): VersionCondition {
  return { name, match: { regex: `(?i)\\s*v?${re2Literal(bareLabel(version))}\\s*` } };
}

/**
 * `Accept: application/json; version=2` (or `"v2"`): some media range carries a `version`
 * parameter equal to the label (RFC 9110 §5.6.6 parameters; the value may be quoted).
 */
function mediaTypeCondition(version: string): VersionCondition {
  return { name: 'accept', match: { regex: `(?i).*;\\s*version\\s*=\\s*"?v?${re2Literal(bareLabel(version))}"?\\s*(?:[;,].*)?` } };
}

/** A match block with the version condition added (the model's form, so conflict keys see it). */
export function withVersionCondition(m: RouteMatch, c: VersionCondition | null): RouteMatch {
  if (c === null) return m;
  return { ...m, headers: { ...m.headers, [c.name]: c.match } };
}

/** A relative (or network-path) reference to where an Api is served, for `Link` and messages. */
function locationOf(api: ApiResource): string {
  const base = trimBasePath(api.spec.basePath);
  const v = api.spec.versioning;
  const path = (v?.scheme === 'path' ? `/${api.spec.version}${base}` : base) || '/';
  const host = api.spec.hosts.find((h) => !h.startsWith('*.'));
  return host !== undefined ? `//${host}${path}` : path;
}

function descriptor(name: string, config: unknown, resource: string, issues: ConfigIssue[]): PolicyDescriptor | null {
  const def = POLICY_DEFINITIONS.get(name);
  if (!def) return null;
  const v = validatePolicyConfig(name, config);
  if (!v.ok) {
    for (const i of v.issues) issues.push({ code: i.code, message: `generated ${name} policy: ${i.message}`, resource, path: 'spec.lifecycle' });
    return null;
  }
  return { name, priority: def.priority, config: v.config, level: 'api' };
}

/**
 * Checks the lifecycle and versioning of every Api and plans how its routes are compiled:
 * - lifecycle: the successor and preview consumers exist, a deprecated Api has a deprecation
 *   date, and the generated `lifecycle` / `lifecycle-preview` policies (see @tollgate/policies);
 * - versions: the Apis of one product use one scheme (and one header), have distinct version
 *   labels and at most one default; path versioning puts `/<version>` before the base path,
 *   header and media-type versioning add a header condition to every match block; the default
 *   version also gets a fallback variant for requests that name no version.
 * Returns a plan for every Api.
 */
export function compileLifecycle(sorted: readonly Resource[], issues: ConfigIssue[]): Map<string, ApiPlan> {
  return runToEnd(compileLifecycleSteps(sorted, issues));
}

/** {@link compileLifecycle} as steps (one Api per `yield`), for a sliced compile. */
export function* compileLifecycleSteps(sorted: readonly Resource[], issues: ConfigIssue[]): Generator<void, Map<string, ApiPlan>> {
  const apis = sorted.filter((r): r is ApiResource => r.kind === 'Api');
  const byName = new Map(apis.map((a) => [a.metadata.name, a]));
  const consumers = new Set(sorted.filter((r) => r.kind === 'Consumer').map((r) => r.metadata.name));

  // Products: every versioned Api of a product must agree on how versions are selected.
  const products = new Map<string, ApiResource[]>();
  for (const a of apis) if (a.spec.versioning !== undefined) products.set(productOf(a), [...(products.get(productOf(a)) ?? []), a]);
  for (const [product, members] of products) {
    const first = members[0] as ApiResource;
    const fv = first.spec.versioning as NonNullable<ApiResource['spec']['versioning']>;
    const labels = new Map<string, string>();
    let defaults = 0;
    for (const a of members) {
      const v = a.spec.versioning as NonNullable<ApiResource['spec']['versioning']>;
      const resource = resourceKey(a);
      if (v.scheme !== fv.scheme || (v.scheme === 'header' && v.header !== fv.header)) {
        issues.push({ code: 'version_scheme_mismatch', message: `the versions of product "${product}" must select versions the same way; ${resourceKey(first)} uses ${fv.scheme}${fv.scheme === 'header' ? ` (${fv.header})` : ''}`, resource, path: 'spec.versioning' });
      }
      const label = bareLabel(a.spec.version).toLowerCase();
      const clash = labels.get(label);
      if (clash !== undefined) issues.push({ code: 'duplicate_version', message: `version "${a.spec.version}" of product "${product}" is also declared by Api/${clash}`, resource, path: 'spec.version' });
      labels.set(label, a.metadata.name);
      if (!/^[A-Za-z0-9._~-]+$/.test(a.spec.version)) issues.push({ code: 'invalid_version', message: 'a selectable version label may only hold letters, digits, ".", "_", "~" and "-"', resource, path: 'spec.version' });
      if (v.default && ++defaults === 2) issues.push({ code: 'duplicate_default_version', message: `product "${product}" has more than one default version`, resource, path: 'spec.versioning.default' });
    }
  }

  const plans = new Map<string, ApiPlan>();
  for (const a of apis) {
    yield;
    const resource = resourceKey(a);
    const name = a.metadata.name;
    const spec = a.spec;
    const before = issues.length;
    const check = (refs: readonly { name: string }[], at: string) =>
      refs.forEach((p, i) => {
        if (GENERATED.has(p.name)) issues.push({ code: 'generated_policy', message: `"${p.name}" is generated from spec.lifecycle and spec.versioning; it cannot be attached by hand`, resource, path: `${at}.policies[${i}].name` });
      });
    check(spec.policies, 'spec');
    spec.routes.forEach((r, ri) => check(r.policies, `spec.routes[${ri}]`));

    const l = spec.lifecycle;
    const successor = l?.successor === undefined ? undefined : byName.get(l.successor);
    if (l?.successor !== undefined) {
      if (l.successor === name) issues.push({ code: 'invalid_successor', message: 'an Api cannot be its own successor', resource, path: 'spec.lifecycle.successor' });
      else if (successor === undefined) issues.push({ code: 'dangling_reference', message: `Api/${l.successor} does not exist`, resource, path: 'spec.lifecycle.successor' });
    }
    l?.previewConsumers.forEach((c, i) => {
      if (!consumers.has(c)) issues.push({ code: 'dangling_reference', message: `Consumer "${c}" does not exist`, resource, path: `spec.lifecycle.previewConsumers[${i}]` });
    });
    if (l?.state === 'deprecated' && l.deprecatedAt === undefined) issues.push({ code: 'missing_field', message: 'a deprecated Api needs deprecatedAt (the Deprecation header is a date)', resource, path: 'spec.lifecycle.deprecatedAt' });

    const v = spec.versioning;
    const base = trimBasePath(spec.basePath);
    const versioned = v === undefined ? null : v.scheme === 'path' ? { basePath: `/${spec.version}${base}`, condition: null } : { basePath: spec.basePath, condition: v.scheme === 'header' ? headerCondition(v.header, spec.version) : mediaTypeCondition(spec.version) };
    if (versioned?.condition) {
      const c = versioned.condition;
      spec.routes.forEach((r, ri) =>
        r.match.forEach((m, mi) => {
          if (c.name in m.headers) issues.push({ code: 'version_header_conflict', message: `the route matches on "${c.name}", which selects the version of this Api`, resource, path: `spec.routes[${ri}].match[${mi}].headers.${c.name}` });
        }),
      );
    }
    if (issues.length > before) continue;

    // Generated policies. A draft is hidden by lifecycle-preview; lifecycle handles the rest.
    const links: string[] = [];
    if (successor !== undefined) links.push(`<${locationOf(successor)}>; rel="successor-version"`);
    if (l?.link !== undefined) links.push(`<${new URL(l.link).href}>; rel="deprecation"; type="text/html"`);
    const state = l === undefined || l.state === 'draft' ? 'published' : l.state;
    const vary = v === undefined || v.scheme === 'path' ? null : v.scheme === 'header' ? v.header : 'accept';
    const lifecycleConfig = (refuseNamedVersion: boolean) => ({
      api: `${name} (${spec.version})`,
      state,
      deprecation: l?.deprecatedAt !== undefined ? `@${Math.floor(Date.parse(l.deprecatedAt) / 1000)}` : null,
      sunsetMs: l?.sunsetAt !== undefined ? Date.parse(l.sunsetAt) : null,
      autoRetire: l?.autoRetire ?? false,
      links,
      successor: successor !== undefined ? `Api/${successor.metadata.name} (${successor.spec.version}) at ${locationOf(successor)}` : null,
      vary,
      refuseNamedVersion,
    });
    const generated = (fallback: boolean): PolicyDescriptor[] => {
      const out: PolicyDescriptor[] = [];
      const refuse = fallback && v?.scheme === 'mediaType';
      if (state !== 'published' || vary !== null || refuse) {
        const d = descriptor('lifecycle', lifecycleConfig(refuse), resource, issues);
        if (d) out.push(d);
      }
      if (l?.state === 'draft') {
        const d = descriptor('lifecycle-preview', { consumers: l.previewConsumers }, resource, issues);
        if (d) out.push(d);
      }
      return out;
    };

    const c = lifecycleConfig(false);
    const refusalHeaders =
      state === 'deprecated' && c.deprecation !== null
        ? { deprecation: c.deprecation, ...(c.sunsetMs !== null ? { sunset: new Date(c.sunsetMs).toUTCString() } : {}), ...(links.length > 0 ? { link: links.join(', ') } : {}) }
        : undefined;
    // A draft stays invisible even when a policy refuses the caller (a 401 for a bad key, a 403 from
    // an IP restriction would tell it exists): the gateway turns such refusals into its 404.
    const draft = l?.state === 'draft' ? { draftPreview: [...l.previewConsumers] } : {};
    const variants: ApiVariant[] = [];
    if (versioned === null) variants.push({ basePath: spec.basePath, condition: null, fallback: false, policies: generated(false), ...(refusalHeaders ? { refusalHeaders } : {}), ...draft });
    else {
      variants.push({ basePath: versioned.basePath, condition: versioned.condition, fallback: false, policies: generated(false), ...(refusalHeaders ? { refusalHeaders } : {}), ...draft });
      if (v?.default) {
        // No version named: path versioning serves the unprefixed base path; the header scheme
        // requires the header to be absent; `Accept` cannot be tested for "no version
        // parameter" with RE2 (no lookaround), so the lifecycle policy refuses it instead.
        const condition: VersionCondition | null = v.scheme === 'header' ? { name: v.header, match: { absent: true } } : null;
        variants.push({ basePath: spec.basePath, condition, fallback: true, policies: generated(true), ...(refusalHeaders ? { refusalHeaders } : {}), ...draft });
      }
    }
    plans.set(name, { group: v === undefined ? name : `product:${productOf(a)}`, variants });
  }
  return plans;
}
