import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { apiKeyStoreContract } from './api-key-store.contract.js';
import { nodeRegistryContract } from './node-registry.contract.js';
import { oauthStoreContract } from './oauth-store.contract.js';
import { adminTokenStoreContract, configStoreContract, upstream } from './config-store.contract.js';
import type { Resource } from '@tollgate/model';
import { createPgliteStores, createPostgresStores } from './sql-stores.js';

/** Two stores on one fresh Postgres database: the one under test (with or without hand-off) and a plain peer. */
async function postgresPair(handOff: boolean) {
  const database: TestDatabase = await createTestDatabase();
  const [a, b] = await Promise.all([createPostgresStores({ url: database.url, handOff }), createPostgresStores({ url: database.url })]);
  return {
    config: a.config,
    peer: b.config,
    async destroy() {
      await Promise.all([a.close(), b.close()]);
      await database.drop();
    },
  };
}

configStoreContract('Postgres', () => postgresPair(false));

configStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { config: stores.config, peer: stores.config, destroy: () => stores.close() };
});

// The same contract with the hand-off of `start all` (the committed set goes to the next load):
// every load must still read as the database does; the peer reads everything back.
configStoreContract('Postgres (hand-off)', () => postgresPair(true));

configStoreContract('PGlite (in memory, hand-off)', async () => {
  const stores = await createPgliteStores({ handOff: true });
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

apiKeyStoreContract('Postgres', async () => {
  const database = await createTestDatabase();
  const [a, b] = await Promise.all([createPostgresStores({ url: database.url }), createPostgresStores({ url: database.url })]);
  return {
    config: a.config,
    peer: b.config,
    apiKeys: a.apiKeys,
    audit: a.audit,
    async destroy() {
      await Promise.all([a.close(), b.close()]);
      await database.drop();
    },
  };
});

apiKeyStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { config: stores.config, peer: stores.config, apiKeys: stores.apiKeys, audit: stores.audit, destroy: () => stores.close() };
});

oauthStoreContract('Postgres', async () => {
  const database = await createTestDatabase();
  const [a, b] = await Promise.all([createPostgresStores({ url: database.url }), createPostgresStores({ url: database.url })]);
  return {
    config: a.config,
    peer: b.config,
    oauthClients: a.oauthClients,
    signingKeys: a.signingKeys,
    audit: a.audit,
    async destroy() {
      await Promise.all([a.close(), b.close()]);
      await database.drop();
    },
  };
});

oauthStoreContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { config: stores.config, peer: stores.config, oauthClients: stores.oauthClients, signingKeys: stores.signingKeys, audit: stores.audit, destroy: () => stores.close() };
});

nodeRegistryContract('Postgres', async () => {
  const database = await createTestDatabase();
  const stores = await createPostgresStores({ url: database.url });
  return {
    nodes: stores.nodes,
    async destroy() {
      await stores.close();
      await database.drop();
    },
  };
});

nodeRegistryContract('PGlite (in memory)', async () => {
  const stores = await createPgliteStores();
  return { nodes: stores.nodes, destroy: () => stores.close() };
});

describe('PGlite with a data directory', () => {
  it('keeps resources, version and tokens across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-pglite-'));
    try {
      const first = await createPgliteStores({ dataDir });
      const applied = await first.config.apply([upstream('kept')], { validate: () => [] });
      await first.tokens.insert({ id: 'atk_kept', name: 'kept', role: 'admin', hash: 'f'.repeat(64) });
      const before = await first.config.load();
      await first.close();
      const second = await createPgliteStores({ dataDir });
      try {
        expect(await second.config.load()).toEqual(before);
        expect(await second.config.version()).toBe(applied.version);
        expect(await second.tokens.countActive()).toBe(1);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('change feed retention (embedded store)', () => {
  it('each feed write prunes log rows older than feedRetentionMs; a reader behind them is told to reload', async () => {
    const stores = await createPgliteStores({ feedRetentionMs: 1 });
    try {
      const accept = () => [];
      const consumer = (name: string) => ({ apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: { name, labels: {}, annotations: {} }, spec: { groups: [], keys: [], jwtSubjects: [] } }) as unknown as Resource;
      const seq0 = (await stores.config.load()).changeSeq;
      const a = await stores.config.apply([consumer('a')], { validate: accept });
      await new Promise((r) => setTimeout(r, 20));
      await stores.config.apply([consumer('b')], { validate: accept });
      expect(await stores.config.changesSince(seq0)).toMatchObject({ reload: true, resources: [] });
      expect((await stores.config.changesSince(a.seq as number)).resources.map((d) => d.name)).toEqual(['b']);
    } finally {
      await stores.close();
    }
  });
});
