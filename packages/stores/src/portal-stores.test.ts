import { createTestDatabase } from '../../../test/support/databases.js';
import { portalAccountStoreContract } from './portal-account-store.contract.js';
import { createPgliteStores, createPostgresStores } from './sql-stores.js';

portalAccountStoreContract('Postgres', async () => {
  const database = await createTestDatabase();
  const stores = await createPostgresStores({ url: database.url });
  return {
    portal: stores.portal,
    async destroy() {
      await stores.close();
      await database.drop();
    },
  };
});

portalAccountStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { portal: stores.portal, destroy: () => stores.close() };
});
