import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { adminTokenStoreContract, configStoreContract } from './config-store.contract.js';
import { createPgliteStores, createPostgresStores } from './sql-stores.js';

configStoreContract('Postgres', async () => {
  const database: TestDatabase = await createTestDatabase();
  const [a, b] = await Promise.all([createPostgresStores({ url: database.url }), createPostgresStores({ url: database.url })]);
  return {
    config: a.config,
    peer: b.config,
    async destroy() {
      await Promise.all([a.close(), b.close()]);
      await database.drop();
    },
  };
});

configStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { config: stores.config, peer: stores.config, destroy: () => stores.close() };
});

adminTokenStoreContract('Postgres', async () => {
  const database = await createTestDatabase();
  const stores = await createPostgresStores({ url: database.url });
  return {
    tokens: stores.tokens,
    async destroy() {
      await stores.close();
      await database.drop();
    },
  };
});

adminTokenStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { tokens: stores.tokens, destroy: () => stores.close() };
});
