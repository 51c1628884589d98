import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const apps = new Set(['gateway', 'admin', 'cli']);

export default defineConfig({
  resolve: {
    // Unit tests import workspace packages from source, so they never test a stale build.
    alias: [
      {
        find: /^@tollgate\/([a-z-]+)$/,
        replacement: '$1',
        customResolver(id) {
          return `${root}${apps.has(id) ? 'apps' : 'packages'}/${id}/src/index.ts`;
        },
      },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
