import { describe, expect, it } from 'vitest';
import { textsOf } from './track-reads.js';

describe('textsOf', () => {
  const texts = new Map([
    ['a', '{"kind":"Upstream","metadata":{"name":"a"}}'],
    ['b', '{"kind":"Upstream","metadata":{"name":"b"}}'],
  ]);

  it('renders each name read with its text, `-` for an absent one', () => {
    expect(textsOf(new Set(['b', 'gone']), texts)).toBe(`b=${texts.get('b')}\ngone=-\n`);
    expect(textsOf(new Set(), texts)).toBe('');
  });

  it('renders every name for `all`, one per line', () => {
    expect(textsOf('all', texts)).toBe(`a=${texts.get('a')}\nb=${texts.get('b')}`);
    expect(textsOf('all', new Map())).toBe('');
  });
});
