import type { ApiResource, ConfigIssue, Route, RouteMatch, StringMatch } from '@tollgate/model';
import { compileSafeRegex, templateCaptures, type FieldCondition, type PathRule } from '@tollgate/router';
import { checkUpstreamRef } from './compile-upstreams.js';
import { checkAggregate, compileAggregate } from './compile-aggregate.js';
import type { CompiledDestination, CompiledRouteActions, CompiledUpstream } from './types.js';

/** A base path as a prefix to put before a path: `/` is empty, a trailing `/` is dropped. */
export function trimBasePath(basePath: string): string {
  return basePath === '/' ? '' : basePath.replace(/\/$/, '');
}

/** The path rule of a match block, with the API base path applied. */
export function pathRule(basePath: string, m: RouteMatch, join: (base: string, path: string) => string): PathRule {
  const base = trimBasePath(basePath);
  const p = m.path;
  if ('exact' in p) return { kind: 'exact', value: join(basePath, p.exact) };
  if ('prefix' in p) return { kind: 'prefix', value: join(basePath, p.prefix) };
  if ('template' in p) return { kind: 'template', base, value: p.template };
  return { kind: 'regex', base, value: p.regex };
}

/** Header or query conditions of a match block in the router's form. */
export function conditions(map: Readonly<Record<string, StringMatch>>): FieldCondition[] {
  return Object.entries(map).map(([name, match]) => ({ name, match }));
}

/** Captures a match block makes available to `rewrite.path` and templates, or an error message. */
export function blockCaptures(m: RouteMatch): { ok: true; names: readonly string[] } | { ok: false; message: string } {
  const p = m.path;
  if ('template' in p) return templateCaptures(p.template);
  if ('regex' in p) {
    const r = compileSafeRegex(p.regex);
    return r.ok ? { ok: true, names: Object.keys(r.regex.namedGroups()) } : { ok: false, message: r.message };
  }
  return { ok: true, names: [] };
}

/**
 * Checks what the schema cannot: every regex compiles under RE2 (linear time, so no pattern is
 * unsafe), captures referenced by `rewrite.path` exist in every match block (any block may be the
 * one that matched), `\N` in a regex substitution names an existing group, destinations and the
 * mirror name existing upstreams and subsets.
 */
export function checkRoute(api: ApiResource, ri: number, upstreams: Readonly<Record<string, CompiledUpstream>>, resource: string, issues: ConfigIssue[]): void {
  const route = api.spec.routes[ri] as Route;
  const at = `spec.routes[${ri}]`;
  const regex = (pattern: string, path: string): void => {
    const r = compileSafeRegex(pattern);
    if (!r.ok) issues.push({ code: 'invalid_regex', message: r.message, resource, path });
  };
  const captureSets: Array<readonly string[] | null> = route.match.map((m, mi) => {
    const c = blockCaptures(m);
    if (!c.ok) {
      const kind = 'regex' in m.path ? 'regex' : 'template';
      issues.push({ code: kind === 'regex' ? 'invalid_regex' : 'invalid_template', message: c.message, resource, path: `${at}.match[${mi}].path.${kind}` });
      return null;
    }
    return c.names;
  });
  route.match.forEach((m, mi) => {
    for (const [name, sm] of Object.entries(m.headers)) if ('regex' in sm) regex(sm.regex, `${at}.match[${mi}].headers.${name}.regex`);
    for (const [name, sm] of Object.entries(m.queryParams)) if ('regex' in sm) regex(sm.regex, `${at}.match[${mi}].queryParams.${name}.regex`);
  });
  const rw = route.rewrite;
  if (rw?.path !== undefined) {
    const used = [...rw.path.matchAll(/\{([^{}]*)\}/g)].map((x) => x[1] as string);
    captureSets.forEach((names, mi) => {
      if (names === null) return;
      const missing = used.filter((u) => !names.includes(u));
      if (missing.length > 0) issues.push({ code: 'unknown_capture', message: `rewrite.path uses ${missing.map((x) => `{${x}}`).join(', ')} but match[${mi}] captures ${names.length > 0 ? names.join(', ') : 'nothing'}`, resource, path: `${at}.rewrite.path` });
    });
  }
  if (rw?.regex !== undefined) {
    const r = compileSafeRegex(rw.regex.pattern);
    if (!r.ok) issues.push({ code: 'invalid_regex', message: r.message, resource, path: `${at}.rewrite.regex.pattern` });
    else {
      const groups = r.regex.groupCount();
      for (const ref of rw.regex.substitution.matchAll(/\\(\d)/g)) {
        if (Number(ref[1]) > groups) issues.push({ code: 'unknown_capture', message: `\\${ref[1]} refers to a group the pattern does not have (it has ${groups})`, resource, path: `${at}.rewrite.regex.substitution` });
      }
    }
  }
  const dest = (d: { upstream: string; subset?: string | undefined }, path: string): void => checkUpstreamRef(upstreams, d.upstream, d.subset, resource, path, issues);
  if (route.destination) dest(route.destination, `${at}.destination`);
  route.destinations?.forEach((d, di) => dest(d, `${at}.destinations[${di}]`));
  if (route.mirror) dest(route.mirror, `${at}.mirror`);
  if (route.aggregate) checkAggregate(route, route.aggregate, captureSets, upstreams, resource, at, issues);
}

/** The route's actions as plain frozen-able data (the gateway builds its runtime from them). */
export function compileActions(route: Route): CompiledRouteActions {
  const destinations: CompiledDestination[] = route.destination
    ? [{ upstream: route.destination.upstream, subset: route.destination.subset ?? null, weight: 1 }]
    : (route.destinations ?? []).map((d) => ({ upstream: d.upstream, subset: d.subset ?? null, weight: d.weight }));
  return {
    destinations,
    redirect: route.redirect ?? null,
    directResponse: route.directResponse ?? null,
    rewrite: route.rewrite ?? null,
    requestHeaders: route.headers?.request ?? null,
    responseHeaders: route.headers?.response ?? null,
    mirror: route.mirror ? { upstream: route.mirror.upstream, subset: route.mirror.subset ?? null, percentage: route.mirror.percentage } : null,
    fault: route.fault ?? null,
    retries: route.retries ?? null,
    aggregate: route.aggregate ? compileAggregate(route.aggregate) : null,
    protocol: null, // compiled with the descriptors in compileConfig (compile-protocols.ts)
  };
}

/** Canonical text of a block's header and query conditions, for conflict detection. */
export function conditionKey(m: RouteMatch): string {
  const sort = (o: Record<string, unknown>) => JSON.stringify(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return [sort(m.headers), sort(m.queryParams)].join('\n');
}
