import { createHmac, generateKeyPairSync, sign as edSign, randomBytes, type KeyObject } from 'node:crypto';
import { httpbis } from 'http-message-signatures';

/**
 * What the console and portal credential tests share: a configuration with Tollgate's token
 * endpoint, an API behind `jwt-auth` (issuer tollgate) and one behind `http-signature`; a token
 * request; and requests signed by an independent RFC 9421 implementation.
 */
export function credentialsConfig(upstreamUrl: string, consumers: Array<{ name: string; scopes: string[]; spec?: string }>): string {
  return [
    `kind: Upstream\nmetadata: { name: orders-backend }\nspec: { targets: [{ url: "${upstreamUrl}" }] }`,
    `kind: Api\nmetadata: { name: oauth }\nspec:\n  basePath: /oauth2\n  routes:\n    - name: token\n      match: [{ path: { exact: /token } }]\n      directResponse: { status: 404 }\n      policies: [{ name: oauth2-token, config: { audience: "api://orders" } }]`,
    `kind: Api\nmetadata: { name: orders }\nspec:\n  basePath: /orders\n  policies: [{ name: jwt-auth, config: { issuers: [{ issuer: tollgate, audiences: ["api://orders"] }] } }]\n  routes: [{ name: all, destination: { upstream: orders-backend } }]`,
    `kind: Api\nmetadata: { name: signed }\nspec:\n  basePath: /signed\n  policies: [{ name: http-signature }]\n  routes: [{ name: all, destination: { upstream: orders-backend } }]`,
    ...consumers.map((c) => `kind: Consumer\nmetadata: { name: ${c.name} }\nspec: { scopes: [${c.scopes.join(', ')}]${c.spec !== undefined ? `, ${c.spec}` : ''} }`),
  ]
    .map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`)
    .join('---\n');
}

/** Client credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication; the status and the token if any. */
export async function requestToken(proxyUrl: string, clientId: string, secret: string, scope?: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${proxyUrl}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope !== undefined ? { scope } : {}) }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  return { status: res.status, ...(body.access_token !== undefined ? { token: body.access_token } : {}) };
}

export interface Ed25519Pair {
  privateKey: KeyObject;
  /** base64url of the 32 raw bytes, as a JWK `x` (what the console and portal take). */
  publicKey: string;
}

export function ed25519Pair(): Ed25519Pair {
  const pair = generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, publicKey: pair.publicKey.export({ format: 'jwk' }).x as string };
}

/** A GET of `url` signed over method, authority and path with an Ed25519 key or an HMAC secret; the gateway's status. */
export async function signedGet(url: string, keyId: string, key: { ed25519: KeyObject } | { hmac: string }): Promise<number> {
  const alg = 'ed25519' in key ? 'ed25519' : 'hmac-sha256';
  const signer = 'ed25519' in key ? (d: Buffer) => edSign(null, d, key.ed25519) : (d: Buffer) => createHmac('sha256', key.hmac).update(d).digest();
  const signed = await httpbis.signMessage(
    { key: { id: keyId, alg, sign: async (d: Buffer) => signer(d) }, name: 'sig1', fields: ['@method', '@authority', '@path'], params: ['keyid', 'alg', 'created', 'nonce'], paramValues: { created: new Date(), nonce: randomBytes(12).toString('base64url') } },
    { method: 'GET', url, headers: { host: new URL(url).host } },
  );
  // fetch sends the URL's host itself (the signed authority); every other signed header as is.
  const { host: _host, ...headers } = signed.headers as Record<string, string>;
  return (await fetch(url, { headers })).status;
}
