export * from './context.js';
export * from './backends.js';
export * from './import.js';
export * from './export.js';
export * from './openapi/index.js';
