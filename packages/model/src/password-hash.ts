import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes for basic-auth credentials: scrypt (RFC 7914) from node:crypto, in a PHC-style
 * string `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64url, no padding) that carries its own
 * parameters, so they can be raised later without invalidating stored hashes. A fresh 16-byte
 * salt per hash; 32-byte output. ln=15 (N = 32768, 32 MiB, ~50-100 ms) follows the scrypt
 * paper's interactive-login setting; the gateway caches verified credentials so this cost is paid
 * once per credential, not per request (policies/basic-auth).
 */
export const PASSWORD_HASH_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/;

const LN = 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

interface ParsedHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Parses a stored hash; undefined when it is not one this module wrote (or its cost is out of range). */
export function parsePasswordHash(stored: string): ParsedHash | undefined {
  const m = PASSWORD_HASH_PATTERN.exec(stored);
  if (m === null) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounds keep a hand-written hash from asking for gigabytes of memory per verification.
  if (ln < 10 || ln > 20 || r < 1 || r > 16 || p < 1 || p > 4) return undefined;
  return { N: 2 ** ln, r, p, salt: Buffer.from(m[4] as string, 'base64url'), hash: Buffer.from(m[5] as string, 'base64url') };
}

/** scrypt refuses 128·N·r bytes above maxmem (32 MiB by default): allow what the bounds permit. */
function maxmem(N: number, r: number): number {
  return 128 * N * r * 2;
}

function format(salt: Buffer, hash: Buffer): string {
  return `$scrypt$ln=${LN},r=${R},p=${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Hashes a password (in the libuv thread pool, so the event loop keeps serving). */
export function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: 2 ** LN, r: R, p: P, maxmem: maxmem(2 ** LN, R) }, (err, key) => (err ? reject(err) : resolve(format(salt, key)))),
  );
}

/** Synchronous {@link hashPassword}, for the store's last-resort normalization only. */
export function hashPasswordSync(password: string): string {
  const salt = randomBytes(SALT_BYTES);
  return format(salt, scryptSync(password.normalize('NFC'), salt, KEY_BYTES, { N: 2 ** LN, r: R, p: P, maxmem: maxmem(2 ** LN, R) }));
}

/**
 * Whether `password` matches `stored`, compared in constant time. A malformed stored hash matches
 * nothing. Passwords are NFC-normalized on both sides (RFC 7613 §4.2 OpaqueString, as RFC 7617
 * §2.1 suggests), so the same password typed on two systems compares equal.
 */
export function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parsePasswordHash(stored);
  if (h === undefined) return Promise.resolve(false);
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h.N, h.r) }, (err, key) => (err ? reject(err) : resolve(timingSafeEqual(key, h.hash)))),
  );
}
