import { useEffect, useState } from 'preact/hooks';
import { addSignatureKey, listSignatureKeys, removeSignatureKey, type SignatureKey } from './consumer-auth-api.js';
import { formatDateTime } from './ui/format.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: SignatureKey[] };

/**
 * A consumer's request-signing keys (`spec.signatureKeys`, http-signature, RFC 9421): an Ed25519
 * public key or an HMAC-SHA256 shared secret. The secret is sent once and never shown again.
 */
export function ConsumerSignatureKeys({ consumer, canWrite }: { consumer: string; canWrite: boolean }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [keyId, setKeyId] = useState('');
  const [algorithm, setAlgorithm] = useState<SignatureKey['algorithm']>('ed25519');
  const [material, setMaterial] = useState('');
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();

  const load = () => {
    listSignatureKeys(consumer)
      .then((items) => setState({ kind: 'loaded', items }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The signature keys could not be loaded.') }));
  };
  useEffect(load, [consumer]);

  const add = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const expiresAt = expires !== '' ? new Date(`${expires}T00:00:00Z`).toISOString() : undefined;
      const key: SignatureKey = { keyId: keyId.trim(), algorithm, ...(algorithm === 'ed25519' ? { publicKey: material.trim() } : { secret: material }), ...(expiresAt !== undefined ? { expiresAt } : {}) };
      setState({ kind: 'loaded', items: await addSignatureKey(consumer, key) });
      setKeyId('');
      setMaterial('');
      setExpires('');
    } catch (err) {
      setError(messageOf(err, 'The key could not be added.'));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (id: string) => {
    setError(undefined);
    try {
      setState({ kind: 'loaded', items: await removeSignatureKey(consumer, id) });
      setConfirming(undefined);
    } catch (err) {
      setError(messageOf(err, 'The key could not be removed.'));
    }
  };

  return (
    <div class="card panel" role="region" aria-labelledby="signature-keys-title">
      <div class="panel-head">
        <h2 id="signature-keys-title">Signature keys</h2>
      </div>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {state.kind === 'loading' && <Loading label="Loading signature keys…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && <p class="muted pad">No signature keys: this consumer cannot sign requests (http-signature).</p>}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Key ID</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((k) => {
              const expired = k.expiresAt !== undefined && Date.parse(k.expiresAt) <= Date.now();
              return (
                <tr key={k.keyId}>
                  <td>
                    <code>{k.keyId}</code>
                  </td>
                  <td>{k.algorithm === 'ed25519' ? 'Ed25519 public key' : 'HMAC-SHA256 secret'}</td>
                  <td>{k.expiresAt === undefined ? <span class="muted">never</span> : expired ? <span class="badge badge-expired">expired {formatDateTime(k.expiresAt)}</span> : formatDateTime(k.expiresAt)}</td>
                  <td class="num">
                    {canWrite && confirming !== k.keyId && (
                      <button type="button" class="secondary danger" onClick={() => setConfirming(k.keyId)} aria-label={`Remove signature key ${k.keyId}`}>
                        Remove
                      </button>
                    )}
                    {confirming === k.keyId && (
                      <span class="confirm">
                        <span>Requests signed with it are refused from the next request.</span>
                        <button type="button" class="danger-solid" onClick={() => void remove(k.keyId)}>
                          Remove key
                        </button>
                        <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
                          Cancel
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {canWrite && (
        <form class="inline-form" onSubmit={add} aria-label="New signature key">
          <label for="sig-key-id" class="inline-label">
            Key ID
          </label>
          <input id="sig-key-id" required value={keyId} placeholder="payments-2026" maxLength={256} pattern="[\x21-\x7e]+" onInput={(e) => setKeyId((e.target as HTMLInputElement).value)} />
          <label for="sig-key-alg" class="inline-label">
            Algorithm
          </label>
          <select id="sig-key-alg" value={algorithm} onChange={(e) => setAlgorithm((e.target as HTMLSelectElement).value as SignatureKey['algorithm'])}>
            <option value="ed25519">Ed25519 public key</option>
            <option value="hmac-sha256">HMAC-SHA256 secret</option>
          </select>
          <label for="sig-key-material" class="inline-label">
            {algorithm === 'ed25519' ? 'Public key' : 'Secret'}
          </label>
          {algorithm === 'ed25519' ? (
            <textarea id="sig-key-material" required value={material} rows={2} placeholder="PEM (SPKI) or base64url of the 32 raw bytes" onInput={(e) => setMaterial((e.target as HTMLTextAreaElement).value)} />
          ) : (
            <input id="sig-key-material" type="password" required minLength={32} autoComplete="off" value={material} placeholder="at least 32 characters" onInput={(e) => setMaterial((e.target as HTMLInputElement).value)} />
          )}
          <label for="sig-key-expires" class="inline-label">
            Expires
          </label>
          <input id="sig-key-expires" type="date" value={expires} onInput={(e) => setExpires((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Adding…' : 'Add key'}
          </button>
        </form>
      )}
    </div>
  );
}
