export * from './types.js';
export * from './compile.js';
export { deepFreeze } from './freeze.js';
export { checkUpstreamRef, compileCertificates, compileUpstream } from './compile-upstreams.js';
export { checkAggregate, compileAggregate, parseTemplate, CONSUMER_FIELDS, type CompiledAggregate, type CompiledAggregateBackend, type CompiledTemplate as CompiledValueTemplate, type TemplatePart } from './compile-aggregate.js';
export { compileProtocol, compileProtoDescriptors, jsonName, loadProto, loadProtoCached, parsePathTemplate, type CompiledGrpc, type CompiledGrpcMethod, type CompiledGrpcWeb, type CompiledHttpBinding, type CompiledPathTemplate, type CompiledProtocol, type CompiledProtoSource, type CompiledSoap, type HttpRuleSource, type LoadedProto, type SoapTemplatePart, type TemplateSegment, type TemplateVariable } from './compile-protocols.js';
export { compilePublishedSpec, PUBLISHED_SPEC_ROUTE, type CompiledPublishedSpec } from './compile-published-spec.js';
export { checkSelfTargets, isLoopbackHost, type SelfEndpoints } from './compile-self-targets.js';
