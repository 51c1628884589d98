import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCatalogue, renderErrorCatalogue } from './error-catalogue.js';

const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = join(SRC, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/** Places a stable code is written in the gateway's sources, with the status beside it when it is a literal. */
const RAISES: readonly RegExp[] = [
  /sendGatewayError\(\s*\w+,\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  /problem\(\s*\w+,\s*(?<status>\d{3}|\w+),\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  /sendProblem\(\s*\w+,\s*(?<status>\d{3}|[\w.]+),\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  /problemJson\(\s*(?<status>\d{3}|[\w.]+),\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  /errorCode\s*=\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  /\bcode:\s*'(?<code>[A-Z][A-Z0-9_]+)'/g,
  // A constant named for its code (`export const OVERLOADED = 'OVERLOADED'`).
  /const (?<code>[A-Z][A-Z0-9_]+) = '\k<code>'/g,
];

describe('error catalogue', () => {
  const catalogue = new Map(errorCatalogue().map((e) => [e.code, e]));

  it('is what docs/errors.md shows (run `npm run docs:errors` after changing an error)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')).toBe(renderErrorCatalogue());
  });

  it('holds every code the gateway writes, with the status written beside it', () => {
    const missing: string[] = [];
    const wrongStatus: string[] = [];
    let found = 0;
    for (const f of sources(SRC)) {
      const text = readFileSync(f, 'utf8');
      for (const re of RAISES) {
        for (const m of text.matchAll(re)) {
          const { code, status } = m.groups as { code: string; status?: string };
          // Node's and undici's own error codes (set on Error objects), not the gateway's.
          if (/^E[A-Z]+$|^ERR_|^UND_ERR_/.test(code)) continue;
          found++;
          const e = catalogue.get(code);
          if (e === undefined) missing.push(`${relative(SRC, f)}: ${code}`);
          else if (status !== undefined && /^\d{3}$/.test(status) && e.status !== 0 && e.status !== Number(status)) wrongStatus.push(`${relative(SRC, f)}: ${code} ${status} (catalogue: ${e.status})`);
        }
      }
    }
    expect(found).toBeGreaterThan(20);
    expect(missing).toEqual([]);
    expect(wrongStatus).toEqual([]);
  });

  it('names every source of a shared code and keeps one status per code', () => {
    expect(catalogue.get('ROUTE_NOT_FOUND')?.raisedBy).toEqual(['gateway', 'lifecycle-preview']);
    expect(catalogue.get('INVALID_HEADER_VALUE')?.raisedBy).toContain('policy runner');
    expect(catalogue.get('GRPC_UNAVAILABLE')?.status).toBe(503);
    expect(catalogue.get('QUOTA_EXCEEDED')?.status).toBe(429);
    for (const e of catalogue.values()) expect(e.description.length, e.code).toBeGreaterThan(10);
  });
});
