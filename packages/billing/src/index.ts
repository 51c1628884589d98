export * from './money.js';
export * from './pricing.js';
export * from './proration.js';
export * from './time.js';
export * from './report.js';
export * from './render.js';
export * from './render-pdf.js';
export * from './scheduler.js';
