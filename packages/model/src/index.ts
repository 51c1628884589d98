export * from './issues.js';
export * from './common.js';
export * from './upstream.js';
export * from './api.js';
export * from './resources.js';
export * from './parse.js';
export * from './serialize.js';
export * from './reference-docs.js';
