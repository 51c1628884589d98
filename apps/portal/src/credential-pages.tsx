import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type OAuthClient, type SignatureKey } from './api.js';

const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');
const messageOf = (err: unknown, fallback: string) => (err instanceof ApiError ? err.message : fallback);

/** The developer's OAuth clients and request-signing keys: the two credentials that are not API keys. */
export function Credentials() {
  return (
    <section class="page">
      <div class="hero">
        <h1>OAuth clients and signing keys</h1>
        <p class="muted">
          An OAuth client gets short-lived access tokens from the gateway's token endpoint (client credentials). A signing key lets you sign each request (HTTP Message
          Signatures, RFC 9421) so it cannot be replayed or altered.
        </p>
      </div>
      <OAuthClients />
      <SignatureKeys />
    </section>
  );
}

function OAuthClients() {
  const [clients, setClients] = useState<{ scopes: string[]; items: OAuthClient[] }>();
  const [error, setError] = useState<string>();
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<ReadonlySet<string> | undefined>();
  const [fresh, setFresh] = useState<{ clientId: string; secret: string }>();
  const load = () =>
    api.oauthClients().then(
      (c) => {
        setClients(c);
        setChosen((prev) => prev ?? new Set(c.scopes));
      },
      (e: unknown) => setError(messageOf(e, 'Could not load your OAuth clients.')),
    );
  useEffect(() => void load(), []);
  const live = clients?.items.filter((c) => !c.revokedAt) ?? [];
  const scopes = clients?.scopes ?? [];
  return (
    <div class="stack-gap" role="region" aria-labelledby="oauth-title">
      <h2 id="oauth-title">OAuth clients</h2>
      <form
        class="card pad row wrap"
        aria-label="New OAuth client"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            const created = await api.createOAuthClient(name, scopes.filter((s) => chosen?.has(s)));
            setFresh({ clientId: created.clientId, secret: created.clientSecret });
            setName('');
            await load();
          } catch (err) {
            setError(messageOf(err, 'Could not create the client.'));
          }
        }}
      >
        <div class="field grow">
          <label for="oauth-name">Client name</label>
          <input id="oauth-name" value={name} required maxLength={64} placeholder="e.g. nightly sync" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        {scopes.length > 0 ? (
          <fieldset class="field">
            <legend>Scopes</legend>
            <div class="row wrap">
              {scopes.map((s) => (
                <label key={s} class="row">
                  <input
                    type="checkbox"
                    checked={chosen?.has(s) ?? true}
                    onChange={(e) => {
                      const next = new Set(chosen);
                      if ((e.target as HTMLInputElement).checked) next.add(s);
                      else next.delete(s);
                      setChosen(next);
                    }}
                  />
                  {s}
                </label>
              ))}
            </div>
          </fieldset>
        ) : null}
        <button class="primary" type="submit">Create client</button>
      </form>
      {fresh ? (
        <div class="card pad secret" role="status">
          <strong>Copy the client secret now. It will not be shown again.</strong>
          <span>
            Client ID <code data-testid="new-client-id">{fresh.clientId}</code>
          </span>
          <code class="key" data-testid="new-client-secret">{fresh.secret}</code>
          <button class="secondary" onClick={() => void navigator.clipboard?.writeText(fresh.secret)}>Copy secret</button>
        </div>
      ) : null}
      {error ? <p role="alert" class="alert">{error}</p> : null}
      <div class="card">
        <table>
          <caption class="sr-only">Your OAuth clients</caption>
          <thead>
            <tr><th>Name</th><th>Client ID</th><th>Scopes</th><th>Created</th><th><span class="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {live.length === 0 ? <tr><td colSpan={5} class="muted">No OAuth clients yet.</td></tr> : null}
            {live.map((c) => (
              <tr key={c.clientId}>
                <td data-label="Name">{c.name}</td>
                <td data-label="Client ID"><code>{c.clientId}</code></td>
                <td data-label="Scopes">{c.scopes.join(' ')}</td>
                <td data-label="Created">{when(c.createdAt)}</td>
                <td class="end">
                  <button
                    class="danger"
                    aria-label={`Revoke ${c.name ?? c.clientId}`}
                    onClick={async () => {
                      if (!window.confirm(`Revoke ${c.name ?? c.clientId}? Its tokens stop working within a second.`)) return;
                      await api.revokeOAuthClient(c.clientId).catch((err: unknown) => setError(messageOf(err, 'Could not revoke the client.')));
                      await load();
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function SignatureKeys() {
  const [keys, setKeys] = useState<SignatureKey[]>();
  const [error, setError] = useState<string>();
  const [keyId, setKeyId] = useState('');
  const [algorithm, setAlgorithm] = useState<SignatureKey['algorithm']>('ed25519');
  const [material, setMaterial] = useState('');
  const load = () => api.signatureKeys().then((k) => setKeys(k.items), (e: unknown) => setError(messageOf(e, 'Could not load your signing keys.')));
  useEffect(() => void load(), []);
  return (
    <div class="stack-gap" role="region" aria-labelledby="sig-title">
      <h2 id="sig-title">Request signing keys</h2>
      <form
        class="card pad row wrap"
        aria-label="New signing key"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            const saved = await api.addSignatureKey({ keyId: keyId.trim(), algorithm, ...(algorithm === 'ed25519' ? { publicKey: material.trim() } : { secret: material }) });
            setKeys(saved.items);
            setKeyId('');
            setMaterial('');
          } catch (err) {
            setError(messageOf(err, 'Could not add the key.'));
          }
        }}
      >
        <div class="field">
          <label for="sig-key-id">Key ID</label>
          <input id="sig-key-id" value={keyId} required maxLength={256} placeholder="e.g. acme-2026" onInput={(e) => setKeyId((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="sig-alg">Algorithm</label>
          <select id="sig-alg" value={algorithm} onChange={(e) => setAlgorithm((e.target as HTMLSelectElement).value as SignatureKey['algorithm'])}>
            <option value="ed25519">Ed25519 (public key)</option>
            <option value="hmac-sha256">HMAC-SHA256 (shared secret)</option>
          </select>
        </div>
        <div class="field grow">
          <label for="sig-material">{algorithm === 'ed25519' ? 'Public key (PEM or base64url)' : 'Shared secret (32+ characters)'}</label>
          {algorithm === 'ed25519' ? (
            <textarea id="sig-material" value={material} required rows={3} onInput={(e) => setMaterial((e.target as HTMLTextAreaElement).value)} />
          ) : (
            <input id="sig-material" type="password" autoComplete="off" minLength={32} value={material} required onInput={(e) => setMaterial((e.target as HTMLInputElement).value)} />
          )}
        </div>
        <button class="primary" type="submit">Add key</button>
      </form>
      {error ? <p role="alert" class="alert">{error}</p> : null}
      <div class="card">
        <table>
          <caption class="sr-only">Your signing keys</caption>
          <thead>
            <tr><th>Key ID</th><th>Algorithm</th><th>Expires</th><th><span class="sr-only">Actions</span></th></tr>
          </thead>
          <tbody>
            {keys?.length === 0 ? <tr><td colSpan={4} class="muted">No signing keys yet.</td></tr> : null}
            {keys?.map((k) => (
              <tr key={k.keyId}>
                <td data-label="Key ID"><code>{k.keyId}</code></td>
                <td data-label="Algorithm">{k.algorithm === 'ed25519' ? 'Ed25519' : 'HMAC-SHA256'}</td>
                <td data-label="Expires">{k.expiresAt ? when(k.expiresAt) : 'never'}</td>
                <td class="end">
                  <button
                    class="danger"
                    aria-label={`Remove ${k.keyId}`}
                    onClick={async () => {
                      if (!window.confirm(`Remove ${k.keyId}? Requests signed with it are refused from now on.`)) return;
                      await api.removeSignatureKey(k.keyId).catch((err: unknown) => setError(messageOf(err, 'Could not remove the key.')));
                      await load();
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
