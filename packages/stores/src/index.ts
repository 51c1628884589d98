export * from './config-store.js';
export * from './counter-store.js';
export { SqlConfigStore, CONFIG_CHANNEL, MAX_LIST_LIMIT, type ChangeNotifier } from './sql-config-store.js';
export { SqlAdminTokenStore } from './sql-admin-token-store.js';
export { PgChangeNotifier, LISTENER_APPLICATION_NAME, type BackoffOptions } from './pg-notifier.js';
export { PgliteChangeNotifier } from './pglite-notifier.js';
export { createPostgresStores, createPgliteStores, type SqlStores, type PostgresStoresOptions, type PgliteStoresOptions } from './sql-stores.js';
export { createRedisCounterStore, type RedisCounterStore, type RedisCounterStoreOptions } from './redis-counter-store.js';
export { createMemoryCounterStore, type MemoryCounterStore, type MemoryCounterStoreOptions } from './memory-counter-store.js';
