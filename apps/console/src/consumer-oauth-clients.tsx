import { useEffect, useState } from 'preact/hooks';
import { createOAuthClient, listOAuthClients, revokeOAuthClient, type OAuthClientView } from './consumer-auth-api.js';
import { CopyButton } from './ui/copy-button.js';
import { formatDateTime } from './ui/format.js';
import { SecretOnce } from './ui/secret-once.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: OAuthClientView[] };

/**
 * A consumer's OAuth clients (client-credentials grant, RFC 6749 §4.4): create one with a subset of
 * the consumer's scopes (the secret shown once), revoke with a confirmation.
 */
export function ConsumerOAuthClients({ consumer, scopes, canWrite }: { consumer: string; scopes: readonly string[]; canWrite: boolean }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set(scopes));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<{ clientId: string; secret: string; warning: string } | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();

  const load = () => {
    listOAuthClients(consumer)
      .then((page) => setState({ kind: 'loaded', items: page.items }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The OAuth clients could not be loaded.') }));
  };
  useEffect(load, [consumer]);

  const toggle = (scope: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(scope);
    else next.delete(scope);
    setChosen(next);
  };
  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const client = await createOAuthClient(consumer, name.trim(), scopes.filter((s) => chosen.has(s)));
      setCreated({ clientId: client.clientId, secret: client.clientSecret, warning: client.warning });
      setName('');
      load();
    } catch (err) {
      setError(messageOf(err, 'The OAuth client could not be created.'));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (clientId: string) => {
    setError(undefined);
    try {
      await revokeOAuthClient(consumer, clientId);
      setConfirming(undefined);
      load();
    } catch (err) {
      setError(messageOf(err, 'The OAuth client could not be revoked.'));
    }
  };

  return (
    <div class="card panel" role="region" aria-labelledby="oauth-clients-title">
      <div class="panel-head">
        <h2 id="oauth-clients-title">OAuth clients</h2>
      </div>
      {created !== undefined && (
        <div>
          <p class="pad">
            Client ID{' '}
            <code id="new-oauth-client-id" data-testid="oauth-client-id">
              {created.clientId}
            </code>{' '}
            <CopyButton value={created.clientId} label="Copy client ID" targetId="new-oauth-client-id" />
          </p>
          <SecretOnce title="New client secret" secret={created.secret} warning={created.warning} onDone={() => setCreated(undefined)} />
        </div>
      )}
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {state.kind === 'loading' && <Loading label="Loading OAuth clients…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && <p class="muted pad">No OAuth clients yet.</p>}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Client ID</th>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((c) => {
              const status = c.revokedAt !== undefined ? 'revoked' : 'active';
              return (
                <tr key={c.clientId}>
                  <td>
                    <code>{c.clientId}</code>
                  </td>
                  <td>{c.name ?? <span class="muted">—</span>}</td>
                  <td>{c.scopes.length > 0 ? c.scopes.join(' ') : <span class="muted">none</span>}</td>
                  <td>{formatDateTime(c.createdAt)}</td>
                  <td>
                    <span class={`badge badge-${status}`}>{status}</span>
                  </td>
                  <td class="num">
                    {canWrite && status === 'active' && confirming !== c.clientId && (
                      <button type="button" class="secondary danger" onClick={() => setConfirming(c.clientId)} aria-label={`Revoke OAuth client ${c.clientId}`}>
                        Revoke
                      </button>
                    )}
                    {confirming === c.clientId && (
                      <span class="confirm">
                        <span>New tokens are refused, and tokens it holds stop working, within a second.</span>
                        <button type="button" class="danger-solid" onClick={() => void revoke(c.clientId)}>
                          Revoke client
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
        <form class="inline-form" onSubmit={create} aria-label="New OAuth client">
          <label for="oauth-client-name" class="inline-label">
            Name
          </label>
          <input id="oauth-client-name" value={name} placeholder="nightly-batch" maxLength={64} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          {scopes.length > 0 ? (
            <fieldset class="scope-choice">
              <legend class="inline-label">Scopes</legend>
              {scopes.map((s) => (
                <label key={s} class="check">
                  <input type="checkbox" checked={chosen.has(s)} onChange={(e) => toggle(s, (e.target as HTMLInputElement).checked)} /> {s}
                </label>
              ))}
            </fieldset>
          ) : (
            <span class="muted">The consumer has no scopes (spec.scopes): its clients get tokens without scope.</span>
          )}
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create client'}
          </button>
        </form>
      )}
    </div>
  );
}
