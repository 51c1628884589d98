import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const apps = new Set(['gateway', 'admin', 'cli']);

/** Unit tests import workspace packages from source, so they never test a stale build. */
const workspaceSource: Plugin = {
  name: 'tollgate-workspace-source',
  enforce: 'pre',
  resolveId(id) {
    // `@tollgate/<pkg>` and its subpath exports (`@tollgate/policies/definitions`).
    const m = /^@tollgate\/([a-z-]+)(?:\/([a-z-]+))?$/.exec(id);
    if (!m?.[1]) return null;
    return `${root}${apps.has(m[1]) ? 'apps' : 'packages'}/${m[1]}/src/${m[2] ?? 'index'}.ts`;
  },
};

export default defineConfig({
  plugins: [workspaceSource],
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    // A beforeAll that starts an embedded Tollgate may wait 60 s for it (test/support/tollgate-process.ts).
    hookTimeout: 120_000,
    pool: 'forks',
    // Most test files wait on real processes (gateways, admins, Postgres, Redis), not on the CPU:
    // vitest's default of CPUs - 1 ran them one at a time on a 2-core CI machine (about 13 min for
    // 1,800 tests); three at a time took the whole suite of 2,150 tests to about 8 min there.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
