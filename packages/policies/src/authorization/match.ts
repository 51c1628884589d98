import { addressList, inAddressList } from '../ip-restriction/address-list.js';
import type { PolicyContext } from '../types.js';
import type { AuthorizationRule } from './schema.js';

/** Compiled Istio-style value patterns: exact, `prefix*`, `*suffix`, `*` (any non-empty value). */
export class PatternSet {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #suffixes: string[] = [];
  #any = false;

  constructor(patterns: readonly string[], readonly lowerCase = false) {
    for (const raw of patterns) {
      const p = lowerCase ? raw.toLowerCase() : raw;
      if (p === '*') this.#any = true;
      else if (p.endsWith('*')) this.#prefixes.push(p.slice(0, -1));
      else if (p.startsWith('*')) this.#suffixes.push(p.slice(1));
      else this.#exact.add(p);
    }
  }

  /** True when `value` matches one pattern. */
  matches(value: string): boolean {
    const v = this.lowerCase ? value.toLowerCase() : value;
    if (this.#any && v !== '') return true;
    if (this.#exact.has(v)) return true;
    for (const p of this.#prefixes) if (v.startsWith(p)) return true;
    for (const s of this.#suffixes) if (v.endsWith(s)) return true;
    return false;
  }

  /** True when one of `values` matches. */
  any(values: readonly string[]): boolean {
    for (const v of values) if (this.matches(v)) return true;
    return false;
  }
}

/** One condition of a rule, checked against the request. */
type Check = (ctx: PolicyContext) => boolean;

const NONE: readonly string[] = Object.freeze([]);

/** The request principal `<iss>/<sub>` of the verified JWT (Istio `request.auth.principal`). */
function principalOf(ctx: PolicyContext): readonly string[] {
  const c = ctx.claims;
  if (c === null) return NONE;
  return typeof c.iss === 'string' && typeof c.sub === 'string' ? [`${c.iss}/${c.sub}`] : NONE;
}

/** A claim (nested by path) as strings: a string, a list's scalar elements, a number or boolean. */
function claimValues(ctx: PolicyContext, path: readonly string[]): readonly string[] {
  let v: unknown = ctx.claims;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return NONE;
    v = (v as Record<string, unknown>)[k];
  }
  const scalar = (x: unknown) => (typeof x === 'string' ? x : typeof x === 'number' || typeof x === 'boolean' ? String(x) : undefined);
  if (Array.isArray(v)) return v.map(scalar).filter((x): x is string => x !== undefined);
  const s = scalar(v);
  return s === undefined ? NONE : [s];
}

/** The request's normalized host as a one-value list; none when the request had no host. */
function hostOf(ctx: PolicyContext): readonly string[] {
  return ctx.host === '' ? NONE : [ctx.host];
}

/**
 * A host pattern in the form of the normalized host it is compared with: lower case, and without
 * the trailing dot of an exact or `*suffix` pattern (the schema refuses ports).
 */
export function hostPattern(p: string): string {
  const lower = p.toLowerCase();
  return lower.length > 1 && lower.endsWith('.') && !lower.endsWith('*.') ? lower.slice(0, -1) : lower;
}

function headerValues(ctx: PolicyContext, name: string): readonly string[] {
  const v = ctx.headers[name];
  if (v === undefined) return NONE;
  return [Array.isArray(v) ? v.join(', ') : v];
}

/**
 * Positive and negative pattern lists on one attribute: some value matches `values` (when given)
 * and no value matches `notValues` (when given). An absent attribute has no values.
 */
function both(get: (ctx: PolicyContext) => readonly string[], values: readonly string[] | undefined, notValues: readonly string[] | undefined, lowerCase = false): Check[] {
  const out: Check[] = [];
  if (values !== undefined) {
    const set = new PatternSet(values, lowerCase);
    out.push((ctx) => set.any(get(ctx)));
  }
  if (notValues !== undefined) {
    const set = new PatternSet(notValues, lowerCase);
    out.push((ctx) => !set.any(get(ctx)));
  }
  return out;
}

/** Compiles a rule into its checks; the rule matches when all of them hold (none: always). */
export function compileRule(rule: AuthorizationRule): readonly Check[] {
  const checks: Check[] = [
    ...both(principalOf, rule.principals, rule.notPrincipals),
    // The gateway's normalized host (what routing matched), never the raw Host header: `h:80`,
    // `H.` or an absolute-form target would otherwise slip past a deny rule (Istio CVE-2021-39155).
    ...both(hostOf, rule.hosts === undefined ? undefined : rule.hosts.map(hostPattern), rule.notHosts === undefined ? undefined : rule.notHosts.map(hostPattern)),
    ...both((ctx) => [ctx.path], rule.paths, rule.notPaths),
    ...both((ctx) => [ctx.method], rule.methods, rule.notMethods),
  ];
  if (rule.clientIps !== undefined) {
    const list = addressList(rule.clientIps);
    checks.push((ctx) => inAddressList(list, ctx.clientIp));
  }
  if (rule.notClientIps !== undefined) {
    const list = addressList(rule.notClientIps);
    checks.push((ctx) => !inAddressList(list, ctx.clientIp));
  }
  for (const c of rule.claims) {
    const path = typeof c.claim === 'string' ? [c.claim] : [...c.claim];
    checks.push(...both((ctx) => claimValues(ctx, path), c.values, c.notValues));
  }
  for (const h of rule.headers) checks.push(...both((ctx) => headerValues(ctx, h.name), h.values, h.notValues));
  return Object.freeze(checks);
}

/** True when every check of a compiled rule holds. */
export function ruleMatches(checks: readonly Check[], ctx: PolicyContext): boolean {
  for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(ctx)) return false;
  return true;
}
