/**
 * A frozen route table: built once per config snapshot, read by every request.
 *
 * Precedence (the first rule that separates two candidates decides):
 * 1. **Host**: an exact host beats a wildcard (`*.example.com`, one or more labels), a longer
 *    wildcard beats a shorter one, and any wildcard beats a route with no hosts (which matches
 *    every host). Hosts compare case-insensitively and a port in `Host` is ignored
 *    (RFC 9110 §4.2.3, §7.2).
 * 2. **Path**: an exact path beats a prefix; a longer prefix beats a shorter one. A prefix matches
 *    on a segment boundary: `/a` matches `/a`, `/a/` and `/a/b`, never `/ab`.
 * 3. **Declared order**: among equally specific candidates, the one declared first wins.
 * A candidate whose methods exclude the request method is skipped and the search goes on; when
 * candidates matched host and path but none the method, the lookup reports the allowed methods so
 * the gateway can answer 405 with `Allow` (RFC 9110 §15.5.6).
 */

/** One way a route takes requests: hosts, one path rule and the methods (empty = any). */
export interface RouteEntry<T> {
  /** Lower-case hosts, exact or `*.suffix`; empty means any host. */
  readonly hosts: readonly string[];
  readonly path: { readonly kind: 'exact' | 'prefix'; readonly value: string };
  /** Upper-case methods; empty means any method. */
  readonly methods: readonly string[];
  /** The value returned when this entry matches (the compiled route). */
  readonly value: T;
}

/** Result of a lookup: a match, a 405 with the allowed methods, or nothing (404). */
export type RouteLookup<T> =
  | { readonly kind: 'match'; readonly value: T; readonly prefix: string | null }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

interface Candidate<T> {
  readonly value: T;
  /** Bit set of allowed methods; 0 means any. */
  readonly methodMask: number;
  readonly methods: readonly string[];
  /** For prefixes: the prefix without trailing slash ('' for the root prefix). */
  readonly prefix: string;
  readonly order: number;
  /** Result object returned on a match, allocated once at build time. */
  readonly hit: RouteLookup<T>;
}

interface Bucket<T> {
  readonly exact: Map<string, Candidate<T>[]>;
  /** Sorted: longest prefix first, then declared order. */
  readonly prefixes: Candidate<T>[];
}

/** Methods with a bit each; a method outside this list only matches routes allowing any method. */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;
const METHOD_BITS: ReadonlyMap<string, number> = new Map(KNOWN_METHODS.map((m, i) => [m, 1 << i]));

const NOT_FOUND: RouteLookup<never> = Object.freeze({ kind: 'not_found' });

function emptyBucket<T>(): Bucket<T> {
  return { exact: new Map(), prefixes: [] };
}

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

/** Immutable route table with allocation-free lookups on the match path. */
export class RouteTable<T> {
  readonly #exactHosts: Map<string, Bucket<T>>;
  /** Wildcard buckets, longest suffix first. */
  readonly #wildcards: ReadonlyArray<{ readonly suffix: string; readonly bucket: Bucket<T> }>;
  readonly #anyHost: Bucket<T> | null;
  readonly #entries: readonly RouteEntry<T>[];

  /** Builds a table from entries in declared order (earlier wins among equals). */
  constructor(entries: readonly RouteEntry<T>[]) {
    this.#entries = Object.freeze(entries.slice());
    const exactHosts = new Map<string, Bucket<T>>();
    const wildcards = new Map<string, Bucket<T>>();
    let anyHost: Bucket<T> | null = null;
    entries.forEach((e, order) => {
      let methodMask = 0;
      for (const m of e.methods) methodMask |= METHOD_BITS.get(m) ?? 0;
      // A method list made only of unknown methods must still restrict: give it an impossible bit.
      if (e.methods.length > 0 && methodMask === 0) methodMask = 1 << 30;
      const prefix = e.path.kind === 'prefix' ? e.path.value.replace(/\/+$/, '') : e.path.value;
      const candidate: Candidate<T> = {
        value: e.value,
        methodMask,
        methods: Object.freeze(e.methods.slice()),
        prefix,
        order,
        hit: Object.freeze({ kind: 'match', value: e.value, prefix: e.path.kind === 'prefix' ? prefix : null }),
      };
      const buckets: Bucket<T>[] = [];
      if (e.hosts.length === 0) buckets.push((anyHost ??= emptyBucket()));
      for (const rawHost of new Set(e.hosts.map((h) => h.toLowerCase()))) {
        const map = rawHost.startsWith('*.') ? wildcards : exactHosts;
        const key = rawHost.startsWith('*.') ? rawHost.slice(1) : rawHost;
        let b = map.get(key);
        if (!b) map.set(key, (b = emptyBucket()));
        buckets.push(b);
      }
      for (const b of buckets) {
        if (e.path.kind === 'exact') {
          const list = b.exact.get(e.path.value);
          if (list) list.push(candidate);
          else b.exact.set(e.path.value, [candidate]);
        } else {
          b.prefixes.push(candidate);
        }
      }
    });
    const all = [...exactHosts.values(), ...wildcards.values(), ...(anyHost ? [anyHost] : [])];
    for (const b of all) b.prefixes.sort((x, y) => y.prefix.length - x.prefix.length || x.order - y.order);
    this.#exactHosts = exactHosts;
    this.#wildcards = Object.freeze(
      [...wildcards.entries()].sort((a, b) => b[0].length - a[0].length).map(([suffix, bucket]) => Object.freeze({ suffix, bucket })),
    );
    this.#anyHost = anyHost;
    Object.freeze(this);
  }

  /** The entries the table was built from, in declared order. */
  get entries(): readonly RouteEntry<T>[] {
    return this.#entries;
  }

  /** A table with the same structure whose values are mapped (each distinct value once). */
  map<U>(fn: (value: T) => U): RouteTable<U> {
    const seen = new Map<T, U>();
    const mapOnce = (v: T): U => {
      if (!seen.has(v)) seen.set(v, fn(v));
      return seen.get(v) as U;
    };
    return new RouteTable(this.#entries.map((e) => ({ hosts: e.hosts, path: e.path, methods: e.methods, value: mapOnce(e.value) })));
  }

  /**
   * Finds the route for a request. `host` must be normalized ({@link normalizeHost}) and `path`
   * normalized (`normalizePath`). Returns a preallocated result on a match.
   */
  lookup(host: string, path: string, method: string): RouteLookup<T> {
    const bit = METHOD_BITS.get(method) ?? 0;
    let pathMatched = false;
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined) {
      const r = matchBucket(exact, path, bit);
      if (r !== null) return r;
      pathMatched = pathMatchesBucket(exact, path);
    }
    const wildcards = this.#wildcards;
    for (let i = 0; i < wildcards.length; i++) {
      const w = wildcards[i] as { suffix: string; bucket: Bucket<T> };
      if (host.length > w.suffix.length && host.endsWith(w.suffix)) {
        const r = matchBucket(w.bucket, path, bit);
        if (r !== null) return r;
        pathMatched ||= pathMatchesBucket(w.bucket, path);
      }
    }
    const any = this.#anyHost;
    if (any !== null) {
      const r = matchBucket(any, path, bit);
      if (r !== null) return r;
      pathMatched ||= pathMatchesBucket(any, path);
    }
    if (!pathMatched) return NOT_FOUND;
    return { kind: 'method_not_allowed', allow: this.#allowedMethods(host, path) };
  }

  /** Slow path for 405: the union of methods of every candidate matching host and path. */
  #allowedMethods(host: string, path: string): string[] {
    const buckets: Bucket<T>[] = [];
    const exact = this.#exactHosts.get(host);
    if (exact) buckets.push(exact);
    for (const w of this.#wildcards) if (host.length > w.suffix.length && host.endsWith(w.suffix)) buckets.push(w.bucket);
    if (this.#anyHost) buckets.push(this.#anyHost);
    const allow = new Set<string>();
    for (const b of buckets) {
      for (const c of b.exact.get(path) ?? []) c.methods.forEach((m) => allow.add(m));
      for (const c of b.prefixes) if (prefixMatches(c.prefix, path)) c.methods.forEach((m) => allow.add(m));
    }
    return (KNOWN_METHODS.filter((m) => allow.has(m)) as string[]).concat([...allow].filter((m) => !METHOD_BITS.has(m)).sort());
  }
}

function prefixMatches(prefix: string, path: string): boolean {
  // Segment boundary: the character after the prefix must be '/' or the end of the path.
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47);
}

function methodOk(mask: number, bit: number): boolean {
  return mask === 0 || (mask & bit) !== 0;
}

function matchBucket<T>(b: Bucket<T>, path: string, bit: number): RouteLookup<T> | null {
  const list = b.exact.get(path);
  if (list !== undefined) {
    for (let i = 0; i < list.length; i++) {
      const c = list[i] as Candidate<T>;
      if (methodOk(c.methodMask, bit)) return c.hit;
    }
  }
  const prefixes = b.prefixes;
  for (let i = 0; i < prefixes.length; i++) {
    const c = prefixes[i] as Candidate<T>;
    if (prefixMatches(c.prefix, path) && methodOk(c.methodMask, bit)) return c.hit;
  }
  return null;
}

function pathMatchesBucket<T>(b: Bucket<T>, path: string): boolean {
  if (b.exact.has(path)) return true;
  for (const c of b.prefixes) if (prefixMatches(c.prefix, path)) return true;
  return false;
}
