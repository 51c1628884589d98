export * from './types.js';
export * from './compile.js';
export { deepFreeze } from './freeze.js';
export { checkSubset, compileCertificates, compileUpstream } from './compile-upstreams.js';
