import { describe, expect, it } from 'vitest';
import { readStateOf } from './track-reads.js';

describe('readStateOf', () => {
  const texts = new Map([
    ['a', '{"kind":"Upstream","metadata":{"name":"a"}}'],
    ['b', '{"kind":"Upstream","metadata":{"name":"b"}}'],
  ]);
  const state = (names: ReadonlySet<string> | 'all', from: ReadonlyMap<string, string>) => {
    const out: (string | undefined)[] = [];
    readStateOf(names, from, out);
    return out;
  };

  it('gives the current text of each name read, undefined for an absent one', () => {
    expect(state(new Set(['b', 'gone']), texts)).toEqual([texts.get('b'), undefined]);
    expect(state(new Set(), texts)).toEqual([]);
  });

  it('gives every name and its text for `all`', () => {
    expect(state('all', texts)).toEqual(['a', texts.get('a'), 'b', texts.get('b')]);
    expect(state('all', new Map())).toEqual([]);
  });
});
