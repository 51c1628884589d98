import type { Aggregate, ConfigIssue, Route } from '@tollgate/model';
import { checkUpstreamRef, type CompiledUpstream } from './compile-upstreams.js';

/**
 * Aggregate routes: templates parsed once here (never per request) and every reference checked,
 * so a template that points at nothing is refused at apply instead of failing at request time.
 */

/** Where a template value comes from. `resp` reads an earlier backend's parsed JSON body. */
export type TemplateSource = 'path' | 'query' | 'header' | 'consumer' | 'resp';

/** One piece of a parsed template: literal text or a reference. */
export type TemplatePart =
  | { readonly text: string }
  | { readonly source: 'path' | 'query' | 'header' | 'consumer'; readonly key: string }
  | { readonly source: 'resp'; readonly backend: string; readonly field: readonly string[] };

/** A parsed template: render by concatenating its parts. */
export interface CompiledTemplate {
  readonly parts: readonly TemplatePart[];
}

/** Fields of the authenticated consumer a template may use (`{consumer.name}`). */
export const CONSUMER_FIELDS = ['name', 'customId', 'groups'] as const;

const SOURCES: readonly string[] = ['path', 'query', 'header', 'consumer', 'resp'];

/**
 * Parses `text {source.key} text`. Braces always delimit a reference (no escaping: paths,
 * query values and header values have no use for literal braces).
 */
export function parseTemplate(t: string): { ok: true; template: CompiledTemplate } | { ok: false; message: string } {
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < t.length) {
    const open = t.indexOf('{', i);
    const close = t.indexOf('}', i);
    if (close !== -1 && (open === -1 || close < open)) return { ok: false, message: `"}" at ${close} closes nothing` };
    if (open === -1) {
      parts.push({ text: t.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: t.slice(i, open) });
    const end = t.indexOf('}', open);
    if (end === -1) return { ok: false, message: `"{" at ${open} is not closed` };
    const ref = t.slice(open + 1, end);
    if (ref.includes('{')) return { ok: false, message: `"{" inside the reference {${ref}}` };
    const dot = ref.indexOf('.');
    const source = dot === -1 ? ref : ref.slice(0, dot);
    const key = dot === -1 ? '' : ref.slice(dot + 1);
    if (!SOURCES.includes(source)) return { ok: false, message: `{${ref}}: unknown source "${source}"; use path, query, header, consumer or resp` };
    if (key === '') return { ok: false, message: `{${ref}}: name what to take, e.g. {${source}.${source === 'resp' ? 'user.id' : 'id'}}` };
    if (source === 'resp') {
      const [backend, ...field] = key.split('.');
      if (field.length === 0 || field.some((f) => f === '') || backend === '') return { ok: false, message: `{${ref}}: a response reference is {resp.<backend>.<field>[.<field>...]}` };
      parts.push({ source: 'resp', backend: backend as string, field });
    } else if (source === 'consumer') {
      if (!(CONSUMER_FIELDS as readonly string[]).includes(key)) return { ok: false, message: `{${ref}}: the consumer has ${CONSUMER_FIELDS.join(', ')}` };
      parts.push({ source, key });
    } else if (source === 'header') {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) return { ok: false, message: `{${ref}}: "${key}" is not an HTTP field name` };
      parts.push({ source, key: key.toLowerCase() });
    } else {
      parts.push({ source: source as 'path' | 'query', key });
    }
    i = end + 1;
  }
  return { ok: true, template: { parts } };
}

/** A backend ready for the gateway: templates parsed, fields split into paths. */
export interface CompiledAggregateBackend {
  readonly name: string;
  readonly upstream: string;
  readonly subset: string | null;
  readonly method: string;
  readonly path: CompiledTemplate;
  readonly query: ReadonlyArray<readonly [string, CompiledTemplate]>;
  readonly headers: ReadonlyArray<readonly [string, CompiledTemplate]>;
  /** Deadline of the whole backend exchange in ms, or null for the budget. */
  readonly timeoutMs: number | null;
  /** Key in the answer, or null when `merge`. */
  readonly group: string | null;
  readonly merge: boolean;
  readonly extract: readonly string[] | null;
  readonly allow: ReadonlyArray<readonly string[]> | null;
  readonly deny: ReadonlyArray<readonly string[]>;
  readonly rename: ReadonlyArray<readonly [string, string]>;
  readonly required: boolean;
  /** Indices of backends that must have finished (either way) before this one starts. */
  readonly after: readonly number[];
}

/** An aggregate route's action. */
export interface CompiledAggregate {
  readonly budgetMs: number;
  readonly partial: 200 | 502;
  readonly maxBodyBytes: number;
  readonly backends: readonly CompiledAggregateBackend[];
}

const EMPTY: CompiledTemplate = { parts: [] };

function templateOrEmpty(t: string): CompiledTemplate {
  const r = parseTemplate(t);
  return r.ok ? r.template : EMPTY;
}

/** Which backends a backend waits for: the previous one in sequential mode, its dependsOn in parallel mode. */
function afterOf(a: Aggregate): number[][] {
  const index = new Map(a.backends.map((b, i) => [b.name, i]));
  return a.backends.map((b, i) => (a.mode === 'sequential' ? (i > 0 ? [i - 1] : []) : b.dependsOn.map((d) => index.get(d)).filter((x): x is number => x !== undefined)));
}

/** The aggregate as plain data for the snapshot (assumes {@link checkAggregate} found no issue). */
export function compileAggregate(a: Aggregate): CompiledAggregate {
  const after = afterOf(a);
  return {
    budgetMs: a.budgetMs,
    partial: a.partial,
    maxBodyBytes: a.maxBodyBytes,
    backends: a.backends.map((b, i) => ({
      name: b.name,
      upstream: b.upstream,
      subset: b.subset ?? null,
      method: b.method,
      path: templateOrEmpty(b.path),
      query: Object.entries(b.query).map(([k, v]) => [k, templateOrEmpty(v)] as const),
      headers: Object.entries(b.headers).map(([k, v]) => [k, templateOrEmpty(v)] as const),
      timeoutMs: b.timeoutMs ?? null,
      group: b.merge ? null : (b.group ?? b.name),
      merge: b.merge,
      extract: b.extract === undefined ? null : b.extract.split('.'),
      allow: b.allow === undefined ? null : b.allow.map((f) => f.split('.')),
      deny: b.deny.map((f) => f.split('.')),
      rename: Object.entries(b.rename),
      required: b.required,
      after: after[i] as number[],
    })),
  };
}

/**
 * Checks an aggregate: upstreams and subsets exist, `dependsOn` names known backends without a
 * cycle, every template parses, `{path.x}` names a capture of every match block (any block may be
 * the one that matched), and `{resp.b.f}` names a backend that has finished before this one
 * starts (an earlier one in sequential mode, one reachable through `dependsOn` in parallel mode).
 * `captureSets` holds each match block's capture names, or null where the block itself is invalid.
 * Route fields that only make sense for one forwarded request (mirror, retries, timeoutMs, path
 * rewrites) are refused next to an aggregate.
 */
export function checkAggregate(
  route: Route,
  a: Aggregate,
  captureSets: ReadonlyArray<readonly string[] | null>,
  upstreams: Readonly<Record<string, CompiledUpstream>>,
  resource: string,
  routePath: string,
  issues: ConfigIssue[],
): void {
  // Route actions that forward one request mean nothing here: refused rather than silently ignored.
  const unused: Array<[keyof Route, string]> = [
    ['mirror', 'an aggregate is not mirrored'],
    ['retries', 'aggregate backends are not retried; the budget bounds them'],
    ['timeoutMs', 'use aggregate.budgetMs and the backends\' timeoutMs'],
  ];
  for (const [k, why] of unused) if (route[k] !== undefined) issues.push({ code: 'unsupported_with_aggregate', message: `${String(k)} does not apply to an aggregate route: ${why}`, resource, path: `${routePath}.${String(k)}` });
  const rw = route.rewrite;
  if (rw !== undefined && (rw.prefix !== undefined || rw.path !== undefined || rw.regex !== undefined)) issues.push({ code: 'unsupported_with_aggregate', message: 'a path rewrite does not apply to an aggregate route: each backend has its own path (rewrite.host does apply)', resource, path: `${routePath}.rewrite` });
  const at = `${routePath}.aggregate`;
  const index = new Map(a.backends.map((b, i) => [b.name, i]));
  a.backends.forEach((b, bi) => {
    const p = `${at}.backends[${bi}]`;
    checkUpstreamRef(upstreams, b.upstream, b.subset, resource, p, issues);
    b.dependsOn.forEach((d, di) => {
      if (!index.has(d)) issues.push({ code: 'unknown_backend', message: `no backend named "${d}" in this aggregate (backends: ${[...index.keys()].join(', ')})`, resource, path: `${p}.dependsOn[${di}]` });
    });
  });
  const after = afterOf(a);
  // Everything that has finished before backend i starts; a cycle shows up as i reaching itself.
  const before = a.backends.map((_, i) => {
    const seen = new Set<number>();
    const stack = [...(after[i] as number[])];
    while (stack.length > 0) {
      const j = stack.pop() as number;
      if (seen.has(j)) continue;
      seen.add(j);
      stack.push(...(after[j] as number[]));
    }
    return seen;
  });
  before.forEach((s, i) => {
    if (s.has(i)) issues.push({ code: 'dependency_cycle', message: `backend "${a.backends[i]?.name}" waits for itself through dependsOn`, resource, path: `${at}.backends[${i}].dependsOn` });
  });
  a.backends.forEach((b, bi) => {
    const p = `${at}.backends[${bi}]`;
    const check = (text: string, path: string): void => {
      const r = parseTemplate(text);
      if (!r.ok) {
        issues.push({ code: 'invalid_template', message: r.message, resource, path });
        return;
      }
      for (const part of r.template.parts) {
        if (!('source' in part)) continue;
        if (part.source === 'path') {
          captureSets.forEach((names, mi) => {
            if (names !== null && !names.includes(part.key)) issues.push({ code: 'unknown_capture', message: `{path.${part.key}} but match[${mi}] captures ${names.length > 0 ? names.join(', ') : 'nothing'} (use a path template such as /users/{${part.key}})`, resource, path });
          });
        } else if (part.source === 'resp') {
          const j = index.get(part.backend);
          const ref = `{resp.${part.backend}.${part.field.join('.')}}`;
          if (j === undefined) issues.push({ code: 'unknown_backend', message: `${ref}: no backend named "${part.backend}" in this aggregate (backends: ${[...index.keys()].join(', ')})`, resource, path });
          else if (!(before[bi] as Set<number>).has(j) || j === bi) {
            const how = a.mode === 'sequential' ? 'it does not run before this one (sequential mode runs backends in declared order)' : `it is not finished when this one starts; add "${part.backend}" to dependsOn`;
            issues.push({ code: 'backend_not_ready', message: `${ref}: ${how}`, resource, path });
          }
        }
      }
    };
    check(b.path, `${p}.path`);
    for (const [k, v] of Object.entries(b.query)) check(v, `${p}.query.${k}`);
    for (const [k, v] of Object.entries(b.headers)) check(v, `${p}.headers.${k}`);
  });
}
