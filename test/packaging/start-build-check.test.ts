import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { staleReason } from '../../scripts/start.mjs';

const check = staleReason as (repo: string) => string | undefined;

/** A repository shaped like this one: tsconfig.json references, each project with src/ and dist/.tsbuildinfo. */
function fakeRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'tollgate-start-check-'));
  writeFileSync(join(repo, 'tsconfig.base.json'), '{}');
  writeFileSync(join(repo, 'tsconfig.json'), JSON.stringify({ files: [], references: [{ path: './packages/a' }, { path: './apps/b' }] }));
  for (const p of ['packages/a', 'apps/b']) {
    mkdirSync(join(repo, p, 'src'), { recursive: true });
    mkdirSync(join(repo, p, 'dist'), { recursive: true });
    writeFileSync(join(repo, p, 'src', 'index.ts'), 'export {};');
    writeFileSync(join(repo, p, 'tsconfig.json'), '{}');
    writeFileSync(join(repo, p, 'package.json'), '{}');
    writeFileSync(join(repo, p, 'dist', '.tsbuildinfo'), '{}');
  }
  // Inputs an hour old, outputs half an hour old: built after the last change, and an edit now is
  // later than the build (file times have a coarse clock; equal times would read as up to date).
  const past = new Date(Date.now() - 3_600_000);
  const built = new Date(Date.now() - 1_800_000);
  for (const p of ['packages/a', 'apps/b']) utimesSync(join(repo, p, 'dist', '.tsbuildinfo'), built, built);
  for (const f of ['tsconfig.base.json', 'packages/a/src/index.ts', 'packages/a/src', 'packages/a/tsconfig.json', 'packages/a/package.json', 'apps/b/src/index.ts', 'apps/b/src', 'apps/b/tsconfig.json', 'apps/b/package.json']) utimesSync(join(repo, f), past, past);
  return repo;
}

/** What `npm start` (scripts/start.mjs) decides about building: skip only when nothing changed. */
describe('npm start: build when stale', () => {
  const repos: string[] = [];
  const repo = () => {
    const r = fakeRepo();
    repos.push(r);
    return r;
  };
  afterEach(() => {
    for (const r of repos.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  it('skips the build when every project was built after its inputs changed', () => {
    expect(check(repo())).toBeUndefined();
  });

  it('builds when a project was never built', () => {
    const r = repo();
    rmSync(join(r, 'apps/b/dist'), { recursive: true });
    expect(check(r)).toBe('./apps/b has not been built');
  });

  it('builds when a source file, a new file, a tsconfig or the shared base changed', () => {
    const edited = repo();
    writeFileSync(join(edited, 'packages/a/src/index.ts'), 'export const x = 1;');
    expect(check(edited)).toBe('./packages/a changed since it was built');
    const added = repo();
    mkdirSync(join(added, 'apps/b/src/deep'));
    writeFileSync(join(added, 'apps/b/src/deep/new.ts'), 'export {};');
    expect(check(added)).toBe('./apps/b changed since it was built');
    const config = repo();
    writeFileSync(join(config, 'apps/b/tsconfig.json'), '{"compilerOptions":{}}');
    expect(check(config)).toBe('./apps/b changed since it was built');
    const base = repo();
    writeFileSync(join(base, 'tsconfig.base.json'), '{"compilerOptions":{}}');
    expect(check(base)).toBe('./packages/a changed since it was built');
  });

  it('a changed unit test (not part of the build) does not rebuild', () => {
    const r = repo();
    writeFileSync(join(r, 'packages/a/src/index.test.ts'), 'export {};');
    // The directory's time moved with the new file: set it back, as an edit of an existing test leaves it.
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(join(r, 'packages/a/src'), past, past);
    expect(check(r)).toBeUndefined();
  });
});
