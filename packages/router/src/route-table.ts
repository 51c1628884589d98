/**
 * A frozen route table: built once per config snapshot, read by every request.
 *
 * Precedence (docs/routing.md has the full rule with examples):
 * 1. **Priority**: a candidate of a higher `priority` (an API setting) beats any of a lower one.
 * 2. **Host**: an exact host beats a wildcard (`*.example.com`, one or more labels), a longer
 *    wildcard beats a shorter one, and any wildcard beats a route with no hosts (which matches
 *    every host). Hosts compare case-insensitively and a port in `Host` is ignored
 *    (RFC 9110 §4.2.3, §7.2).
 * 3. **Within one group** (an API): the first entry in declared order that matches wins, as in an
 *    Istio VirtualService.
 * 4. **Across groups** at the same priority and host tier: the more specific path wins: exact >
 *    template (more literal characters first) > prefix (longer first) > regex; then the group
 *    declared first.
 * A candidate whose methods exclude the request method is skipped and the search goes on; when
 * candidates matched everything but the method, the lookup reports the allowed methods so the
 * gateway can answer 405 with `Allow` (RFC 9110 §15.5.6).
 *
 * Lookups are indexed (#16) without changing any of this: hosts by an exact map and a wildcard
 * suffix map (probed once per label of the request host, longest suffix first), and in each host
 * tier of more than a few entries a path index (route-index.ts) that yields the few entries whose
 * path could match, in tier order; the precedence loop below runs over those alone. Entries it
 * leaves out cannot match the path, so the result is the one a scan of the tier gives
 * (route-table.equivalence.test.ts checks this against the linear table on random tables).
 */
import { compileConditions, headersMatch, queryMatches, type CompiledCondition, type FieldCondition, type HeaderBag } from './conditions.js';
import { compileTemplate, type CompiledTemplate } from './path-template.js';
import { mustCompileRegex, type SafeRegex } from './safe-regex.js';
import { DEFAULT_PATH_MATCHING, hasPathVariant, pathView, viewOf, VIEW_LOWER, type PathMatching } from './path-matching.js';
import { collected, PathIndex } from './route-index.js';

/** How an entry matches the path. Template and regex rules apply to the path below `base`. */
export type PathRule =
  | { readonly kind: 'exact'; readonly value: string }
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'template'; readonly base: string; readonly value: string }
  | { readonly kind: 'regex'; readonly base: string; readonly value: string };

/** One way a route takes requests: hosts, one path rule, methods and optional conditions. */
export interface RouteEntry<T> {
  /** Lower-case hosts, exact or `*.suffix`; empty means any host. */
  readonly hosts: readonly string[];
  readonly path: PathRule;
  /** Upper-case methods; empty means any method. */
  readonly methods: readonly string[];
  /** Header conditions (lower-case names), all must hold. */
  readonly headers?: readonly FieldCondition[];
  /** Query parameter conditions, all must hold. */
  readonly query?: readonly FieldCondition[];
  /** Entries of one group (an API) are tried in declared order; omitted = a group of its own. */
  readonly group?: string;
  /** Higher wins before anything else; default 0. */
  readonly priority?: number;
  /** The API's path matching options; default {@link DEFAULT_PATH_MATCHING}. */
  readonly pathMatching?: PathMatching;
  /** The value returned when this entry matches (the compiled route). */
  readonly value: T;
}

/** Result of a lookup: a match, a 405 with the allowed methods, or nothing (404). */
export type RouteLookup<T> =
  | {
      readonly kind: 'match';
      readonly value: T;
      /** The matched prefix (without trailing slash) for prefix rules, else null. */
      readonly prefix: string | null;
      /** Template captures or regex named groups; null for exact and prefix rules. */
      readonly captures: Readonly<Record<string, string>> | null;
      /**
       * The matched entry's path matching options: the gateway derives the path it gives policies
       * and forwards with `applyPathMatching` (the same view the entry matched), or refuses it.
       */
      readonly pathMatching: PathMatching;
    }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

const EXACT = 0;
const PREFIX = 1;
const TEMPLATE = 2;
const REGEX = 3;

interface Candidate<T> {
  readonly value: T;
  /** Bit set of allowed methods; 0 means any. */
  readonly methodMask: number;
  readonly methods: readonly string[];
  readonly kind: number;
  /** Exact: the path; prefix: the prefix without trailing slash; template/regex: the base. */
  readonly text: string;
  readonly template: RegExp | null;
  readonly templateNames: readonly string[] | null;
  readonly regex: SafeRegex | null;
  /** Named groups of `regex` with their numbers, or null. */
  readonly regexGroups: ReadonlyArray<readonly [string, number]> | null;
  readonly headers: readonly CompiledCondition[] | null;
  readonly query: readonly CompiledCondition[] | null;
  readonly group: number;
  readonly priority: number;
  /** The path view this candidate is matched against (`viewOf` its API's path matching). */
  readonly view: number;
  readonly pathMatching: PathMatching;
  /** Path specificity: kind rank * 1e6 + length (higher is more specific). */
  readonly specificity: number;
  readonly order: number;
  /** Result object returned on an exact or prefix match, allocated once at build time. */
  readonly hit: RouteLookup<T>;
  /** The path index key (route-index.ts): a prefix the path must have; null = always a candidate. */
  readonly indexKey: string | null;
  /** Whether `indexKey` must be the whole path (exact rules). */
  readonly indexWhole: boolean;
}

/**
 * Candidates of one host tier, in declared order (groups are contiguous runs), with a path index
 * when the tier is large enough for one to pay off.
 */
interface Tier<T> {
  readonly list: readonly Candidate<T>[];
  readonly index: PathIndex | null;
}

/** Tiers with fewer entries are scanned: checking a handful directly is cheaper than the index walk. */
const DEFAULT_INDEX_MIN = 8;

/** Methods with a bit each; a method outside this list only matches routes allowing any method. */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;
const METHOD_BITS: ReadonlyMap<string, number> = new Map(KNOWN_METHODS.map((m, i) => [m, 1 << i]));

const NOT_FOUND: RouteLookup<never> = Object.freeze({ kind: 'not_found' });

/**
 * Strips a port and a trailing dot from a Host header value and lower-cases it. IPv6 literals
 * (`[::1]:8080`) keep their brackets.
 */
export function normalizeHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    end = close === -1 ? end : close + 1;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && host.charCodeAt(end - 1) === 46 /* . */) end--;
  const h = end === host.length ? host : host.slice(0, end);
  return h.toLowerCase();
}

/**
 * Compiled templates by their text, shared by every table of the process: each config change
 * rebuilds the table from mostly the same templates (#16). The RegExps have no `g`/`y` flag, so
 * `exec` keeps no state and sharing them is safe. Bounded: cleared when it reaches 50,000.
 */
const templates = new Map<string, CompiledTemplate>();

function cachedTemplate(text: string): CompiledTemplate {
  let t = templates.get(text);
  if (t === undefined) {
    if (templates.size >= 50_000) templates.clear();
    const compiled = compileTemplate(text);
    t = Object.freeze({ ...compiled, names: Object.freeze([...compiled.names]) });
    templates.set(text, t);
  }
  return t;
}

function buildCandidate<T>(e: RouteEntry<T>, order: number, group: number): Candidate<T> {
  let methodMask = 0;
  for (const m of e.methods) methodMask |= METHOD_BITS.get(m) ?? 0;
  // A method list made only of unknown methods must still restrict: give it an impossible bit.
  if (e.methods.length > 0 && methodMask === 0) methodMask = 1 << 30;
  const pathMatching = e.pathMatching ?? DEFAULT_PATH_MATCHING;
  const view = viewOf(pathMatching);
  // A case-insensitive API is matched on the lower-cased path: its patterns are lower-cased once here.
  const lower = (view & VIEW_LOWER) !== 0;
  const p = lower ? lowerRule(e.path) : e.path;
  let kind = EXACT;
  let text = p.value;
  let template: RegExp | null = null;
  let templateNames: readonly string[] | null = null;
  let regex: SafeRegex | null = null;
  let regexGroups: Array<readonly [string, number]> | null = null;
  let specificity = 3e6 + p.value.length;
  let indexKey: string | null = p.value;
  if (p.kind === 'prefix') {
    kind = PREFIX;
    text = p.value.replace(/\/+$/, '');
    specificity = 1e6 + text.length;
    indexKey = text;
  } else if (p.kind === 'template') {
    kind = TEMPLATE;
    text = p.base;
    const t = cachedTemplate(p.value);
    template = t.regex;
    templateNames = t.names;
    specificity = 2e6 + t.literalLength;
    indexKey = t.literalLead === null ? null : p.base + t.literalLead;
  } else if (p.kind === 'regex') {
    kind = REGEX;
    text = p.base;
    regex = mustCompileRegex(lower ? `(?i)${p.value}` : p.value);
    const groups = Object.entries(regex.namedGroups());
    regexGroups = groups.length > 0 ? groups : null;
    specificity = 0;
    // `below('')` accepts any path; any other base needs the path to start with it on a boundary.
    indexKey = p.base === '' ? null : p.base;
  }
  return {
    value: e.value,
    methodMask,
    methods: Object.freeze(e.methods.slice()),
    kind,
    text,
    template,
    templateNames,
    regex,
    regexGroups,
    headers: compileConditions(e.headers),
    query: compileConditions(e.query),
    group,
    priority: e.priority ?? 0,
    view,
    pathMatching,
    specificity,
    order,
    hit: Object.freeze({ kind: 'match', value: e.value, prefix: kind === PREFIX ? text : null, captures: null, pathMatching }),
    indexKey,
    indexWhole: kind === EXACT,
  };
}

/** A path rule with its literal parts in lower case (a regex is made case-insensitive instead). */
function lowerRule(p: PathRule): PathRule {
  switch (p.kind) {
    case 'exact':
    case 'prefix':
      return { kind: p.kind, value: p.value.toLowerCase() };
    case 'template':
      return { kind: 'template', base: p.base.toLowerCase(), value: p.value.toLowerCase() };
    default:
      return { kind: 'regex', base: p.base.toLowerCase(), value: p.value };
  }
}

function prefixMatches(prefix: string, path: string): boolean {
  // Segment boundary: the character after the prefix must be '/' or the end of the path.
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}

/** The path below `base` ('' = root), or null when the path is not under it. */
function below(base: string, path: string): string | null {
  if (base === '') return path;
  if (!prefixMatches(base, path)) return null;
  return path.length === base.length ? '/' : path.slice(base.length);
}

/**
 * Matches a candidate's path rule. Returns the preallocated hit, a fresh hit with captures, or
 * null. Only template and regex rules allocate (their captures are per request).
 */
function matchPath<T>(c: Candidate<T>, path: string): RouteLookup<T> | null {
  switch (c.kind) {
    case EXACT:
      return path === c.text ? c.hit : null;
    case PREFIX:
      return prefixMatches(c.text, path) ? c.hit : null;
    case TEMPLATE: {
      const rel = below(c.text, path);
      if (rel === null) return null;
      const m = (c.template as RegExp).exec(rel);
      if (m === null) return null;
      const captures: Record<string, string> = {};
      const names = c.templateNames as readonly string[];
      for (let i = 0; i < names.length; i++) captures[names[i] as string] = m[i + 1] as string;
      return { kind: 'match', value: c.value, prefix: null, captures, pathMatching: c.pathMatching };
    }
    default: {
      const rel = below(c.text, path);
      if (rel === null) return null;
      const re = c.regex as SafeRegex;
      if (c.regexGroups === null) return re.testExact(rel) ? c.hit : null;
      const m = re.matcher(rel);
      if (!m.matches()) return null;
      const captures: Record<string, string> = {};
      for (const [name, idx] of c.regexGroups) captures[name] = m.group(idx) ?? '';
      return { kind: 'match', value: c.value, prefix: null, captures, pathMatching: c.pathMatching };
    }
  }
}

function methodOk(mask: number, bit: number): boolean {
  return mask === 0 || (mask & bit) !== 0;
}

/**
 * Per-lookup scratch: the best match so far; the query is parsed at most once, only when a
 * condition needs it; path views are derived at most once each, only when a candidate needs one.
 */
class Scratch<T> {
  params: URLSearchParams | null = null;
  methodMiss = false;
  bestHit: RouteLookup<T> | null = null;
  bestPriority = -Infinity;
  bestSpecificity = -Infinity;
  /** Whether the path has a spelling a view changes (null until asked). */
  #variant: boolean | null = null;
  #views: Array<string | undefined> | null = null;
  constructor(
    readonly path: string,
    readonly headers: HeaderBag,
    readonly query: string | null,
  ) {}
  get searchParams(): URLSearchParams {
    return (this.params ??= new URLSearchParams(this.query ?? ''));
  }
  /** The path under a view (`pathView`); the path itself when the view changes nothing. */
  view(v: number): string {
    if (v === 0) return this.path;
    const variant = (this.#variant ??= hasPathVariant(this.path));
    if (!variant && (v & VIEW_LOWER) === 0) return this.path;
    const views = (this.#views ??= []);
    return (views[v] ??= pathView(this.path, v, variant));
  }
}

const NO_HEADERS: HeaderBag = Object.freeze({});

/** The built state of a table: what the constructor, {@link RouteTable.steps} and `map` produce. */
interface Structure<T> {
  readonly exactHosts: Map<string, Tier<T>>;
  readonly wildcards: Map<string, Tier<T>>;
  readonly anyHost: Tier<T> | null;
  readonly entries: readonly RouteEntry<T>[];
  readonly maxPriority: number;
  readonly indexMin: number;
}

/** Drives a step generator to its end synchronously. */
function drain<R>(steps: Generator<void, R>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Builds a table's structure in small steps (one entry, or one tier arranged, per `yield`), so a
 * caller can build a large table in slices between requests (#16).
 */
function* structureSteps<T>(entries: readonly RouteEntry<T>[], indexMin: number): Generator<void, Structure<T>> {
  const exactHosts = new Map<string, Candidate<T>[]>();
  const wildcards = new Map<string, Candidate<T>[]>();
  let anyHost: Candidate<T>[] | null = null;
  const groupIds = new Map<string, number>();
  // First position of each group: groups are kept contiguous in the order they first appear.
  const firstSeen = new Map<number, number>();
  let maxPriority = -Infinity;
  for (let order = 0; order < entries.length; order++) {
    const e = entries[order] as RouteEntry<T>;
    let group: number;
    if (e.group === undefined) group = -1 - order;
    else {
      group = groupIds.get(e.group) ?? groupIds.size;
      groupIds.set(e.group, group);
    }
    if (!firstSeen.has(group)) firstSeen.set(group, order);
    const candidate = buildCandidate(e, order, group);
    maxPriority = Math.max(maxPriority, candidate.priority);
    if (e.hosts.length === 0) (anyHost ??= []).push(candidate);
    for (const rawHost of new Set(e.hosts.map((h) => h.toLowerCase()))) {
      const map = rawHost.startsWith('*.') ? wildcards : exactHosts;
      const key = rawHost.startsWith('*.') ? rawHost.slice(1) : rawHost;
      const list = map.get(key);
      if (list) list.push(candidate);
      else map.set(key, [candidate]);
    }
    yield;
  }
  // Keep a group's candidates contiguous (declared order within a group, groups by first appearance).
  const firstOrder = (c: Candidate<T>) => firstSeen.get(c.group) as number;
  const arrange = function* (list: Candidate<T>[]): Generator<void, Tier<T>> {
    // Entries arrive grouped (an API's entries are contiguous), so this sort mostly finds runs.
    list.sort((a, b) => firstOrder(a) - firstOrder(b) || a.order - b.order);
    yield;
    const index = list.length >= indexMin ? yield* PathIndex.steps(list) : null;
    return Object.freeze({ list: Object.freeze(list), index });
  };
  const tiers = function* (m: Map<string, Candidate<T>[]>): Generator<void, Map<string, Tier<T>>> {
    const out = new Map<string, Tier<T>>();
    for (const [k, v] of m) out.set(k, yield* arrange(v));
    return out;
  };
  return {
    exactHosts: yield* tiers(exactHosts),
    wildcards: yield* tiers(wildcards),
    anyHost: anyHost === null ? null : yield* arrange(anyHost),
    entries: Object.freeze(entries.slice()),
    maxPriority,
    indexMin,
  };
}

/**
 * The same structure with every value mapped: candidates are copied with the new value (and
 * their preallocated hit), positions stay, so the tiers' path indexes are shared as they are.
 */
function* mapSteps<T, U>(s: Structure<T>, mapOnce: (v: T) => U): Generator<void, Structure<U>> {
  const tier = function* (t: Tier<T>): Generator<void, Tier<U>> {
    const list: Candidate<U>[] = new Array<Candidate<U>>(t.list.length);
    for (let i = 0; i < t.list.length; i++) {
      const c = t.list[i] as Candidate<T>;
      const value = mapOnce(c.value);
      list[i] = { ...c, value, hit: Object.freeze({ ...c.hit, value }) as RouteLookup<U> } as Candidate<U>;
      yield;
    }
    return Object.freeze({ list: Object.freeze(list), index: t.index });
  };
  const tiers = function* (m: Map<string, Tier<T>>): Generator<void, Map<string, Tier<U>>> {
    const out = new Map<string, Tier<U>>();
    for (const [k, v] of m) out.set(k, yield* tier(v));
    return out;
  };
  const exactHosts = yield* tiers(s.exactHosts);
  const wildcards = yield* tiers(s.wildcards);
  const anyHost = s.anyHost === null ? null : yield* tier(s.anyHost);
  const entries: RouteEntry<U>[] = [];
  for (const e of s.entries) {
    entries.push({ ...e, value: mapOnce(e.value) });
    if ((entries.length & 255) === 0) yield;
  }
  return { exactHosts, wildcards, anyHost, entries: Object.freeze(entries), maxPriority: s.maxPriority, indexMin: s.indexMin };
}

/**
 * Hands a structure built by steps to the constructor (private fields can only be set there).
 * Set and consumed synchronously, with no code in between that could build another table.
 */
let handoff: Structure<unknown> | null = null;

/** Immutable route table. */
export class RouteTable<T> {
  readonly #exactHosts: Map<string, Tier<T>>;
  /** Wildcard tiers by suffix (`.example.com` for `*.example.com`). */
  readonly #wildcards: Map<string, Tier<T>>;
  readonly #anyHost: Tier<T> | null;
  readonly #entries: readonly RouteEntry<T>[];
  readonly #maxPriority: number;
  readonly #indexMin: number;

  /**
   * Builds a table from entries in declared order. Throws on a pattern the compiler should have
   * refused. `options.indexMin` (internal, for tests and benchmarks) is the tier size from which a
   * path index is built; `Infinity` scans every tier.
   */
  constructor(entries: readonly RouteEntry<T>[], options?: { readonly indexMin?: number }) {
    const given = handoff as Structure<T> | null;
    handoff = null;
    const s = given ?? drain(structureSteps(entries, options?.indexMin ?? DEFAULT_INDEX_MIN));
    this.#exactHosts = s.exactHosts;
    this.#wildcards = s.wildcards;
    this.#anyHost = s.anyHost;
    this.#entries = s.entries;
    this.#maxPriority = s.maxPriority;
    this.#indexMin = s.indexMin;
    Object.freeze(this);
  }

  /** Builds the same table as the constructor, as steps (`yield*` it from a sliced compile). */
  static *steps<T>(entries: readonly RouteEntry<T>[], options?: { readonly indexMin?: number }): Generator<void, RouteTable<T>> {
    const s = yield* structureSteps(entries, options?.indexMin ?? DEFAULT_INDEX_MIN);
    handoff = s as Structure<unknown>;
    return new RouteTable<T>([]);
  }

  /** The entries the table was built from, in declared order. */
  get entries(): readonly RouteEntry<T>[] {
    return this.#entries;
  }

  /** A table with the same structure whose values are mapped (each distinct value once). */
  map<U>(fn: (value: T) => U): RouteTable<U> {
    return drain(this.mapSteps(fn));
  }

  /**
   * {@link map} as steps: `fn` runs once per distinct value; the tiers and path indexes are
   * reused, not rebuilt (only values and preallocated hits change).
   */
  *mapSteps<U>(fn: (value: T) => U): Generator<void, RouteTable<U>> {
    const seen = new Map<T, U>();
    const mapOnce = (v: T): U => {
      if (!seen.has(v)) seen.set(v, fn(v));
      return seen.get(v) as U;
    };
    const s = yield* mapSteps(this.#structure(), mapOnce);
    handoff = s as Structure<unknown>;
    return new RouteTable<U>([]);
  }

  #structure(): Structure<T> {
    return { exactHosts: this.#exactHosts, wildcards: this.#wildcards, anyHost: this.#anyHost, entries: this.#entries, maxPriority: this.#maxPriority, indexMin: this.#indexMin };
  }

  /**
   * Finds the route for a request. `host` must be normalized ({@link normalizeHost}) and `path`
   * normalized (`normalizePath`); `query` is the raw query string without `?`. Exact and prefix
   * matches return a preallocated result.
   */
  lookup(host: string, path: string, method: string, headers: HeaderBag = NO_HEADERS, query: string | null = null): RouteLookup<T> {
    const bit = METHOD_BITS.get(method) ?? 0;
    const s = new Scratch<T>(path, headers, query);
    const max = this.#maxPriority;
    // Tiers from the most specific host down; a later tier can only win with a higher priority.
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined && searchTier(exact, bit, s) && s.bestPriority >= max) return s.bestHit as RouteLookup<T>;
    // Wildcard suffixes of the host, longest first: from each `.` after the first character
    // (a wildcard needs at least one label of its own). A Map probe per label, not a scan.
    if (this.#wildcards.size > 0) {
      for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
        const tier = this.#wildcards.get(host.slice(i));
        if (tier !== undefined && searchTier(tier, bit, s) && s.bestPriority >= max) return s.bestHit as RouteLookup<T>;
      }
    }
    if (this.#anyHost !== null) searchTier(this.#anyHost, bit, s);
    if (s.bestHit !== null) return s.bestHit;
    if (!s.methodMiss) return NOT_FOUND;
    return { kind: 'method_not_allowed', allow: this.#allowedMethods(host, s) };
  }

  /** Slow path for 405: the union of methods of every candidate matching all but the method. */
  #allowedMethods(host: string, s: Scratch<T>): string[] {
    const tiers: Tier<T>[] = [];
    const exact = this.#exactHosts.get(host);
    if (exact) tiers.push(exact);
    for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
      const tier = this.#wildcards.get(host.slice(i));
      if (tier !== undefined) tiers.push(tier);
    }
    if (this.#anyHost) tiers.push(this.#anyHost);
    const allow = new Set<string>();
    for (const tier of tiers) {
      for (const c of tierCandidates(tier, s)) {
        if (matchPath(c, s.view(c.view)) === null) continue;
        if (c.headers !== null && !headersMatch(c.headers, s.headers)) continue;
        if (c.query !== null && !queryMatches(c.query, s.searchParams)) continue;
        c.methods.forEach((m) => allow.add(m));
      }
    }
    return (KNOWN_METHODS.filter((m) => allow.has(m)) as string[]).concat([...allow].filter((m) => !METHOD_BITS.has(m)).sort());
  }
}

/**
 * Searches one host tier and records in `s` a candidate that beats the best so far. Within a group
 * the first match in declared order is the group's answer; across groups the higher priority wins,
 * then (within this tier) the more specific path, then the group declared first. A tier searched
 * after a match only considers higher priorities. Returns whether anything was found so far.
 */
function searchTier<T>(tier: Tier<T>, bit: number, s: Scratch<T>): boolean {
  const floor = s.bestPriority;
  let tierSpecificity = -Infinity;
  let tierPriority = -Infinity;
  let doneGroup = NaN;
  const list = tier.list;
  // With an index: only the entries whose path may match, still in tier order.
  const n = tier.index === null ? list.length : tier.index.collect(s);
  const positions = tier.index === null ? null : collected();
  for (let i = 0; i < n; i++) {
    const c = list[positions === null ? i : (positions[i] as number)] as Candidate<T>;
    if (c.group === doneGroup || c.priority <= floor) continue;
    const hit = matchPath(c, s.view(c.view));
    if (hit === null) continue;
    if (c.headers !== null && !headersMatch(c.headers, s.headers)) continue;
    if (c.query !== null && !queryMatches(c.query, s.searchParams)) continue;
    if (!methodOk(c.methodMask, bit)) {
      s.methodMiss = true;
      continue;
    }
    doneGroup = c.group;
    if (c.priority > tierPriority || (c.priority === tierPriority && c.specificity > tierSpecificity)) {
      tierPriority = c.priority;
      tierSpecificity = c.specificity;
      s.bestHit = hit;
      s.bestPriority = c.priority;
      s.bestSpecificity = c.specificity;
    }
  }
  return s.bestHit !== null;
}

/** The candidates of a tier whose path may match (all of them without an index), in tier order. */
function tierCandidates<T>(tier: Tier<T>, s: Scratch<T>): readonly Candidate<T>[] {
  if (tier.index === null) return tier.list;
  const n = tier.index.collect(s);
  const positions = collected();
  const out: Candidate<T>[] = [];
  for (let i = 0; i < n; i++) out.push(tier.list[positions[i] as number] as Candidate<T>);
  return out;
}
