export * from './types.js';
export * from './compile.js';
export { deepFreeze } from './freeze.js';
