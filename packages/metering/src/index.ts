export * from './accumulator.js';
export * from './rollups.js';
export * from './live-counters.js';
export * from './flusher.js';
export * from './quota-events.js';
export * from './condition-detectors.js';
