export * from './types.js';
export * from './registry.js';
export * from './runner.js';
export { ipRestriction } from './ip-restriction/index.js';
export { ipRestrictionSchema, parseIpOrCidr, type IpRestrictionConfig } from './ip-restriction/schema.js';
