export * from './balancer.js';
export * from './errors.js';
export * from './body-limit.js';
export * from './pool-registry.js';
export * from './forward.js';
