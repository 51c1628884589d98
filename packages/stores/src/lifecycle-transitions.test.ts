import { describe, expect, it } from 'vitest';
import { parseResourcesYaml, type Resource } from '@tollgate/model';
import { createTestDatabase } from '../../../test/support/databases.js';
import { ApplyRejectedError, type ConfigStore } from './config-store.js';
import { createPgliteStores, createPostgresStores } from './sql-stores.js';

function api(lifecycle: string): Resource {
  const r = parseResourcesYaml(`apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: orders }\nspec:\n  ${lifecycle}\n  routes: [{ name: r, directResponse: { status: 200 } }]\n`);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.resources[0] as Resource;
}

const validate = () => [];

async function lifecycleOf(store: ConfigStore): Promise<Record<string, unknown> | undefined> {
  return ((await store.get('Api', 'orders'))?.resource.spec as { lifecycle?: Record<string, unknown> }).lifecycle;
}

// The store checks and records lifecycle transitions inside the apply transaction, whichever
// way an Api arrives; both implementations behave alike.
for (const [name, make] of [
  ['PGlite', async () => createPgliteStores()],
  [
    'Postgres',
    async () => {
      const db = await createTestDatabase();
      const stores = await createPostgresStores({ url: db.url });
      return { ...stores, close: async () => (await stores.close(), await db.drop()) };
    },
  ],
] as const) {
  describe(`lifecycle transitions in the ${name} config store`, () => {
    it('timestamps transitions, keeps the block when a document omits it, refuses leaving retired', async () => {
      const stores = await make();
      try {
        const store = stores.config;
        await store.apply([api('lifecycle: { state: draft }')], { validate });
        expect(await lifecycleOf(store)).toEqual({ state: 'draft', autoRetire: false, previewConsumers: [], appliedState: 'draft' });

        await store.apply([api('lifecycle: { state: published }')], { validate });
        await store.apply([api('lifecycle: { state: deprecated }')], { validate });
        const l = (await lifecycleOf(store)) as { deprecatedAt: string; transitionedAt: string; history: Array<{ from: string; to: string; at: string }> };
        expect(l.history.map((h) => `${h.from}->${h.to}`)).toEqual(['draft->published', 'published->deprecated']);
        expect(l.transitionedAt).toBe(l.history[1]?.at);
        expect(l.deprecatedAt).toBe(l.transitionedAt);

        // Without a lifecycle block: unchanged, still deprecated.
        const same = await store.apply([api('basePath: /')], { validate });
        expect(same.changes[0]?.action).toBe('unchanged');

        await store.apply([api('lifecycle: { state: retired }')], { validate });
        const refused = store.apply([api('lifecycle: { state: published }')], { validate, dryRun: true });
        await expect(refused).rejects.toBeInstanceOf(ApplyRejectedError);
        await expect(refused).rejects.toMatchObject({ issues: [{ code: 'invalid_transition', resource: 'Api/orders', path: 'spec.lifecycle.state' }] });
        expect((await lifecycleOf(store))?.state).toBe('retired');
      } finally {
        await stores.close();
      }
    });
  });
}
