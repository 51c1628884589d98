export * from './normalize-path.js';
export * from './route-table.js';
export * from './safe-regex.js';
export * from './path-template.js';
export * from './conditions.js';
export * from './host.js';
export * from './path-matching.js';
