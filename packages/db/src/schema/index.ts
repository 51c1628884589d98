export * from './resources.js';
export * from './config-state.js';
export * from './admin-tokens.js';
