import { browserSessions, type Database } from '@tollgate/db';
import { createTestDatabase } from '../../../test/support/databases.js';
import { sessionStoreContract } from './session-store.contract.js';
import { MemorySessionStore } from './session-store.js';
import { createPgliteStores, createPostgresStores } from './sql-stores.js';
import { SqlSessionStore } from './sql-session-store.js';

function sqlHarness(db: Database) {
  return { console: new SqlSessionStore(db, 'console'), portal: new SqlSessionStore(db, 'portal'), clear: async () => void (await db.delete(browserSessions)) };
}

sessionStoreContract('memory', async () => {
  let h = { console: new MemorySessionStore(), portal: new MemorySessionStore() };
  return {
    get console() {
      return h.console;
    },
    get portal() {
      return h.portal;
    },
    clear: async () => void (h = { console: new MemorySessionStore(), portal: new MemorySessionStore() }),
    destroy: async () => {},
  };
});

sessionStoreContract('Postgres', async () => {
  const database = await createTestDatabase();
  const stores = await createPostgresStores({ url: database.url });
  return {
    ...sqlHarness(stores.db),
    async destroy() {
      await stores.close();
      await database.drop();
    },
  };
});

sessionStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { ...sqlHarness(stores.db), destroy: () => stores.close() };
});
