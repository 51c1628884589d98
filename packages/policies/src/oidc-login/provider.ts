import * as client from 'openid-client';
import type { OidcLoginConfig } from './schema.js';

/** Marks a failure to reach the provider (answered 503), as opposed to the provider refusing (401). */
export class ProviderUnreachable extends Error {}

/** How long a failed discovery is remembered before the next request tries again, in milliseconds. */
const DISCOVERY_RETRY_MS = 2000;

/**
 * The provider's metadata (OpenID Connect Discovery 1.0), fetched on first use rather than at
 * build time (building a snapshot never waits on the network) and kept for the snapshot's life.
 */
export class ProviderHandle {
  #config: Promise<client.Configuration> | null = null;
  #failedAt = 0;

  constructor(private readonly settings: OidcLoginConfig) {}

  async configuration(): Promise<client.Configuration> {
    if (this.#config === null || (this.#failedAt > 0 && Date.now() - this.#failedAt > DISCOVERY_RETRY_MS)) {
      this.#failedAt = 0;
      const s = this.settings;
      this.#config = client
        .discovery(new URL(s.issuer), s.clientId, undefined, client.ClientSecretBasic(s.clientSecret), { timeout: Math.ceil(s.providerTimeoutMs / 1000), ...(s.allowInsecureHttp ? { execute: [client.allowInsecureRequests] } : {}) })
        .catch((err: unknown) => {
          this.#failedAt = Date.now();
          throw new ProviderUnreachable(`discovery failed: ${(err as Error).message}`);
        });
    }
    return this.#config;
  }
}

/**
 * Whether an error from openid-client means the provider could not be reached (network, timeout,
 * 5xx) rather than that it answered with a refusal (an OAuth error body, a failed check).
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof ProviderUnreachable) return true;
  if (err instanceof client.ResponseBodyError) return err.status >= 500;
  if (err instanceof client.AuthorizationResponseError) return false;
  const cause = (err as { cause?: unknown }).cause;
  const name = (err as Error).name;
  return name === 'TypeError' || name === 'AbortError' || name === 'TimeoutError' || (cause instanceof Error && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|fetch failed/i.test(cause.message));
}
