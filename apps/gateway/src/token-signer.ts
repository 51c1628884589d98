import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ActiveSigningKey, TokenSigner } from '@tollgate/policies';
import type { SigningKeyRecord, SigningKeyStore } from '@tollgate/stores';
import type { Logger } from 'pino';

/** Settings of {@link StoreTokenSigner}. */
export interface StoreTokenSignerOptions {
  readonly store: SigningKeyStore;
  /** `iss` of issued tokens. */
  readonly issuer: string;
  /** How long one key signs before the next takes over, in milliseconds. */
  readonly rotationMs: number;
  /** Longest lifetime of a token (the oauth2-token maximum), in milliseconds: a key stays published this long after it stops signing. */
  readonly maxTokenTtlMs: number;
  /** How often keys are reloaded and the next ones created, in milliseconds (default: a quarter of the rotation, at most a minute). */
  readonly syncMs?: number;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now?: () => number;
}

/** Allowance for clock differences between nodes and verifiers, in milliseconds. */
const SKEW_MS = 60_000;
/** Least time between two reloads asked for by unknown `kid`s, in milliseconds. */
const REFRESH_COOLDOWN_MS = 1_000;

interface LoadedKey {
  readonly record: SigningKeyRecord;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly jwk: Readonly<Record<string, unknown>>;
}

/**
 * The gateway's token issuer over the shared signing-key store. Time is cut in slots of
 * `rotationMs`; slot n's key (kid `tgk_<start in base 36>`, so racing nodes insert one row) signs
 * during slot n. The key of slot n+1 is created during slot n, so every node and every JWKS reader
 * knows it a whole period before it signs (overlap before); a key stays in the JWKS until
 * `maxTokenTtlMs` + 60 s after it stopped signing (overlap after), then its row, private key
 * included, is deleted. Every node reloads every `syncMs`, and on a token with an unknown `kid`
 * (throttled), so a rotation never fails a request.
 */
export class StoreTokenSigner implements TokenSigner {
  readonly issuer: string;
  readonly #o: StoreTokenSignerOptions;
  readonly #now: () => number;
  #keys: readonly LoadedKey[] = [];
  #byKid = new Map<string, LoadedKey>();
  #jwks: { readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>> } = Object.freeze({ keys: Object.freeze([]) });
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #lastSync = 0;

  constructor(options: StoreTokenSignerOptions) {
    this.#o = options;
    this.issuer = options.issuer;
    this.#now = options.now ?? Date.now;
  }

  /** First sync (errors are logged; the token endpoint answers 503 until one succeeds), then on a timer. */
  async start(): Promise<void> {
    await this.sync();
    const every = this.#o.syncMs ?? Math.min(60_000, Math.max(250, Math.floor(this.#o.rotationMs / 4)));
    this.#timer = setInterval(() => void this.sync(), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Loads the live keys, creating this slot's and the next slot's when missing (one run at a time). */
  sync(): Promise<void> {
    this.#running ??= this.#sync().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sync(): Promise<void> {
    this.#lastSync = this.#now();
    try {
      const now = this.#now();
      let live = await this.#o.store.listLive(new Date(now));
      const slot = Math.floor(now / this.#o.rotationMs);
      let created = false;
      for (const n of [slot, slot + 1]) {
        const from = n * this.#o.rotationMs;
        if (live.some((k) => k.activeFrom.getTime() === from)) continue;
        await this.#o.store.insertIfAbsent(this.#generate(from));
        created = true;
      }
      if (created) {
        live = await this.#o.store.listLive(new Date(now));
        await this.#o.store.deleteRetired(new Date(now));
      }
      this.#install(live);
    } catch (err) {
      this.#o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'token signer: signing keys could not be loaded; keeping the ones in memory');
    }
  }

  #generate(activeFromMs: number): SigningKeyRecord {
    // ES256 (P-256): small signatures and keys, fast to sign (RFC 7518 §3.4).
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = `tgk_${activeFromMs.toString(36)}`;
    const activeUntil = activeFromMs + this.#o.rotationMs;
    return {
      kid,
      alg: 'ES256',
      publicJwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg: 'ES256', use: 'sig' },
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      activeFrom: new Date(activeFromMs),
      activeUntil: new Date(activeUntil),
      retireAt: new Date(activeUntil + this.#o.maxTokenTtlMs + SKEW_MS),
    };
  }

  #install(records: readonly SigningKeyRecord[]): void {
    const keys: LoadedKey[] = [];
    for (const r of records) {
      const known = this.#byKid.get(r.kid);
      if (known !== undefined) {
        keys.push(known);
        continue;
      }
      const privateKey = createPrivateKey(r.privatePem);
      // The published key is derived from the private one, so a tampered public_jwk cannot be published.
      const publicKey = createPublicKey(privateKey);
      const jwk = Object.freeze({ ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: r.kid, alg: r.alg, use: 'sig' });
      keys.push({ record: r, publicKey, privateKey, jwk });
    }
    keys.sort((a, b) => a.record.activeFrom.getTime() - b.record.activeFrom.getTime());
    this.#keys = keys;
    this.#byKid = new Map(keys.map((k) => [k.record.kid, k]));
    this.#jwks = Object.freeze({ keys: Object.freeze(keys.map((k) => k.jwk)) });
  }

  signingKey(): ActiveSigningKey | undefined {
    const now = this.#now();
    // The newest key already active whose tokens (signed now) expire before it leaves the JWKS.
    for (let i = this.#keys.length - 1; i >= 0; i--) {
      const k = this.#keys[i] as LoadedKey;
      if (k.record.activeFrom.getTime() > now) continue;
      if (k.record.retireAt.getTime() - this.#o.maxTokenTtlMs <= now) return undefined;
      return { kid: k.record.kid, alg: k.record.alg, privateKey: k.privateKey };
    }
    return undefined;
  }

  verificationKey(kid: string): KeyObject | undefined {
    const k = this.#byKid.get(kid);
    return k !== undefined && k.record.retireAt.getTime() > this.#now() ? k.publicKey : undefined;
  }

  jwks(): { readonly keys: ReadonlyArray<Readonly<Record<string, unknown>>> } {
    return this.#jwks;
  }

  refresh(): void {
    if (this.#now() - this.#lastSync >= REFRESH_COOLDOWN_MS) void this.sync();
  }
}
