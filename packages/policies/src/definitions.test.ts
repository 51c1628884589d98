import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POLICY_DEFINITIONS, policyErrors } from './definitions.js';
import { POLICY_REGISTRY } from './registry.js';

const SRC = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return n.endsWith('.ts') && !n.endsWith('.test.ts') && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a source file, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
    const spec = m[1] as string;
    out.push(spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
  }
  return out;
}

describe('policy definitions (the light entry point)', () => {
  it('lists the same policies as the runtime registry, with the same definition', () => {
    expect([...POLICY_DEFINITIONS.keys()].sort()).toEqual([...POLICY_REGISTRY.keys()].sort());
    for (const [name, def] of POLICY_REGISTRY) {
      const meta = POLICY_DEFINITIONS.get(name);
      expect(meta, name).toBeDefined();
      for (const k of ['priority', 'phases', 'schema', 'errors', 'summary', 'authenticates', 'credentials'] as const) expect(def[k], `${name}.${k}`).toBe(meta?.[k]);
    }
  });

  it('loads no runtime code: no builder, runner, request context, jose or undici', () => {
    const seen = new Set<string>();
    const queue = [join(SRC, 'definitions.ts')];
    const packages = new Set<string>();
    while (queue.length > 0) {
      const f = queue.pop() as string;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const dep of importsOf(f)) {
        if (dep.startsWith('/')) queue.push(dep);
        else packages.add(dep);
      }
    }
    const files = [...seen].map((f) => relative(SRC, f));
    expect(files.filter((f) => /(^|\/)index\.ts$|^runner\.ts$|^context\.ts$|^registry\.ts$/.test(f))).toEqual([]);
    expect([...packages].filter((p) => /^(jose|undici|ioredis)/.test(p))).toEqual([]);
  });

  it('gives every policy a summary and at most one status and title per code', () => {
    for (const d of POLICY_DEFINITIONS.values()) expect(d.summary.length, d.name).toBeGreaterThan(10);
    const errors = policyErrors();
    expect(errors.get('RATE_LIMITED')?.raisedBy).toEqual(['rate-limit', 'subscription']);
    expect(errors.get('AUTH_REQUIRED')?.spec.status).toBe(401);
    for (const { spec } of errors.values()) {
      expect(spec.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(spec.description.length, spec.code).toBeGreaterThan(10);
    }
  });

  it('has no problem built by hand: every code a policy answers with comes from a declaration', () => {
    // A literal `code: 'X'` or `authReply(4xx, 'X'` outside the declarations would let the status,
    // title or code drift from the catalogue (docs/errors.md).
    const offenders: string[] = [];
    for (const f of sources(SRC)) {
      const rel = relative(SRC, f);
      if (rel.endsWith('definition.ts') || rel === 'errors.ts' || rel === 'shared-errors.ts' || rel === 'identity/errors.ts') continue;
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/code:\s*'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) offenders.push(`${rel}: ${m[1]}`);
      for (const m of text.matchAll(/status:\s*[45]\d\d\b/g)) offenders.push(`${rel}: ${m[0]}`);
    }
    expect(offenders).toEqual([]);
  });
});
