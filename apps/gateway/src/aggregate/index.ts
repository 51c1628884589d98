export { AGGREGATE_ERRORS, buildAggregate, MISSING_HEADER, PARTIAL_HEADER, runAggregate, type AggregateRequest, type RuntimeAggregate, type RuntimeAggregateBackend } from './run.js';
