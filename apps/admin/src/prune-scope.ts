import { RESOURCE_KINDS, isResourceKind, type Resource, type ResourceKind } from '@tollgate/model';
import { ProblemError, type ProblemItem } from './problem.js';

/**
 * Kinds that carry money: who is billed (Consumer), at what price (Plan) and since when
 * (Subscription). Usage rollups and invoices refer to them, so an apply --prune never deletes
 * them unless the caller says so explicitly (`pruneBilling=true`).
 */
export const BILLING_KINDS: readonly ResourceKind[] = ['Consumer', 'Plan', 'Subscription'];

/** What a prune may delete: these kinds, and only resources whose labels match the selector. */
export interface PruneScope {
  kinds: ResourceKind[];
  /** Label requirements, as kubectl's `-l`: `key=value` (also `key==value`), `key!=value`, `key`, `!key`. */
  selector: LabelRequirement[];
}

export type LabelRequirement = { key: string; op: 'eq' | 'neq' | 'exists' | 'absent'; value?: string };

/** The prune query of `POST /config`. */
export interface PruneQuery {
  prune: boolean;
  pruneKind?: string | undefined;
  selector?: string | undefined;
  pruneBilling: boolean;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** 400 INVALID_REQUEST at `path`: a query parameter, named `querystring.<name>` as everywhere on the admin API (docs/errors.md, Admin API). */
function invalid(path: string, code: string, message: string): never {
  const errors: ProblemItem[] = [{ path, code, message }];
  throw new ProblemError('INVALID_REQUEST', `${path}: ${message}`, { errors });
}

/** Parses a kubectl-style equality selector (`team=payments,tier!=internal,owner`). */
export function parseSelector(text: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') invalid('querystring.selector', 'invalid_selector', `empty requirement in ${JSON.stringify(text)}`);
    const m = /^(!?)([^=!\s]+)\s*(?:(==|=|!=)\s*([^=!,\s]*))?$/.exec(part);
    if (!m || !LABEL_KEY.test(m[2] ?? '') || (m[1] === '!' && m[3] !== undefined)) {
      invalid('querystring.selector', 'invalid_selector', `${JSON.stringify(part)} is not a label requirement (key=value, key!=value, key or !key)`);
    }
    const key = m[2] as string;
    if (m[1] === '!') out.push({ key, op: 'absent' });
    else if (m[3] === undefined) out.push({ key, op: 'exists' });
    else out.push({ key, op: m[3] === '!=' ? 'neq' : 'eq', value: m[4] ?? '' });
  }
  return out;
}

/** Whether labels satisfy every requirement. */
export function matchesSelector(labels: Record<string, string> | undefined, selector: readonly LabelRequirement[]): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    if (r.op === 'exists') return has;
    if (r.op === 'absent') return !has;
    if (r.op === 'eq') return has && l[r.key] === r.value;
    return !has || l[r.key] !== r.value;
  });
}

/**
 * The scope of a prune from the query: `undefined` without `prune=true`. Without `pruneKind`,
 * every kind but the billing ones (all kinds with `pruneBilling=true`); naming a billing kind
 * without `pruneBilling=true` is refused rather than silently narrowed.
 */
export function pruneScopeOf(query: PruneQuery): PruneScope | undefined {
  if (!query.prune) {
    for (const [name, given] of [['pruneKind', query.pruneKind], ['selector', query.selector], ['pruneBilling', query.pruneBilling || undefined]] as const) {
      if (given !== undefined) invalid(`querystring.${name}`, 'requires_prune', `${name} only applies together with prune=true`);
    }
    return undefined;
  }
  let kinds: ResourceKind[];
  if (query.pruneKind !== undefined) {
    kinds = [];
    for (const k of query.pruneKind.split(',').map((s) => s.trim())) {
      if (!isResourceKind(k)) invalid('querystring.pruneKind', 'unknown_kind', `${JSON.stringify(k)} is not a kind (one of ${RESOURCE_KINDS.join(', ')})`);
      if (BILLING_KINDS.includes(k) && !query.pruneBilling) {
        invalid('querystring.pruneKind', 'billing_kind_protected', `${k} is billing data (usage and invoices refer to it); add pruneBilling=true to prune it`);
      }
      if (!kinds.includes(k)) kinds.push(k);
    }
  } else {
    kinds = RESOURCE_KINDS.filter((k) => query.pruneBilling || !BILLING_KINDS.includes(k));
  }
  return { kinds, selector: query.selector === undefined ? [] : parseSelector(query.selector) };
}

/** The store's prune predicate for a scope. */
export function prunePredicate(scope: PruneScope): (resource: Resource) => boolean {
  const kinds = new Set<string>(scope.kinds);
  return (r) => kinds.has(r.kind) && matchesSelector(r.metadata.labels, scope.selector);
}
