import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, BASELINE, expectRefusal, startBadInputWorld, type BadCase, type BadInputWorld } from './bad-input-harness.js';

/**
 * Bad input on the admin API's newer endpoints (brokers, webhooks, portal accounts, OAuth clients,
 * certificates, proto descriptors, upstream health, bulk keys, lifecycle, OpenAPI import, analytics,
 * usage, billing reports, audit log, admin tokens, cache, nodes, subscriptions, plans, consumers):
 * every refusal is an RFC 9457 problem with a stable code (never a 500, a stack or a driver's
 * message), and a refused write changes nothing.
 */

const long = (n: number) => 'a'.repeat(n);
const doc = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'tollgate.dev/v1', kind, metadata: { name }, spec });
const get = (what: string, url: string, status: number, code: string, path?: string): BadCase => ({ what, method: 'GET', url, status, code, ...(path !== undefined ? { path } : {}) });

/**
 * Malformed ids in the path: over-long, encoded slashes, bytes that are not UTF-8, NUL. (Dot
 * segments are sent over a socket below: inject resolves them as a URL parser does.)
 */
function pathCases(prefix: string, suffix = '', method: BadCase['method'] = 'GET'): BadCase[] {
  return [
    { what: 'over-long id', method, url: `${prefix}/${long(300)}${suffix}`, status: 400, code: 'INVALID_REQUEST' },
    { what: 'encoded slash', method, url: `${prefix}/a%2Fb${suffix}`, status: 400, code: 'INVALID_REQUEST' },
    { what: 'not UTF-8', method, url: `${prefix}/%FF${suffix}`, status: 400, code: 'INVALID_REQUEST' },
    { what: 'bad escape', method, url: `${prefix}/%zz${suffix}`, status: 400, code: 'INVALID_REQUEST' },
    { what: 'NUL', method, url: `${prefix}/a%00b${suffix}`, status: 400, code: 'INVALID_REQUEST' },
  ];
}

/** Reads with bad query strings or path ids: nothing to leave unchanged. */
const READS: BadCase[] = [
  // The per-kind resource endpoints share one implementation; every newer kind is exercised.
  ...['brokers', 'webhooks', 'certificates', 'protodescriptors', 'subscriptions', 'plans', 'consumers'].flatMap((plural) => [
    get('negative limit', `/${plural}?limit=-1`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('zero limit', `/${plural}?limit=0`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('huge limit', `/${plural}?limit=99999999999999999999999`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('non-numeric limit', `/${plural}?limit=ten`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('fractional limit', `/${plural}?limit=1.5`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('repeated limit', `/${plural}?limit=1&limit=2`, 400, 'INVALID_REQUEST', 'querystring.limit'),
    get('unknown query key', `/${plural}?colour=red`, 400, 'INVALID_REQUEST'),
    get('bad cursor', `/${plural}?after=NOT%20A%20NAME`, 400, 'INVALID_REQUEST', 'querystring.after'),
    get('empty search', `/${plural}?q=`, 400, 'INVALID_REQUEST', 'querystring.q'),
    get('over-long search', `/${plural}?q=${long(300)}`, 400, 'INVALID_REQUEST', 'querystring.q'),
    get('missing one', `/${plural}/no-such-thing`, 404, 'NOT_FOUND'),
    ...pathCases(`/${plural}`),
  ]),
  // Webhook deliveries
  get('deliveries: unknown status', '/webhooks/hook/deliveries?status=lost', 400, 'INVALID_REQUEST', 'querystring.status'),
  get('deliveries: negative limit', '/webhooks/hook/deliveries?limit=-5', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('deliveries: limit over 500', '/webhooks/hook/deliveries?limit=501', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('deliveries: non-numeric cursor', '/webhooks/hook/deliveries?before=abc', 400, 'INVALID_REQUEST', 'querystring.before'),
  get('deliveries: negative cursor', '/webhooks/hook/deliveries?before=-1', 400, 'INVALID_REQUEST', 'querystring.before'),
  get('deliveries: cursor beyond bigint', '/webhooks/hook/deliveries?before=99999999999999999999999', 400, 'INVALID_REQUEST', 'querystring.before'),
  get('deliveries: unknown key', '/webhooks/hook/deliveries?page=2', 400, 'INVALID_REQUEST'),
  get('deliveries: missing webhook', '/webhooks/no-such-hook/deliveries', 404, 'NOT_FOUND'),
  ...pathCases('/webhooks', '/deliveries'),
  // Consumers' OAuth clients
  get('oauth clients: missing consumer', '/consumers/nobody/oauth-clients', 404, 'NOT_FOUND'),
  ...pathCases('/consumers', '/oauth-clients'),
  // Portal approval queue
  get('portal accounts: unknown status', '/portal/accounts?status=sleeping', 400, 'INVALID_REQUEST', 'querystring.status'),
  get('portal accounts: unknown key', '/portal/accounts?sort=email', 400, 'INVALID_REQUEST'),
  get('subscription requests: unknown status', '/portal/subscription-requests?status=maybe', 400, 'INVALID_REQUEST', 'querystring.status'),
  // Analytics and usage
  ...['/analytics/requests', '/usage'].flatMap((base) => [
    get('from not a time', `${base}?from=yesterday`, 400, 'INVALID_REQUEST', 'querystring.from'),
    get('to not a time', `${base}?to=2026-13-45T99:00:00Z`, 400, 'INVALID_REQUEST', 'querystring.to'),
    get('from after to', `${base}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 400, 'INVALID_REQUEST', 'querystring.from'),
    get('empty range', `${base}?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 400, 'INVALID_REQUEST', 'querystring.from'),
    get('range too long', `${base}?granularity=hour&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, 400, 'INVALID_REQUEST', 'querystring.to'),
    get('unknown granularity', `${base}?granularity=week`, 400, 'INVALID_REQUEST', 'querystring.granularity'),
    get('bad api name', `${base}?api=Bad_Name`, 400, 'INVALID_REQUEST', 'querystring.api'),
    get('bad consumer name', `${base}?consumer=${long(300)}`, 400, 'INVALID_REQUEST', 'querystring.consumer'),
    get('unknown key', `${base}?colour=red`, 400, 'INVALID_REQUEST'),
    get('repeated from', `${base}?from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z`, 400, 'INVALID_REQUEST', 'querystring.from'),
  ]),
  get('analytics: unknown groupBy', '/analytics/requests?groupBy=colour', 400, 'INVALID_REQUEST', 'querystring.groupBy'),
  // Billing reports
  get('billing: no month', '/reports/billing', 400, 'INVALID_REQUEST', 'querystring.month'),
  get('billing: month 13', '/reports/billing?month=2026-13', 400, 'INVALID_REQUEST', 'querystring.month'),
  get('billing: month as words', '/reports/billing?month=november', 400, 'INVALID_REQUEST', 'querystring.month'),
  get('billing: unknown format', '/reports/billing?month=2026-01&format=xlsx', 400, 'INVALID_REQUEST', 'querystring.format'),
  get('billing: bad consumer', '/reports/billing?month=2026-01&consumer=..', 400, 'INVALID_REQUEST', 'querystring.consumer'),
  get('billing: unknown consumer', '/reports/billing?month=2026-01&consumer=nobody', 404, 'NOT_FOUND'),
  // Audit log
  get('audit: negative limit', '/audit-log?limit=-1', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('audit: limit over the page size', '/audit-log?limit=100000', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('audit: non-numeric cursor', '/audit-log?after=abc', 400, 'INVALID_REQUEST', 'querystring.after'),
  get('audit: zero cursor', '/audit-log?after=0', 400, 'INVALID_REQUEST', 'querystring.after'),
  get('audit: cursor beyond bigint', '/audit-log?after=99999999999999999999', 400, 'INVALID_REQUEST', 'querystring.after'),
  get('audit: bad resource filter', '/audit-log?resource=Consumer/a/b', 400, 'INVALID_REQUEST', 'querystring.resource'),
  get('audit: from not a time', '/audit-log?from=now', 400, 'INVALID_REQUEST', 'querystring.from'),
  get('audit: over-long actor', `/audit-log?actor=${long(200)}`, 400, 'INVALID_REQUEST', 'querystring.actor'),
  get('audit: unknown key', '/audit-log?who=me', 400, 'INVALID_REQUEST'),
  get('audit: NUL in the action', '/audit-log?action=a%00b', 400, 'INVALID_REQUEST', 'querystring'),
  get('audit: NUL in the actor', '/audit-log?actor=%00', 400, 'INVALID_REQUEST', 'querystring'),
  get('audit: NUL in the resource name', '/audit-log?resource=Consumer/a%00', 400, 'INVALID_REQUEST', 'querystring'),
  // Nodes
  get('nodes: zero limit', '/nodes?limit=0', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('nodes: non-numeric limit', '/nodes?limit=all', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('nodes: limit over 1000', '/nodes?limit=1001', 400, 'INVALID_REQUEST', 'querystring.limit'),
  get('nodes: unknown key', '/nodes?status=up', 400, 'INVALID_REQUEST'),
  get('upstream health: unknown key', '/upstream-health?upstream=svc', 400, 'INVALID_REQUEST'),
  get('admin tokens: unknown key', '/admin-tokens?role=admin', 400, 'INVALID_REQUEST'),
];

/** A valid document of each per-kind endpoint: the base of the bad bodies below. */
const VALID: Record<string, { kind: string; spec: unknown; existing: string }> = {
  brokers: { kind: 'Broker', spec: { type: 'nats', servers: ['nats://127.0.0.1'] }, existing: 'nats' },
  webhooks: { kind: 'Webhook', spec: { url: 'https://hooks.example.com/y', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['*'] }, existing: 'hook' },
  plans: { kind: 'Plan', spec: { limits: [{ limit: 5, window: '1m' }] }, existing: 'basic' },
  consumers: { kind: 'Consumer', spec: {}, existing: 'acme' },
  subscriptions: { kind: 'Subscription', spec: { consumer: 'acme', plan: 'basic', start: '2026-02-01T00:00:00Z', api: 'shop' }, existing: 'acme-basic' },
};

/** Bad bodies on create (POST) and replace (PUT) of every per-kind endpoint. */
const KIND_WRITES: BadCase[] = Object.entries(VALID).flatMap(([plural, { kind, spec, existing }]) => [
  { what: 'invalid JSON', method: 'POST', url: `/${plural}`, payload: '{"metadata": ', status: 400, code: 'INVALID_BODY' },
  { what: 'empty JSON body', method: 'POST', url: `/${plural}`, payload: '', status: 400, code: 'INVALID_BODY' },
  { what: 'no body at all', method: 'POST', url: `/${plural}`, contentType: null, status: 400, code: 'INVALID_BODY' },
  { what: 'text/plain', method: 'POST', url: `/${plural}`, payload: 'name: x', contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'form encoded', method: 'POST', url: `/${plural}`, payload: 'name=x', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'JSON null', method: 'POST', url: `/${plural}`, payload: 'null', status: 400, code: 'INVALID_BODY' },
  { what: 'JSON with a UTF-16 charset', method: 'POST', url: `/${plural}`, payload: '{}', contentType: 'application/json; charset=utf-16', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'JSON in ISO-8859-1', method: 'POST', url: `/${plural}`, payload: Buffer.from(JSON.stringify({ metadata: { name: 'latin', annotations: { note: 'café' } }, spec }), 'latin1'), status: 400, code: 'INVALID_BODY' },
  { what: 'JSON declared ISO-8859-1', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'latin' }, spec }, contentType: 'application/json; charset=ISO-8859-1', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'YAML in ISO-8859-1', method: 'POST', url: `/${plural}`, payload: Buffer.from(`metadata: { name: latin, annotations: { note: café } }\nspec: ${JSON.stringify(spec)}\n`, 'latin1'), contentType: 'application/yaml', status: 400, code: 'INVALID_BODY' },
  { what: 'a JSON look-alike type', method: 'POST', url: `/${plural}`, payload: '{}', contentType: 'application/jsonx', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'a malformed content type', method: 'POST', url: `/${plural}`, payload: '{}', contentType: ';;', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'JSON string', method: 'POST', url: `/${plural}`, payload: '"plan"', status: 422, code: 'INVALID_CONFIG' },
  { what: 'JSON number', method: 'POST', url: `/${plural}`, payload: '42', status: 422, code: 'INVALID_CONFIG' },
  { what: 'two documents', method: 'POST', url: `/${plural}`, payload: [doc(kind, 'one', spec), doc(kind, 'two', spec)], status: 400, code: 'INVALID_BODY' },
  { what: 'empty array', method: 'POST', url: `/${plural}`, payload: [], status: 400, code: 'INVALID_BODY' },
  { what: 'duplicate JSON key', method: 'POST', url: `/${plural}`, payload: `{"metadata":{"name":"x"},"metadata":{"name":"y"},"spec":${JSON.stringify(spec)}}`, status: 400, code: 'INVALID_BODY' },
  { what: 'name of wrong type', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 7 }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'metadata.name' },
  { what: 'missing metadata', method: 'POST', url: `/${plural}`, payload: { spec }, status: 422, code: 'INVALID_CONFIG', path: 'metadata' },
  { what: 'missing spec', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'x' } }, status: 422, code: 'INVALID_CONFIG', path: 'spec' },
  { what: 'spec of wrong type', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'x' }, spec: 'yes' }, status: 422, code: 'INVALID_CONFIG', path: 'spec' },
  { what: 'unknown spec field', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'x' }, spec: { ...(spec as object), bogus: 1 } }, status: 422, code: 'INVALID_CONFIG', path: 'spec.bogus' },
  { what: 'unknown top-level field', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'x' }, spec, extra: true }, status: 422, code: 'INVALID_CONFIG' },
  { what: 'over-long name', method: 'POST', url: `/${plural}`, payload: { metadata: { name: long(300) }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'metadata.name' },
  { what: 'name with a slash', method: 'POST', url: `/${plural}`, payload: { metadata: { name: 'a/b' }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'metadata.name' },
  { what: 'wrong kind', method: 'POST', url: `/${plural}`, payload: { kind: 'Api', metadata: { name: 'x' }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'kind' },
  { what: 'wrong apiVersion', method: 'POST', url: `/${plural}`, payload: { apiVersion: 'tollgate.dev/v9', metadata: { name: 'x' }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'apiVersion' },
  { what: 'duplicate name', method: 'POST', url: `/${plural}`, payload: { metadata: { name: existing }, spec }, status: 409, code: 'ALREADY_EXISTS' },
  { what: 'deeply nested body', method: 'POST', url: `/${plural}`, payload: `${'['.repeat(5000)}${']'.repeat(5000)}`, status: 400, code: 'INVALID_BODY' },
  { what: 'PUT name mismatch', method: 'PUT', url: `/${plural}/other`, payload: { metadata: { name: 'x' }, spec }, status: 422, code: 'INVALID_CONFIG', path: 'metadata.name' },
  { what: 'PUT invalid JSON', method: 'PUT', url: `/${plural}/${existing}`, payload: '{', status: 400, code: 'INVALID_BODY' },
  { what: 'PUT wrong type', method: 'PUT', url: `/${plural}/${existing}`, payload: { metadata: { name: existing }, spec: [] }, status: 422, code: 'INVALID_CONFIG', path: 'spec' },
  { what: 'PUT over-long id', method: 'PUT', url: `/${plural}/${long(300)}`, payload: { metadata: { name: 'x' }, spec }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'PUT not-UTF-8 id', method: 'PUT', url: `/${plural}/%FF`, payload: { metadata: { name: 'x' }, spec }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'DELETE missing', method: 'DELETE', url: `/${plural}/no-such-thing`, status: 404, code: 'NOT_FOUND' },
  ...pathCases(`/${plural}`, '', 'DELETE'),
]);

/** Bad bodies and references on the other newer write endpoints. */
const OTHER_WRITES: BadCase[] = [
  // References to things that do not exist, invalid enums, and references still in use
  { what: 'subscription to a missing plan', method: 'POST', url: '/subscriptions', payload: doc('Subscription', 's2', { consumer: 'acme', plan: 'gold', start: '2026-01-01T00:00:00Z' }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'subscription of a missing consumer', method: 'POST', url: '/subscriptions', payload: doc('Subscription', 's3', { consumer: 'ghost', plan: 'basic', start: '2026-01-01T00:00:00Z' }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'subscription with a bad start', method: 'POST', url: '/subscriptions', payload: doc('Subscription', 's4', { consumer: 'acme', plan: 'basic', start: 'tomorrow' }), status: 422, code: 'INVALID_CONFIG', path: 'spec.start' },
  { what: 'broker of an unknown type', method: 'POST', url: '/brokers', payload: doc('Broker', 'b2', { type: 'kafka', servers: ['kafka://x'] }), status: 422, code: 'INVALID_CONFIG', path: 'spec.type' },
  { what: 'broker with too many servers', method: 'POST', url: '/brokers', payload: doc('Broker', 'b3', { type: 'nats', servers: Array.from({ length: 1000 }, (_, i) => `nats://10.0.${i >> 8}.${i & 255}`) }), status: 422, code: 'INVALID_CONFIG', path: 'spec.servers' },
  { what: 'webhook with a non-URL', method: 'POST', url: '/webhooks', payload: doc('Webhook', 'w2', { url: 'not a url', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['*'] }), status: 422, code: 'INVALID_CONFIG', path: 'spec.url' },
  { what: 'webhook with an unknown event', method: 'POST', url: '/webhooks', payload: doc('Webhook', 'w3', { url: 'https://h.example.com/', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['nothing.happened'] }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'plan with a negative limit', method: 'POST', url: '/plans', payload: doc('Plan', 'p2', { limits: [{ limit: -1, window: '1m' }] }), status: 422, code: 'INVALID_CONFIG', path: 'spec.limits[0].limit' },
  { what: 'plan with a bad window', method: 'POST', url: '/plans', payload: doc('Plan', 'p3', { limits: [{ limit: 1, window: 'forever' }] }), status: 422, code: 'INVALID_CONFIG', path: 'spec.limits[0].window' },
  { what: 'consumer with an over-long metadata value', method: 'POST', url: '/consumers', payload: doc('Consumer', 'c2', { scopes: [long(200)] }), status: 422, code: 'INVALID_CONFIG', path: 'spec.scopes[0]' },
  { what: 'certificate that is not PEM', method: 'POST', url: '/certificates', payload: doc('Certificate', 'cert', { certificate: 'hello', privateKey: 'world' }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'certificate without a key', method: 'POST', url: '/certificates', payload: doc('Certificate', 'cert', {}), status: 422, code: 'INVALID_CONFIG' },
  { what: 'proto descriptor that does not parse', method: 'POST', url: '/protodescriptors', payload: doc('ProtoDescriptor', 'pd', { files: { 'a.proto': 'syntax = "proto3"; message {' } }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'proto descriptor of wrong type', method: 'POST', url: '/protodescriptors', payload: doc('ProtoDescriptor', 'pd', { files: ['a.proto'] }), status: 422, code: 'INVALID_CONFIG' },
  { what: 'delete a plan a subscription uses', method: 'DELETE', url: '/plans/basic', status: 409, code: 'REFERENCED' },
  { what: 'delete a consumer a subscription uses', method: 'DELETE', url: '/consumers/acme', status: 409, code: 'REFERENCED' },
  // NUL characters: PostgreSQL stores none in text or jsonb; refused where the body is parsed, never reaching the driver
  { what: 'consumer metadata with NUL', method: 'POST', url: '/consumers', payload: doc('Consumer', 'c3', { metadata: { team: 'a\u0000b' } }), status: 400, code: 'INVALID_BODY', path: 'spec.metadata.team' },
  { what: 'plan annotation with NUL', method: 'POST', url: '/plans', payload: { metadata: { name: 'p4', annotations: { note: '\u0000' } }, spec: { limits: [] } }, status: 400, code: 'INVALID_BODY', path: 'metadata.annotations.note' },
  { what: 'NUL in a key of a map', method: 'POST', url: '/consumers', payload: doc('Consumer', 'c4', { metadata: { 'a\u0000': 'b' } }), status: 400, code: 'INVALID_BODY', path: 'spec.metadata.a\u0000' },
  { what: 'consumer in YAML with a NUL escape', method: 'POST', url: '/consumers', payload: 'metadata:\n  name: c5\nspec:\n  metadata:\n    team: "a\\0b"\n', contentType: 'application/yaml', status: 400, code: 'INVALID_BODY', path: 'spec.metadata.team' },
  { what: 'webhook in YAML with a NUL in a header name', method: 'PUT', url: '/webhooks/hook', payload: 'metadata: { name: hook }\nspec:\n  url: https://hooks.example.com/x\n  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n  events: ["*"]\n  headers: { "x-\\0": v }\n', contentType: 'application/yaml', status: 400, code: 'INVALID_BODY' },
  { what: 'lifecycle link with NUL', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', link: 'https://x.example/\u0000' }, status: 400, code: 'INVALID_BODY', path: 'link' },
  { what: 'token name with NUL', method: 'POST', url: '/admin-tokens', payload: { name: 'ci\u0000', role: 'viewer' }, status: 400, code: 'INVALID_BODY', path: 'name' },
  { what: 'oauth client name with NUL', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { name: 'x\u0000y' }, status: 400, code: 'INVALID_BODY', path: 'name' },
  { what: 'bulk key name with NUL', method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme', name: '\u0000' }] }, status: 400, code: 'INVALID_BODY', path: 'items[0].name' },
  { what: 'invitation address with NUL', method: 'POST', url: '/portal/invitations', payload: { email: 'a\u0000b@example.com' }, status: 400, code: 'INVALID_BODY', path: 'email' },
  { what: 'import option with NUL', method: 'POST', url: '/apis/import', payload: { document: { openapi: '3.1.0', info: { title: 'T', version: '1' }, servers: [{ url: 'http://127.0.0.1:9/t' }], paths: {} }, options: { name: 'a\u0000' } }, status: 400, code: 'INVALID_BODY', path: 'options.name' },
  { what: 'import YAML with a NUL escape', method: 'POST', url: '/apis/import', payload: 'openapi: 3.1.0\ninfo: { title: T, version: "1", description: "a\\0" }\nservers: [{ url: "http://127.0.0.1:9/t" }]\npaths: {}\n', contentType: 'application/yaml', status: 422, code: 'INVALID_CONFIG', path: '' },
  // Webhook delivery actions
  { what: 'redeliver on a missing webhook', method: 'POST', url: '/webhooks/ghost/deliveries/msg_1/redeliver', status: 404, code: 'NOT_FOUND' },
  { what: 'redeliver a missing delivery', method: 'POST', url: '/webhooks/hook/deliveries/msg_nope/redeliver', status: 404, code: 'NOT_FOUND' },
  { what: 'redeliver an over-long delivery id', method: 'POST', url: `/webhooks/hook/deliveries/${long(300)}/redeliver`, status: 400, code: 'INVALID_REQUEST' },
  { what: 'redeliver a not-UTF-8 delivery id', method: 'POST', url: '/webhooks/hook/deliveries/%FF/redeliver', status: 400, code: 'INVALID_REQUEST' },
  { what: 'redeliver with a bad webhook name', method: 'POST', url: '/webhooks/Bad_Name/deliveries/msg_1/redeliver', status: 400, code: 'INVALID_REQUEST', path: 'params.name' },
  { what: 'test a missing webhook', method: 'POST', url: '/webhooks/ghost/test', status: 404, code: 'NOT_FOUND' },
  ...pathCases('/webhooks', '/test', 'POST'),
  // OAuth clients
  { what: 'oauth: scopes not an array', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { scopes: 'read' }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes' },
  { what: 'oauth: name of wrong type', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { name: 5 }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'oauth: over-long name', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { name: long(65) }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'oauth: too many scopes', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { scopes: Array.from({ length: 300 }, (_, i) => `s${i}`) }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes' },
  { what: 'oauth: scope with a space', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { scopes: ['a b'] }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes.0' },
  { what: 'oauth: scope the consumer lacks', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { scopes: ['admin'] }, status: 400, code: 'INVALID_REQUEST', path: 'body.scopes' },
  { what: 'oauth: unknown field', method: 'POST', url: '/consumers/acme/oauth-clients', payload: { secret: 'mine' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'oauth: body an array', method: 'POST', url: '/consumers/acme/oauth-clients', payload: [], status: 400, code: 'INVALID_REQUEST' },
  { what: 'oauth: invalid JSON', method: 'POST', url: '/consumers/acme/oauth-clients', payload: '{"name"', status: 400, code: 'INVALID_BODY' },
  { what: 'oauth: YAML body', method: 'POST', url: '/consumers/acme/oauth-clients', payload: 'name: x\n', contentType: 'application/yaml', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'oauth: missing consumer', method: 'POST', url: '/consumers/ghost/oauth-clients', payload: {}, status: 404, code: 'NOT_FOUND' },
  { what: 'oauth: revoke a bad id', method: 'DELETE', url: '/consumers/acme/oauth-clients/123', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'oauth: revoke a missing client', method: 'DELETE', url: '/consumers/acme/oauth-clients/ocl_0123456789abcdef', status: 404, code: 'NOT_FOUND' },
  { what: 'oauth: revoke of a missing consumer', method: 'DELETE', url: '/consumers/ghost/oauth-clients/ocl_0123456789abcdef', status: 404, code: 'NOT_FOUND' },
  ...pathCases('/consumers/acme/oauth-clients', '', 'DELETE'),
  // Bulk keys
  { what: 'bulk: no items', method: 'POST', url: '/keys/bulk', payload: { items: [] }, status: 400, code: 'INVALID_REQUEST', path: 'body.items' },
  { what: 'bulk: items not an array', method: 'POST', url: '/keys/bulk', payload: { items: { consumer: 'acme' } }, status: 400, code: 'INVALID_REQUEST', path: 'body.items' },
  { what: 'bulk: too many items', method: 'POST', url: '/keys/bulk', payload: { items: Array.from({ length: 1001 }, () => ({ consumer: 'acme' })) }, status: 400, code: 'INVALID_REQUEST', path: 'body.items' },
  { what: 'bulk: missing consumer field', method: 'POST', url: '/keys/bulk', payload: { items: [{ name: 'k' }] }, status: 400, code: 'INVALID_REQUEST', path: 'body.items.0.consumer' },
  { what: 'bulk: bad expiry', method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme', expiresAt: 'soon' }] }, status: 400, code: 'INVALID_REQUEST', path: 'body.items.0.expiresAt' },
  { what: 'bulk: expiry in the past', method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme', expiresAt: '2001-01-01T00:00:00Z' }] }, status: 400, code: 'INVALID_REQUEST', path: 'body.items.0.expiresAt' },
  { what: 'bulk: unknown item field', method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme', key: 'tg_mine' }] }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'bulk: unknown consumer, nothing created', method: 'POST', url: '/keys/bulk', payload: { items: [{ consumer: 'acme' }, { consumer: 'ghost' }] }, status: 422, code: 'UNKNOWN_CONSUMER', path: 'body.items.1.consumer' },
  { what: 'bulk: empty body', method: 'POST', url: '/keys/bulk', payload: '', status: 400, code: 'INVALID_BODY' },
  { what: 'bulk: no body', method: 'POST', url: '/keys/bulk', contentType: null, status: 400, code: 'INVALID_REQUEST', path: 'body.items' },
  { what: 'bulk: text/plain', method: 'POST', url: '/keys/bulk', payload: 'acme', contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  // API lifecycle
  { what: 'lifecycle: unknown state', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'archived' }, status: 400, code: 'INVALID_REQUEST', path: 'body.state' },
  { what: 'lifecycle: no state', method: 'POST', url: '/apis/shop/lifecycle', payload: {}, status: 400, code: 'INVALID_REQUEST', path: 'body.state' },
  { what: 'lifecycle: no body', method: 'POST', url: '/apis/shop/lifecycle', contentType: null, status: 400, code: 'INVALID_REQUEST', path: 'body.state' },
  { what: 'lifecycle: bad sunset', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', sunsetAt: 'later' }, status: 400, code: 'INVALID_REQUEST', path: 'body.sunsetAt' },
  { what: 'lifecycle: autoRetire of wrong type', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', autoRetire: 'yes' }, status: 400, code: 'INVALID_REQUEST', path: 'body.autoRetire' },
  { what: 'lifecycle: unknown field', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', reason: 'old' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'lifecycle: missing api', method: 'POST', url: '/apis/ghost/lifecycle', payload: { state: 'deprecated' }, status: 404, code: 'NOT_FOUND' },
  { what: 'lifecycle: missing successor', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', successor: 'ghost' }, status: 422, code: 'INVALID_CONFIG' },
  { what: 'lifecycle: sunset before deprecation', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'deprecated', deprecatedAt: '2026-06-01T00:00:00Z', sunsetAt: '2026-01-01T00:00:00Z' }, status: 422, code: 'INVALID_CONFIG' },
  { what: 'lifecycle: not allowed published -> draft', method: 'POST', url: '/apis/shop/lifecycle', payload: { state: 'draft' }, status: 409, code: 'INVALID_TRANSITION' },
  { what: 'lifecycle: YAML body', method: 'POST', url: '/apis/shop/lifecycle', payload: 'state: deprecated\n', contentType: 'application/yaml', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  ...pathCases('/apis', '/lifecycle', 'POST'),
  // OpenAPI import
  { what: 'import: invalid JSON', method: 'POST', url: '/apis/import', payload: '{"openapi": ', status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: invalid YAML', method: 'POST', url: '/apis/import', payload: 'openapi: [', contentType: 'application/yaml', status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: empty body', method: 'POST', url: '/apis/import', payload: '', status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: no body', method: 'POST', url: '/apis/import', contentType: null, status: 400, code: 'INVALID_BODY' },
  { what: 'import: JSON in ISO-8859-1', method: 'POST', url: '/apis/import', payload: Buffer.from('{"openapi":"3.1.0","info":{"title":"Café","version":"1"},"paths":{}}', 'latin1'), status: 400, code: 'INVALID_BODY' },
  { what: 'import: declared UTF-16', method: 'POST', url: '/apis/import', payload: '{}', contentType: 'application/json; charset=utf-16', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'import: text/plain', method: 'POST', url: '/apis/import', payload: 'openapi: 3.1.0', contentType: 'text/plain', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { what: 'import: not OpenAPI', method: 'POST', url: '/apis/import', payload: { hello: 'world' }, status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: JSON array', method: 'POST', url: '/apis/import', payload: [1, 2], status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: JSON null', method: 'POST', url: '/apis/import', payload: 'null', status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: swagger 2', method: 'POST', url: '/apis/import', payload: { swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} }, status: 422, code: 'INVALID_CONFIG' },
  { what: 'import: envelope with a bad option', method: 'POST', url: '/apis/import', payload: { document: { openapi: '3.1.0' }, options: { strict: 'yes' } }, status: 400, code: 'INVALID_REQUEST', path: 'body.options.strict' },
  { what: 'import: envelope with an unknown option', method: 'POST', url: '/apis/import', payload: { document: { openapi: '3.1.0' }, options: { colour: 'red' } }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'import: envelope document a number', method: 'POST', url: '/apis/import', payload: { document: 5 }, status: 400, code: 'INVALID_REQUEST', path: 'body.document' },
  { what: 'import: envelope document empty', method: 'POST', url: '/apis/import', payload: { document: '' }, status: 400, code: 'INVALID_REQUEST', path: 'body.document' },
  { what: 'import: duplicate JSON key', method: 'POST', url: '/apis/import', payload: '{"openapi":"3.1.0","openapi":"3.0.0"}', status: 400, code: 'INVALID_BODY' },
  { what: 'import: bad dryRun flag', method: 'POST', url: '/apis/import?dryRun=maybe', payload: { openapi: '3.1.0' }, status: 400, code: 'INVALID_REQUEST', path: 'querystring.dryRun' },
  { what: 'import: unknown query key', method: 'POST', url: '/apis/import?force=true', payload: { openapi: '3.1.0' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'import: over-long name', method: 'POST', url: `/apis/import?name=${long(300)}`, payload: { openapi: '3.1.0' }, status: 400, code: 'INVALID_REQUEST', path: 'querystring.name' },
  {
    what: 'import: a hand-written Api of the same name',
    method: 'POST',
    url: '/apis/import?name=shop',
    payload: { openapi: '3.1.0', info: { title: 'Shop', version: '1' }, servers: [{ url: 'http://127.0.0.1:9/shop' }], paths: { '/items': { get: { operationId: 'list', responses: { '200': { description: 'ok' } } } } } },
    status: 409,
    code: 'ALREADY_EXISTS',
  },
  {
    what: 'import: an invalid generated name',
    method: 'POST',
    url: '/apis/import?name=Bad_Name',
    payload: { openapi: '3.1.0', info: { title: 'Shop', version: '1' }, servers: [{ url: 'http://127.0.0.1:9/x' }], paths: { '/items': { get: { operationId: 'list', responses: { '200': { description: 'ok' } } } } } },
    status: 422,
    code: 'INVALID_CONFIG',
  },
  // Admin tokens
  { what: 'tokens: unknown role', method: 'POST', url: '/admin-tokens', payload: { name: 'ci', role: 'root' }, status: 400, code: 'INVALID_REQUEST', path: 'body.role' },
  { what: 'tokens: no name', method: 'POST', url: '/admin-tokens', payload: { role: 'viewer' }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'tokens: name of wrong type', method: 'POST', url: '/admin-tokens', payload: { name: ['ci'], role: 'viewer' }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'tokens: over-long name', method: 'POST', url: '/admin-tokens', payload: { name: long(65), role: 'viewer' }, status: 400, code: 'INVALID_REQUEST', path: 'body.name' },
  { what: 'tokens: unknown field', method: 'POST', url: '/admin-tokens', payload: { name: 'ci', role: 'viewer', token: 'tgadm_mine' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'tokens: name in ISO-8859-1', method: 'POST', url: '/admin-tokens', payload: Buffer.from('{"name":"café","role":"viewer"}', 'latin1'), status: 400, code: 'INVALID_BODY' },
  { what: 'tokens: invalid JSON', method: 'POST', url: '/admin-tokens', payload: '{name: ci}', status: 400, code: 'INVALID_BODY' },
  { what: 'tokens: no body', method: 'POST', url: '/admin-tokens', contentType: null, status: 400, code: 'INVALID_REQUEST' },
  { what: 'tokens: revoke a bad id', method: 'DELETE', url: '/admin-tokens/tok_1', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'tokens: revoke a missing token', method: 'DELETE', url: '/admin-tokens/atk_nobody', status: 404, code: 'NOT_FOUND' },
  ...pathCases('/admin-tokens', '', 'DELETE'),
  // Cache purges (no purger here: the path is checked before the 503)
  { what: 'cache: key not hex', method: 'DELETE', url: '/cache/keys/xyz', status: 400, code: 'INVALID_REQUEST', path: 'params.key' },
  { what: 'cache: bad api name', method: 'DELETE', url: '/cache/apis/Bad_Name', status: 400, code: 'INVALID_REQUEST', path: 'params.api' },
  { what: 'cache: bad route name', method: 'DELETE', url: '/cache/apis/shop/routes/a_b', status: 400, code: 'INVALID_REQUEST', path: 'params.route' },
  ...pathCases('/cache/apis', '', 'DELETE'),
  // Portal approval queue and invitations
  { what: 'portal: approve a bad id', method: 'POST', url: '/portal/accounts/42/approve', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'portal: approve a missing account', method: 'POST', url: '/portal/accounts/dev_0123456789abcdef/approve', status: 404, code: 'NOT_FOUND' },
  { what: 'portal: reject a missing account', method: 'POST', url: '/portal/accounts/dev_0123456789abcdef/reject', status: 404, code: 'NOT_FOUND' },
  { what: 'portal: disable a missing account', method: 'POST', url: '/portal/accounts/dev_0123456789abcdef/disable', status: 404, code: 'NOT_FOUND' },
  ...pathCases('/portal/accounts', '/approve', 'POST'),
  { what: 'portal: approve a bad request id', method: 'POST', url: '/portal/subscription-requests/req_1/approve', status: 400, code: 'INVALID_REQUEST', path: 'params.id' },
  { what: 'portal: approve a missing request', method: 'POST', url: '/portal/subscription-requests/sreq_0123456789abcdef/approve', status: 404, code: 'NOT_FOUND' },
  { what: 'portal: reject a missing request', method: 'POST', url: '/portal/subscription-requests/sreq_0123456789abcdef/reject', status: 404, code: 'NOT_FOUND' },
  { what: 'invite: email of wrong type', method: 'POST', url: '/portal/invitations', payload: { email: 42 }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'invite: no email', method: 'POST', url: '/portal/invitations', payload: {}, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'invite: not an address', method: 'POST', url: '/portal/invitations', payload: { email: 'not-an-address' }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'invite: over-long address', method: 'POST', url: '/portal/invitations', payload: { email: `${long(300)}@example.com` }, status: 400, code: 'INVALID_REQUEST', path: 'body.email' },
  { what: 'invite: unknown field', method: 'POST', url: '/portal/invitations', payload: { email: 'x@example.com', role: 'admin' }, status: 400, code: 'INVALID_REQUEST' },
  { what: 'invite: invalid JSON', method: 'POST', url: '/portal/invitations', payload: '{"email"', status: 400, code: 'INVALID_BODY' },
  { what: 'invite: YAML body', method: 'POST', url: '/portal/invitations', payload: 'email: x@example.com', contentType: 'application/yaml', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
];

describe('bad input on the newer admin endpoints (postgres)', () => {
  let world: BadInputWorld;
  beforeAll(async () => {
    world = await startBadInputWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  /** Each write refused, and everything as it was before it (compared to the state before each case, so one partial write is reported once). */
  async function expectEachRefused(cases: BadCase[]): Promise<void> {
    let before = await world.snapshot();
    for (const c of cases) {
      expectRefusal(c, await world.adminCall(c));
      const after = await world.snapshot();
      expect.soft(after, `${c.what}: the refused write changed something`).toBe(before);
      before = after;
    }
  }

  it('the baseline is in place', async () => {
    const res = await world.adminCall({ method: 'GET', url: '/config?format=json' });
    expect(res.statusCode).toBe(200);
    for (const d of BASELINE) expect(res.body).toContain(`"name":"${d.metadata.name}"`);
  });

  it('reads with bad query strings and path ids are 4xx problems', async () => {
    for (const c of READS) expectRefusal(c, await world.adminCall(c));
  });

  it('bad bodies on the per-kind endpoints are 4xx problems and change nothing', async () => {
    await expectEachRefused(KIND_WRITES);
  });

  it('bad bodies, ids and references on the other write endpoints are 4xx problems and change nothing', async () => {
    await expectEachRefused(OTHER_WRITES);
  });

  it('dot segments and raw bytes in the path, sent over a socket as written, are 400 problems and change nothing', async () => {
    const address = await world.admin.listen({ host: '127.0.0.1', port: 0 }).then(() => world.admin.server.address() as AddressInfo);
    const before = await world.snapshot();
    const targets: Array<[BadCase['method'], string]> = [
      ['GET', '/brokers/..'],
      ['GET', '/brokers/%2e%2e'],
      ['GET', '/webhooks/../deliveries'],
      ['GET', '/consumers/%2E%2E/oauth-clients'],
      ['DELETE', '/plans/..'],
      ['DELETE', '/consumers/acme/oauth-clients/..'],
      ['DELETE', '/admin-tokens/%2e%2e'],
      ['DELETE', '/cache/apis/..'],
      ['POST', '/apis/../lifecycle'],
      ['POST', '/webhooks/%2e%2e/test'],
      ['POST', '/portal/accounts/../approve'],
      ['GET', '/subscriptions/%FF%FE'],
      ['GET', '/certificates/%'],
    ];
    for (const [method, target] of targets) {
      const res = await rawRequest(address.port, `${method} ${target} HTTP/1.1\r\nHost: admin.test\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      const label = `${method} ${target} -> ${res.head} ${res.body}`;
      expect.soft(res.status, label).toBe(400);
      expect.soft(res.head, label).toMatch(/content-type: application\/problem\+json/i);
      expect.soft(res.body, label).toMatch(/"code":"INVALID_REQUEST"/);
    }
    expect(await world.snapshot()).toBe(before);
  });
});

/** One HTTP/1.1 exchange with the bytes exactly as given (no client normalizes the target). */
function rawRequest(port: number, request: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}
