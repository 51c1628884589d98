import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { readImageStage } from './dockerfile.js';

/**
 * `npm install` warns EBADENGINE when a locked package does not support every Node version the
 * root `engines` accepts. Every locked version must cover the whole declared range, and the
 * image's Node must be inside it.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown }> };
const declared = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { engines: { node: string } }).engines.node;

describe('engines', () => {
  it('the lock file and package.json declare the same Node range', () => {
    expect((lock.packages['']?.engines as { node?: string } | undefined)?.node).toBe(declared);
  });

  it('every locked package supports every Node version the project declares', () => {
    const unsupported: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const node = pkg.engines && typeof pkg.engines === 'object' && !Array.isArray(pkg.engines) ? (pkg.engines as { node?: string }).node : undefined;
      if (path === '' || node === undefined) continue;
      if (!semver.subset(declared, node)) unsupported.push(`${path}@${pkg.version ?? '?'} needs node ${node}`);
    }
    expect(unsupported).toEqual([]);
  });

  it("the image's Node is one the project declares", () => {
    for (const base of readImageStage(`${root}Dockerfile`).bases) {
      const version = /^node:(\d+\.\d+\.\d+)/.exec(base)?.[1];
      expect(version, base).toBeDefined();
      expect(semver.satisfies(version ?? '', declared), base).toBe(true);
    }
  });
});
