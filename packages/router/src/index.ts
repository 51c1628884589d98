export * from './normalize-path.js';
export * from './route-table.js';
