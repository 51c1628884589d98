import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { hashApiKey, jsonDocuments, signatureKeySchema, validateDocuments, type ConsumerResource, type SignatureKey } from '@tollgate/model';
import { ApplyRejectedError, type AuditContext, type ConfigStore, type OAuthClientRecord, type OAuthClientStore, type SetValidator } from '@tollgate/stores';
import type { ConsoleSessions } from '../console/session-store.js';
import { ProblemError } from '../problem.js';
import { parsePart } from './parse.js';
import { CLIENT_SECRET_PREFIX } from '../routes/oauth-clients.js';
import type { PortalAccounts } from './portal-accounts.js';
import { noStore, requireActive } from './portal-session.js';

/** Per developer, so one account cannot grow its Consumer (or the identity index) without bound. */
const MAX_ACTIVE_CLIENTS = 20;
const MAX_SIGNATURE_KEYS = 10;

const NewClient = z.strictObject({ name: z.string().trim().min(1).max(64), scopes: z.array(z.string().min(1).max(128)).max(256).optional() });
const ClientId = z.strictObject({ id: z.string().regex(/^ocl_[0-9a-f]{1,64}$/) });
const KeyIdParam = z.strictObject({ keyId: z.string().min(1).max(256) });

export interface CredentialDeps {
  accounts: PortalAccounts;
  sessions: ConsoleSessions;
  config: ConfigStore;
  validate: SetValidator;
  /** Absent when the process has no OAuth client store: the OAuth routes are then not served. */
  oauthClients?: OAuthClientStore;
}

const clientView = (c: OAuthClientRecord) => ({ clientId: c.id, ...(c.name !== undefined ? { name: c.name } : {}), scopes: c.scopes, createdAt: c.createdAt.toISOString(), ...(c.revokedAt ? { revokedAt: c.revokedAt.toISOString() } : {}) });

/** A signature key as the developer sees it: never an HMAC secret, not even redacted. */
const keyView = (k: SignatureKey) => ({ keyId: k.keyId, algorithm: k.algorithm, ...(k.publicKey !== undefined ? { publicKey: k.publicKey } : {}), ...(k.expiresAt !== undefined ? { expiresAt: k.expiresAt } : {}) });

/** Replaces a consumer's signature keys in one validated, audited apply (all-or-nothing); the rest of its spec is kept as stored. */
export async function replaceSignatureKeys(config: ConfigStore, validate: SetValidator, consumer: ConsumerResource, keys: SignatureKey[], context: AuditContext): Promise<SignatureKey[]> {
  const doc = { apiVersion: 'tollgate.dev/v1', kind: 'Consumer', metadata: consumer.metadata, spec: { ...consumer.spec, signatureKeys: keys } };
  const parsed = validateDocuments(jsonDocuments([doc]));
  if (!parsed.ok) throw new ProblemError('INVALID_REQUEST', `the key is invalid: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  try {
    await config.apply(parsed.resources, { validate, audit: context });
  } catch (error) {
    if (error instanceof ApplyRejectedError) throw new ProblemError('INVALID_REQUEST', `the key was refused: ${error.issues.map((i) => i.message).join('; ')}`);
    throw error;
  }
  return keys;
}

/**
 * A developer's own OAuth clients (client credentials, RFC 6749 §4.4) and request-signing keys
 * (RFC 9421). The consumer always comes from the session; a client id or key id of another
 * consumer in a path is "not found", never acted on. Every change is in the audit log.
 */
export function registerCredentialRoutes(app: FastifyInstance, deps: CredentialDeps): void {
  const { accounts, sessions, config, validate } = deps;
  const me = (request: FastifyRequest) => requireActive(request, sessions, accounts.store);
  const audit = (request: FastifyRequest, action: string, accountId: string, consumer: string): AuditContext => ({ action, resourceKind: 'Consumer', resourceName: consumer, requestId: request.id, clientAddress: request.ip, actor: { id: accountId, name: `portal:${accountId}`, role: 'viewer' } });
  const consumerOf = async (name: string): Promise<ConsumerResource> => {
    const stored = await config.get('Consumer', name);
    if (!stored || stored.resource.kind !== 'Consumer') throw new ProblemError('NOT_FOUND', 'your consumer no longer exists; ask an operator');
    return stored.resource;
  };

  const store = deps.oauthClients;
  if (store !== undefined) {
    app.get('/api/oauth-clients', async (request, reply) => {
      const { consumer } = await me(request);
      const scopes = (await consumerOf(consumer)).spec.scopes ?? [];
      return noStore(reply).send({ scopes, items: (await store.list(consumer)).map(clientView) });
    });

    app.post('/api/oauth-clients', async (request, reply) => {
      const { consumer, account } = await me(request);
      const body = parsePart(NewClient, request.body, 'body');
      const allowed = (await consumerOf(consumer)).spec.scopes ?? [];
      const scopes = [...new Set(body.scopes ?? allowed)];
      const extra = scopes.filter((s) => !allowed.includes(s));
      if (extra.length > 0) {
        throw new ProblemError('INVALID_REQUEST', `scopes your account may not grant: ${extra.join(', ')}`, { errors: [{ path: 'body.scopes', code: 'scope_not_allowed', message: `not among your scopes: ${extra.join(', ')}` }] });
      }
      if ((await store.list(consumer)).filter((c) => !c.revokedAt).length >= MAX_ACTIVE_CLIENTS) throw new ProblemError('INVALID_REQUEST', `at most ${MAX_ACTIVE_CLIENTS} active OAuth clients per developer; revoke one first`);
      // 256 random bits, stored as SHA-256 only (as the admin API does).
      const secret = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
      const { client } = await store.create({ id: `ocl_${randomBytes(12).toString('hex')}`, consumer, secretHash: hashApiKey(secret), scopes, name: body.name }, audit(request, 'portal.oauth-client.create', account.id, consumer));
      return noStore(reply).code(201).send({ ...clientView(client), clientSecret: secret, warning: 'Copy this secret now: it is shown only once.' });
    });

    app.delete('/api/oauth-clients/:id', async (request, reply) => {
      const { consumer, account } = await me(request);
      const { id } = parsePart(ClientId, request.params, 'params');
      // The store revokes only a client of this consumer: another developer's client id is "not found".
      await store.revoke(consumer, id, audit(request, 'portal.oauth-client.revoke', account.id, consumer));
      return reply.code(204).send();
    });
  }

  const saveKeys = (consumer: ConsumerResource, keys: SignatureKey[], context: AuditContext) => replaceSignatureKeys(config, validate, consumer, keys, context);

  app.get('/api/signature-keys', async (request, reply) => {
    const { consumer } = await me(request);
    return noStore(reply).send({ items: ((await consumerOf(consumer)).spec.signatureKeys ?? []).map(keyView) });
  });

  app.post('/api/signature-keys', async (request, reply) => {
    const { consumer, account } = await me(request);
    const key = parsePart(signatureKeySchema, request.body, 'body');
    const resource = await consumerOf(consumer);
    const keys = resource.spec.signatureKeys ?? [];
    if (keys.length >= MAX_SIGNATURE_KEYS) throw new ProblemError('INVALID_REQUEST', `at most ${MAX_SIGNATURE_KEYS} signature keys per developer; remove one first`);
    // A key id claimed by two consumers authenticates nobody: letting a developer claim another's
    // would switch that consumer's key off. Refused whoever holds it.
    const { resources } = await config.load();
    const taken = resources.some((r) => r.kind === 'Consumer' && (r.spec.signatureKeys ?? []).some((k) => k.keyId === key.keyId));
    if (taken) throw new ProblemError('ALREADY_EXISTS', `key id ${key.keyId} is already in use; choose another`);
    const saved = await saveKeys(resource, [...keys, key], audit(request, 'portal.signature-key.add', account.id, consumer));
    return noStore(reply).code(201).send({ key: keyView(key), items: saved.map(keyView) });
  });

  app.delete('/api/signature-keys/:keyId', async (request, reply) => {
    const { consumer, account } = await me(request);
    const { keyId } = parsePart(KeyIdParam, request.params, 'params');
    const resource = await consumerOf(consumer);
    const keys = resource.spec.signatureKeys ?? [];
    // Only this consumer's keys are looked at: another developer's key id is "not found".
    if (!keys.some((k) => k.keyId === keyId)) throw new ProblemError('NOT_FOUND', `you have no signature key ${keyId}`);
    await saveKeys(resource, keys.filter((k) => k.keyId !== keyId), audit(request, 'portal.signature-key.remove', account.id, consumer));
    return reply.code(204).send();
  });
}
