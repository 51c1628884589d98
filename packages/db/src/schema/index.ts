export * from './resources.js';
export * from './config-state.js';
export * from './admin-tokens.js';
export * from './api-keys.js';
export * from './audit-log.js';
export * from './usage.js';
export * from './gateway-nodes.js';
export * from './events.js';
