/**
 * The indexed route table (#16) must answer every lookup exactly as the linear table did: the
 * same match (value, prefix, captures, path matching options), the same 405 `allow` list, or the
 * same 404. Random tables and requests from a fixed seed, drawn from small alphabets so that
 * hosts, paths, groups and priorities collide often; every table is checked with the index on
 * every tier (indexMin 0), with the default threshold, and against the linear reference.
 */
import { describe, expect, it } from 'vitest';
import { LinearRouteTable } from './linear-route-table.js';
import { normalizePath } from './normalize-path.js';
import type { PathMatching } from './path-matching.js';
import { RouteTable, type RouteEntry, type RouteLookup } from './route-table.js';
import type { FieldCondition } from './conditions.js';

/** mulberry32: a small seeded PRNG, so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <X>(r: Rand, xs: readonly X[]): X => xs[Math.floor(r() * xs.length)] as X;
const chance = (r: Rand, p: number): boolean => r() < p;

const SEGMENTS = ['a', 'b', 'A', 'ab', 'v1', 'users', 'Users', 'me', 'x;p=1', 'c.', '%3B', '42', ''];
const ROUTE_HOSTS = ['a.com', 'b.a.com', 'c.b.a.com', 'x.org', '*.a.com', '*.b.a.com', '*.com', '*.org', 'A.com'];
const REQUEST_HOSTS = ['a.com', 'b.a.com', 'c.b.a.com', 'z.c.b.a.com', 'q.a.com', 'x.org', 'y.x.org', 'com', 'other.net', '[::1]'];
const BASES = ['', '/a', '/A', '/v1', '/a/b'];
const REGEXES = ['/a/.*', '/(?P<v>[ab]+)(/.*)?', '.*', '/A.*', '/b', '/users/(?P<id>[0-9]+)', '/'];
const METHODS = ['GET', 'POST', 'DELETE', 'PURGE'];
const REQUEST_METHODS = ['GET', 'POST', 'DELETE', 'PUT', 'PURGE', 'HEAD'];
const PATH_MATCHINGS: ReadonlyArray<PathMatching | undefined> = [
  undefined,
  undefined,
  { caseInsensitive: true, matrixParams: 'reject', trailingDots: 'reject' },
  { caseInsensitive: false, matrixParams: 'keep', trailingDots: 'keep' },
  { caseInsensitive: true, matrixParams: 'strip', trailingDots: 'keep' },
  { caseInsensitive: false, matrixParams: 'keep', trailingDots: 'strip' },
];
const HEADER_CONDITIONS: readonly FieldCondition[] = [
  { name: 'x-env', match: { exact: 'canary' } },
  { name: 'x-env', match: { present: true } },
  { name: 'x-env', match: { absent: true } },
  { name: 'x-user', match: { prefix: 'u' } },
];
const QUERY_CONDITIONS: readonly FieldCondition[] = [
  { name: 'debug', match: { present: true } },
  { name: 'v', match: { exact: '2' } },
  { name: 'v', match: { regex: '[0-9]+' } },
];

function randomPath(r: Rand, maxSegments: number): string {
  const n = 1 + Math.floor(r() * maxSegments);
  let p = '';
  for (let i = 0; i < n; i++) p += `/${pick(r, SEGMENTS)}`;
  return p;
}

function randomTemplate(r: Rand): string {
  if (chance(r, 0.05)) return pick(r, ['/', '/{c0}', '{c0}/a', '']);
  const n = 1 + Math.floor(r() * 3);
  const segs: string[] = [];
  let captures = 0;
  for (let i = 0; i < n; i++) segs.push(chance(r, 0.4) ? `{c${captures++}}` : pick(r, SEGMENTS.filter((s) => s !== '')));
  // Now and then a template without a leading slash or ending in one: odd, but the table accepts it.
  const t = segs.join('/');
  if (chance(r, 0.05)) return t;
  return chance(r, 0.1) ? `/${t}/` : `/${t}`;
}

function randomEntry(r: Rand, i: number, groups: number): RouteEntry<string> {
  const hosts: string[] = [];
  const hostCount = pick(r, [0, 0, 1, 1, 1, 2]);
  for (let h = 0; h < hostCount; h++) hosts.push(pick(r, ROUTE_HOSTS));
  const kind = pick(r, ['exact', 'prefix', 'prefix', 'template', 'regex'] as const);
  let path: RouteEntry<string>['path'];
  if (kind === 'exact') path = { kind, value: chance(r, 0.05) ? '/' : randomPath(r, 3) };
  else if (kind === 'prefix') path = { kind, value: chance(r, 0.1) ? '/' : randomPath(r, 3) + (chance(r, 0.2) ? '/' : '') };
  else if (kind === 'template') path = { kind, base: pick(r, BASES), value: randomTemplate(r) };
  else path = { kind, base: pick(r, BASES), value: pick(r, REGEXES) };
  const methods = METHODS.filter(() => chance(r, 0.25));
  const headers = chance(r, 0.15) ? [pick(r, HEADER_CONDITIONS)] : undefined;
  const query = chance(r, 0.1) ? [pick(r, QUERY_CONDITIONS)] : undefined;
  const group = chance(r, 0.7) ? `g${Math.floor(r() * groups)}` : undefined;
  const priority = chance(r, 0.15) ? pick(r, [-1, 1, 2]) : undefined;
  const pathMatching = pick(r, PATH_MATCHINGS);
  return {
    hosts,
    path,
    methods,
    value: `e${i}`,
    ...(headers ? { headers } : {}),
    ...(query ? { query } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(pathMatching ? { pathMatching } : {}),
  };
}

interface Request {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly query: string | null;
}

function randomRequest(r: Rand, entries: readonly RouteEntry<string>[]): Request | null {
  let raw: string;
  // Half the requests aim at a route's own path (so most of them match something).
  const e = entries.length > 0 && chance(r, 0.5) ? pick(r, entries) : null;
  if (e && e.path.kind !== 'regex') {
    const p = e.path;
    const text = (p.kind === 'template' ? p.base + p.value.replace(/\{[^}]*\}/g, () => pick(r, ['42', 'x', 'a'])) : p.value) + (chance(r, 0.3) ? randomPath(r, 2) : '');
    raw = chance(r, 0.2) ? text.toUpperCase() : text;
  } else raw = randomPath(r, 5);
  let path: string;
  try {
    path = normalizePath(raw.startsWith('/') ? raw : `/${raw}`);
  } catch {
    return null;
  }
  const host = e && e.hosts.length > 0 && chance(r, 0.5) ? (pick(r, e.hosts).replace(/^\*/, pick(r, ['q', 'z.q']))).toLowerCase() : pick(r, REQUEST_HOSTS);
  const headers: Record<string, string> = {};
  if (chance(r, 0.3)) headers['x-env'] = pick(r, ['canary', 'prod']);
  if (chance(r, 0.2)) headers['x-user'] = pick(r, ['u1', 'x']);
  const query = chance(r, 0.3) ? pick(r, ['debug', 'v=2', 'v=x&debug=1', '']) : null;
  return { host, path, method: pick(r, REQUEST_METHODS), headers, query };
}

/** A lookup result in plain form, or the error it threw (both tables must throw alike). */
function outcome(t: { lookup: RouteTable<string>['lookup'] }, q: Request): unknown {
  let res: RouteLookup<string>;
  try {
    res = t.lookup(q.host, q.path, q.method, q.headers, q.query);
  } catch (err) {
    return { threw: (err as Error).message };
  }
  if (res.kind !== 'match') return res;
  return { kind: res.kind, value: res.value, prefix: res.prefix, captures: res.captures, pathMatching: res.pathMatching };
}

function check(seed: number, tables: number, maxEntries: number, requestsPerTable: number): { lookups: number; matches: number; m405: number } {
  const r = rng(seed);
  let lookups = 0;
  let matches = 0;
  let m405 = 0;
  for (let k = 0; k < tables; k++) {
    const size = Math.floor(r() * maxEntries);
    const groups = 1 + Math.floor(r() * 6);
    const entries = Array.from({ length: size }, (_, i) => randomEntry(r, i, groups));
    const linear = new LinearRouteTable(entries);
    const indexedAll = new RouteTable(entries, { indexMin: 0 });
    const indexed = new RouteTable(entries);
    for (let j = 0; j < requestsPerTable; j++) {
      const q = randomRequest(r, entries);
      if (q === null) continue;
      const want = outcome(linear, q);
      const ctx = { seed, table: k, request: q };
      expect({ ...ctx, got: outcome(indexedAll, q) }).toEqual({ ...ctx, got: want });
      expect({ ...ctx, got: outcome(indexed, q) }).toEqual({ ...ctx, got: want });
      lookups++;
      const kind = (want as { kind?: string }).kind;
      if (kind === 'match') matches++;
      if (kind === 'method_not_allowed') m405++;
    }
  }
  return { lookups, matches, m405 };
}

describe('RouteTable (indexed) is equivalent to the linear table', () => {
  it('on 2,000 small random tables (up to 40 entries), 40 requests each', () => {
    const s = check(16_001, 2000, 40, 40);
    // The generator must produce all three outcomes often enough for the check to mean something.
    expect(s.lookups).toBeGreaterThan(70_000);
    expect(s.matches).toBeGreaterThan(s.lookups / 4);
    expect(s.m405).toBeGreaterThan(s.lookups / 50);
  });

  it('on 200 larger random tables (up to 400 entries), 100 requests each', () => {
    const s = check(16_002, 200, 400, 100);
    expect(s.lookups).toBeGreaterThan(15_000);
    expect(s.matches).toBeGreaterThan(s.lookups / 4);
  });

  it('maps values keeping the index threshold and the answers', () => {
    const r = rng(16_003);
    const entries = Array.from({ length: 60 }, (_, i) => randomEntry(r, i, 4));
    const mapped = new RouteTable(entries, { indexMin: 0 }).map((v) => v);
    const linear = new LinearRouteTable(entries);
    for (let j = 0; j < 500; j++) {
      const q = randomRequest(r, entries);
      if (q !== null) expect(outcome(mapped, q)).toEqual(outcome(linear, q));
    }
  });
});
