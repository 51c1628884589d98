import { describe, expect, it } from 'vitest';
import { RequestContext } from './context.js';

describe('RequestContext upstream header changes', () => {
  const ctx = () => new RequestContext('r', '127.0.0.1', 'GET', '/', { apikey: 'k', accept: 'a' }, 'api', 'route', null);

  it('lists the removed client fields (lower case) for a caller that skips them while copying', () => {
    const c = ctx();
    expect(c.removedHeaders).toBeNull();
    // Names are given in lower case (policies lower-case configured names when parsing their config).
    c.removeUpstreamHeader('apikey');
    c.setUpstreamHeader('x-consumer-username', 'acme');
    expect(c.removedHeaders).toEqual(['apikey']);
    // Removals already done by the copy: only the gateway's own values are set, nothing deleted.
    const copied: Record<string, string | string[]> = { accept: 'a' };
    c.applyTo(copied, true);
    expect(copied).toEqual({ accept: 'a', 'x-consumer-username': 'acme' });
    // Without the flag the removals apply to what the caller copied.
    const all: Record<string, string | string[]> = { apikey: 'k', accept: 'a' };
    c.applyTo(all);
    expect(all).toEqual({ accept: 'a', 'x-consumer-username': 'acme' });
  });
});

describe('policies pass upstream header names in lower case', () => {
  // RequestContext no longer lower-cases per request (PolicyContext says names come in lower case):
  // a literal like 'X-Consumer-Id' would be set beside the client's own `x-consumer-id`, not
  // instead of it. Configured names go through `fieldName`, which lower-cases when parsing; this
  // catches literals in the policies' sources.
  it('no literal name with an upper-case letter in a call of setUpstreamHeader, removeUpstreamHeader or upstreamHeader', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = new URL('.', import.meta.url).pathname;
    const offending: string[] = [];
    const call = /\b(?:set|remove)?[uU]pstreamHeader\(\s*(['"`])([^'"`]*)\1/g;
    let files = 0;
    for (const entry of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      if (!entry.endsWith('.ts') || entry.endsWith('.test.ts')) continue;
      files++;
      const text = readFileSync(join(root, entry), 'utf8');
      for (const m of text.matchAll(call)) if (m[2] !== m[2]!.toLowerCase()) offending.push(`${entry}: ${m[0]}`);
    }
    expect(files).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  it('fieldName lower-cases configured names', async () => {
    const { fieldName } = await import('./field-name.js');
    expect(fieldName.parse('X-Tenant-Key')).toBe('x-tenant-key');
  });
});
