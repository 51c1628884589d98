import { useEffect, useState } from 'preact/hooks';
import { createKey, listKeys, revokeKey, type KeyView } from './consumers.js';
import { formatDateTime } from './ui/format.js';
import { SecretOnce } from './ui/secret-once.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: KeyView[] };

/** A consumer's API keys: create (the plaintext shown once, with a copy button) and revoke. */
export function ConsumerKeys({ consumer, canWrite }: { consumer: string; canWrite: boolean }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [label, setLabel] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<{ key: string; warning: string } | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();

  const load = () => {
    listKeys(consumer)
      .then((page) => setState({ kind: 'loaded', items: page.items }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The keys could not be loaded.') }));
  };
  useEffect(load, [consumer]);

  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const key = await createKey(consumer, label.trim());
      setCreated({ key: key.key, warning: key.warning });
      setLabel('');
      load();
    } catch (err) {
      setError(messageOf(err, 'The key could not be created.'));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await revokeKey(consumer, id);
      setConfirming(undefined);
      load();
    } catch (err) {
      setError(messageOf(err, 'The key could not be revoked.'));
    }
  };

  return (
    <div class="card panel" role="region" aria-labelledby="keys-title">
      <div class="panel-head">
        <h2 id="keys-title">API keys</h2>
      </div>
      {created !== undefined && <SecretOnce title="New API key" secret={created.key} warning={created.warning} onDone={() => setCreated(undefined)} />}
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {state.kind === 'loading' && <Loading label="Loading keys…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && <p class="muted pad">No keys yet. {canWrite ? 'Create one below; it is shown once.' : ''}</p>}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((k) => {
              const expired = k.expiresAt !== undefined && Date.parse(k.expiresAt) <= Date.now();
              const status = k.revokedAt !== undefined ? 'revoked' : expired ? 'expired' : 'active';
              return (
                <tr key={k.id}>
                  <td>
                    {k.source === 'api' ? <code>{`${k.prefix ?? ''}…${k.last4 ?? ''}`}</code> : <span class="muted">declared in configuration</span>}
                  </td>
                  <td>{k.name ?? <span class="muted">—</span>}</td>
                  <td>{formatDateTime(k.createdAt)}</td>
                  <td>
                    <span class={`badge badge-${status}`}>{status}</span>
                  </td>
                  <td class="num">
                    {canWrite && k.source === 'api' && status !== 'revoked' && confirming !== k.id && (
                      <button type="button" class="secondary danger" onClick={() => setConfirming(k.id)} aria-label={`Revoke key ${k.prefix ?? ''}…${k.last4 ?? ''}`}>
                        Revoke
                      </button>
                    )}
                    {confirming === k.id && (
                      <span class="confirm">
                        <span>Callers using it get 401 within a second.</span>
                        <button type="button" class="danger-solid" onClick={() => void revoke(k.id)}>
                          Revoke key
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
        <form class="inline-form" onSubmit={create}>
          <label for="key-label" class="inline-label">
            Label
          </label>
          <input id="key-label" value={label} placeholder="production" maxLength={64} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </form>
      )}
    </div>
  );
}
