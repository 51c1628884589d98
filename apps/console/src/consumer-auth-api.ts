import { call } from './api.js';

/** An OAuth client as listed by `GET /consumers/{name}/oauth-clients` (never its secret). */
export interface OAuthClientView {
  clientId: string;
  consumer: string;
  name?: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

const clientsPath = (consumer: string) => `/consumers/${encodeURIComponent(consumer)}/oauth-clients`;

export const listOAuthClients = (consumer: string) => call<{ items: OAuthClientView[] }>('GET', clientsPath(consumer));
export const createOAuthClient = (consumer: string, name: string, scopes: string[]) =>
  call<OAuthClientView & { clientSecret: string; warning: string }>('POST', clientsPath(consumer), { ...(name !== '' ? { name } : {}), scopes });
export const revokeOAuthClient = (consumer: string, clientId: string) => call<void>('DELETE', `${clientsPath(consumer)}/${encodeURIComponent(clientId)}`);

/** A request-signing key of `spec.signatureKeys` as the admin API returns it (an HMAC secret is `<redacted>`). */
export interface SignatureKey {
  keyId: string;
  algorithm: 'ed25519' | 'hmac-sha256';
  publicKey?: string;
  secret?: string;
  expiresAt?: string;
}

/** The whole Consumer document, as `GET /consumers/{name}` answers it: what a PUT must send back. */
interface ConsumerWire {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string } & Record<string, unknown>;
  spec: { signatureKeys?: SignatureKey[]; scopes?: string[] } & Record<string, unknown>;
}

const consumerPath = (consumer: string) => `/consumers/${encodeURIComponent(consumer)}`;

export async function listSignatureKeys(consumer: string): Promise<SignatureKey[]> {
  return (await call<ConsumerWire>('GET', consumerPath(consumer))).spec.signatureKeys ?? [];
}

/**
 * Changes `spec.signatureKeys` by replacing the Consumer (`PUT`): the document read is sent back
 * as it came, so HMAC secrets stay `<redacted>` on the wire and the admin API keeps the stored
 * ones (docs/authentication.md). The rest of the spec (keys, scopes, basic-auth users) is untouched.
 */
async function updateSignatureKeys(consumer: string, change: (keys: SignatureKey[]) => SignatureKey[]): Promise<SignatureKey[]> {
  const doc = await call<ConsumerWire>('GET', consumerPath(consumer));
  const next: ConsumerWire = { ...doc, apiVersion: doc.apiVersion ?? 'tollgate.dev/v1', kind: 'Consumer', spec: { ...doc.spec, signatureKeys: change(doc.spec.signatureKeys ?? []) } };
  const saved = await call<ConsumerWire>('PUT', consumerPath(consumer), next);
  return saved.spec.signatureKeys ?? [];
}

export const addSignatureKey = (consumer: string, key: SignatureKey) =>
  updateSignatureKeys(consumer, (keys) => {
    // Said here rather than as the server's generic duplicate error, which names a list index.
    if (keys.some((k) => k.keyId === key.keyId)) throw new Error(`This consumer already has a key with id ${key.keyId}.`);
    return [...keys, key];
  });
export const removeSignatureKey = (consumer: string, keyId: string) => updateSignatureKeys(consumer, (keys) => keys.filter((k) => k.keyId !== keyId));
