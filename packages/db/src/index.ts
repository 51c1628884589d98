export * from './schema/index.js';
export * from './client.js';
export * from './migrate.js';
export * from './session.js';
export * from './outbox.js';
export * from './paced-pglite.js';
export * from './event-retention.js';
export * from './webhook-lock.js';
