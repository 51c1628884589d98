import { describe, expect, it } from 'vitest';
import { compileTemplate } from './path-template.js';

describe('compileTemplate literalLead (the route index key of a template)', () => {
  it.each([
    ['/orders/{id}', '/orders'],
    ['/orders/{id}/items/{item}', '/orders'],
    ['/{id}', ''],
    ['/a/b', '/a'],
    ['/a/', '/a'],
    ['/', ''],
    ['{id}/a', null],
    ['', null],
  ])('%s -> %s', (t, lead) => expect(compileTemplate(t).literalLead).toBe(lead));

  it('every match starts with the lead followed by "/"', () => {
    for (const [t, path] of [
      ['/orders/{id}', '/orders/1'],
      ['/a/b', '/a/b'],
      ['/', '/'],
      ['/{id}', '/x'],
    ] as const) {
      const c = compileTemplate(t);
      expect(c.regex.test(path)).toBe(true);
      expect(path.startsWith(`${c.literalLead}/`)).toBe(true);
    }
  });
});
