/**
 * Secrets the gateway needs in clear (TLS private keys, JWT HMAC secrets, request-signing HMAC secrets), which therefore cannot
 * be stored as hashes like API keys. They never leave the server through the admin API: reads and
 * exports show REDACTED_SECRET in their place, and applying the marker back keeps the stored
 * value, so an export re-applies as "unchanged" and a read-only token can never learn a key.
 */
export const REDACTED_SECRET = '<redacted>';

type Json = Record<string, unknown>;
type Path = Array<string | number>;

/** Where one secret value sits, and a key that finds the same secret in another version of the resource. */
interface SecretSlot {
  path: Path;
  /** Stable across reordering: built from names (route, policy, issuer), not only positions. */
  key: string;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(root: unknown, path: Path): unknown {
  let cur = root;
  for (const p of path) cur = isObject(cur) || Array.isArray(cur) ? (cur as Record<string | number, unknown>)[p] : undefined;
  return cur;
}

/** HMAC secrets of jwt-auth policies (RFC 7518 §3.2 keys: whoever reads them can mint tokens), oidc-login secrets and introspection client secrets in one policy list. */
function policySlots(policies: unknown, base: Path, scope: string, out: SecretSlot[]): void {
  if (!Array.isArray(policies)) return;
  policies.forEach((policy, i) => {
    // oidc-login: the client secret authenticates the gateway to the provider; the session secret forges sessions.
    if (isObject(policy) && policy.name === 'oidc-login' && isObject(policy.config)) {
      for (const field of ['clientSecret', 'sessionSecret'] as const) if (policy.config[field] !== undefined) out.push({ path: [...base, i, 'config', field], key: `${scope}|oidc-login|${field}` });
      return;
    }
    // The introspection client secret authenticates the gateway to the authorization server.
    if (isObject(policy) && policy.name === 'oauth2-introspection' && isObject(policy.config) && policy.config.clientSecret !== undefined) {
      out.push({ path: [...base, i, 'config', 'clientSecret'], key: `${scope}|oauth2-introspection|${String(policy.config.endpoint)}|${String(policy.config.clientId)}` });
      return;
    }
    if (!isObject(policy) || policy.name !== 'jwt-auth' || !isObject(policy.config) || !Array.isArray(policy.config.issuers)) return;
    policy.config.issuers.forEach((issuer, j) => {
      if (!isObject(issuer) || !Array.isArray(issuer.secrets)) return;
      issuer.secrets.forEach((_s, k) => out.push({ path: [...base, i, 'config', 'issuers', j, 'secrets', k], key: `${scope}|jwt-auth|${String(issuer.issuer)}|${k}` }));
    });
  });
}

/** Every secret value of a document (by its kind), with its path relative to the document. */
function secretSlots(doc: unknown): SecretSlot[] {
  if (!isObject(doc) || !isObject(doc.spec)) return [];
  const spec = doc.spec;
  const out: SecretSlot[] = [];
  const fixed = (path: Path) => {
    if (at(spec, path) !== undefined) out.push({ path: ['spec', ...path], key: path.join('.') });
  };
  switch (doc.kind) {
    case 'Certificate':
      fixed(['privateKey']);
      break;
    case 'Upstream':
      fixed(['tls', 'clientKey']);
      break;
    case 'Broker':
      fixed(['password']);
      fixed(['token']);
      fixed(['tls', 'clientKey']);
      break;
    case 'Webhook':
      fixed(['secret']);
      if (isObject(spec.headers)) for (const h of Object.keys(spec.headers)) fixed(['headers', h]);
      break;
    case 'Consumer':
      // hmac-sha256 request-signing secrets (RFC 9421 §3.3.3): whoever reads one can sign as the consumer.
      if (Array.isArray(spec.signatureKeys))
        spec.signatureKeys.forEach((k, i) => {
          if (isObject(k) && k.secret !== undefined) out.push({ path: ['spec', 'signatureKeys', i, 'secret'], key: `signatureKeys|${String(k.keyId)}` });
        });
      break;
    case 'Api':
      policySlots(spec.policies, ['spec', 'policies'], 'api', out);
      if (Array.isArray(spec.routes)) spec.routes.forEach((r, i) => isObject(r) && policySlots(r.policies, ['spec', 'routes', i, 'policies'], `route:${String(r.name)}`, out));
      break;
  }
  return out;
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = at(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
}

/** A copy of the document with every secret value replaced by REDACTED_SECRET. */
export function redactSecrets<R extends { kind: string; spec: unknown }>(resource: R): R {
  const slots = secretSlots(resource);
  if (slots.length === 0) return resource;
  const copy = structuredClone(resource);
  for (const s of slots) setAt(copy, s.path, REDACTED_SECRET);
  return copy;
}

/**
 * A copy of a submitted document value with every REDACTED_SECRET marker replaced by the stored
 * resource's secret of the same key. Markers with nothing stored stay (see {@link redactedSecretPaths}).
 */
export function restoreSecrets(value: unknown, stored: { kind: string; spec: unknown } | undefined): unknown {
  const slots = secretSlots(value).filter((s) => at(value, s.path) === REDACTED_SECRET);
  if (slots.length === 0 || stored === undefined) return value;
  const kept = new Map(secretSlots(stored).map((s) => [s.key, at(stored, s.path)]));
  const copy = structuredClone(value);
  for (const s of slots) if (typeof kept.get(s.key) === 'string') setAt(copy, s.path, kept.get(s.key));
  return copy;
}

/** Paths (`spec.tls.clientKey`) of the secret fields of a submitted document that hold REDACTED_SECRET. */
export function redactedSecretPaths(value: unknown): Path[] {
  return secretSlots(value)
    .filter((s) => at(value, s.path) === REDACTED_SECRET)
    .map((s) => s.path);
}

/** Whether a submitted document value carries a REDACTED_SECRET marker in one of its secret fields. */
export function hasRedactedSecret(value: unknown): boolean {
  return redactedSecretPaths(value).length > 0;
}
