import type { ApiContext } from './compile-api.js';
import type { ApiReads } from './compile-cache.js';
import type { CompiledUpstream } from './types.js';

/**
 * The current text of each name read (`-` for an absent one), or of all of them. Written as pieces
 * joined once: the compile cache keeps this text with every Api's unit, and a text built with `+=`
 * (or a template literal of longer strings) stays a tree of V8 concatenation nodes until something
 * flattens it (see canonicalJson in @tollgate/model); `join` writes one flat string.
 */
export function textsOf(names: ReadonlySet<string> | 'all', texts: ReadonlyMap<string, string>): string {
  const parts: string[] = [];
  if (names === 'all') {
    for (const [n, t] of texts) parts.push(n, '=', t, '\n');
    // No newline after the last one.
    parts.pop();
    return parts.join('');
  }
  for (const n of names) parts.push(n, '=', texts.get(n) ?? '-', '\n');
  return parts.join('');
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
