import type { ApiContext } from './compile-api.js';
import type { ApiReads } from './compile-cache.js';
import type { CompiledUpstream } from './types.js';

/**
 * What a compile read, as it reads now: the current text of each name read (`undefined` for an
 * absent one), or every name and its text for `all`, appended to `out`. The texts are the
 * compile's own strings (one per Upstream or descriptor), so the list a cached unit keeps
 * points at them instead of copying them: a rendering as one text, kept with each of 10,000
 * Apis, held a copy of its Upstream's text per Api (or a tree of concatenation nodes, #16).
 */
export function readStateOf(names: ReadonlySet<string> | 'all', texts: ReadonlyMap<string, string>, out: (string | undefined)[]): void {
  if (names === 'all') for (const [n, t] of texts) out.push(n, t);
  else for (const n of names) out.push(texts.get(n));
}

/**
 * Views of the upstreams and descriptors that record which names a compile reads (an absent
 * name included); enumerating them records `all`. compileApi only looks names up, so an Api's
 * reads are the Upstreams it routes, mirrors or aggregates to and the descriptors it converts with.
 */
export function trackReads(upstreams: Readonly<Record<string, CompiledUpstream>>, protos: ApiContext['protos']): { upstreams: Readonly<Record<string, CompiledUpstream>>; protos: ApiContext['protos']; reads: ApiReads } {
  const u = new Set<string>();
  const p = new Set<string>();
  let allUpstreams = false;
  let allProtos = false;
  const trackedUpstreams = new Proxy(upstreams, {
    get(target, name, receiver) {
      if (typeof name === 'string') u.add(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
    has(target, name) {
      if (typeof name === 'string') u.add(name);
      return Reflect.has(target, name);
    },
    ownKeys(target) {
      allUpstreams = true;
      return Reflect.ownKeys(target);
    },
  });
  const trackedProtos = {
    get(name: string) {
      p.add(name);
      return protos.get(name);
    },
    has(name: string) {
      p.add(name);
      return protos.has(name);
    },
    get size() {
      allProtos = true;
      return protos.size;
    },
    forEach(...args: Parameters<typeof protos.forEach>) {
      allProtos = true;
      protos.forEach(...args);
    },
    entries() {
      allProtos = true;
      return protos.entries();
    },
    keys() {
      allProtos = true;
      return protos.keys();
    },
    values() {
      allProtos = true;
      return protos.values();
    },
    [Symbol.iterator]() {
      allProtos = true;
      return protos[Symbol.iterator]();
    },
  } as ApiContext['protos'];
  return {
    upstreams: trackedUpstreams,
    protos: trackedProtos,
    get reads(): ApiReads {
      return { upstreams: allUpstreams ? 'all' : u, protos: allProtos ? 'all' : p };
    },
  };
}
