import { z } from 'zod';
import { API_VERSION, metadataSchema, type Metadata } from './common.js';
import { apiSpecSchema, type ApiSpec } from './api.js';
import { upstreamSpecSchema, type UpstreamSpec } from './upstream.js';
import { consumerSpecSchema, type ConsumerSpec } from './consumer.js';
import { certificateSpecSchema, type CertificateSpec } from './certificate.js';
import { planSpecSchema, type PlanSpec } from './plan.js';
import { protoDescriptorSpecSchema, type ProtoDescriptorSpec } from './proto-descriptor.js';
import { subscriptionSpecSchema, type SubscriptionSpec } from './subscription.js';
import { webhookSpecSchema, type WebhookSpec } from './webhook.js';
import { brokerSpecSchema, type BrokerSpec } from './broker.js';

/** A Kubernetes-style document of one of Tollgate's kinds. */
export interface ResourceOf<K extends string, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: S;
}

export type UpstreamResource = ResourceOf<'Upstream', UpstreamSpec>;
export type ApiResource = ResourceOf<'Api', ApiSpec>;
export type ConsumerResource = ResourceOf<'Consumer', ConsumerSpec>;
export type CertificateResource = ResourceOf<'Certificate', CertificateSpec>;
export type PlanResource = ResourceOf<'Plan', PlanSpec>;
export type ProtoDescriptorResource = ResourceOf<'ProtoDescriptor', ProtoDescriptorSpec>;
export type SubscriptionResource = ResourceOf<'Subscription', SubscriptionSpec>;
export type WebhookResource = ResourceOf<'Webhook', WebhookSpec>;
export type BrokerResource = ResourceOf<'Broker', BrokerSpec>;
/** Every resource kind Tollgate stores. */
export type Resource = UpstreamResource | ApiResource | ConsumerResource | CertificateResource | PlanResource | SubscriptionResource | ProtoDescriptorResource | WebhookResource | BrokerResource;
export type ResourceKind = Resource['kind'];

/**
 * The spec schema of each kind, in dependency order: a kind may only reference kinds listed
 * before it, so applying and exporting in this order never meets a dangling reference.
 */
export const KIND_SCHEMAS = {
  Upstream: upstreamSpecSchema,
  Consumer: consumerSpecSchema,
  Certificate: certificateSpecSchema,
  Plan: planSpecSchema,
  // Before Api: gRPC routes reference a descriptor.
  ProtoDescriptor: protoDescriptorSpecSchema,
  // Before Api: messaging routes reference a broker.
  Broker: brokerSpecSchema,
  Api: apiSpecSchema,
  // After Api: a subscription references a consumer, a plan and an API.
  Subscription: subscriptionSpecSchema,
  // References nothing; last so that it is applied after what raises its events.
  Webhook: webhookSpecSchema,
} as const satisfies Record<ResourceKind, z.ZodType>;

export const RESOURCE_KINDS = Object.keys(KIND_SCHEMAS) as ResourceKind[];

/** Plural path segment of each kind on the admin API (`/apis`, `/upstreams`). */
export const KIND_PLURALS: Record<ResourceKind, string> = { Upstream: 'upstreams', Consumer: 'consumers', Certificate: 'certificates', Plan: 'plans', ProtoDescriptor: 'protodescriptors', Api: 'apis', Subscription: 'subscriptions', Webhook: 'webhooks', Broker: 'brokers' };

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && Object.hasOwn(KIND_SCHEMAS, kind);
}

/** The envelope every document must have before its spec is looked at. */
export const envelopeSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { message: `apiVersion must be "${API_VERSION}"` }),
  kind: z.string(),
  metadata: metadataSchema,
  spec: z.unknown(),
});

/** Full JSON-schema-able document schema of one kind (used for the OpenAPI description). */
export function documentSchema<K extends ResourceKind>(kind: K) {
  return z.strictObject({
    apiVersion: z.literal(API_VERSION).describe('Always `tollgate.dev/v1`.'),
    kind: z.literal(kind),
    metadata: metadataSchema,
    spec: KIND_SCHEMAS[kind],
  });
}

/** `Kind/name`, the identity of a resource. */
export function resourceKey(r: { kind: string; metadata: { name: string } }): string {
  return `${r.kind}/${r.metadata.name}`;
}

/** Sorts resources by kind dependency order, then by name: a deterministic order for export and diff. */
export function sortResources<R extends { kind: string; metadata: { name: string } }>(resources: readonly R[]): R[] {
  const rank = (k: string) => {
    const i = RESOURCE_KINDS.indexOf(k as ResourceKind);
    return i === -1 ? RESOURCE_KINDS.length : i;
  };
  return [...resources].sort((a, b) => rank(a.kind) - rank(b.kind) || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}
