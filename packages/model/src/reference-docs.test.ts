import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderResourceReference } from './reference-docs.js';

describe('docs/resources.md', () => {
  it('matches the schemas (run `npm run docs:resources` after changing a schema)', () => {
    const onDisk = readFileSync(new URL('../../../docs/resources.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderResourceReference());
  });

  it('documents every field with a description', () => {
    const lines = renderResourceReference().split('\n').filter((l) => l.startsWith('| `spec'));
    expect(lines.length).toBeGreaterThan(15);
    for (const l of lines) expect(l.trim().endsWith('|  |'), l).toBe(false);
  });
});
