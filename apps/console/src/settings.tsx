import { useEffect, useState } from 'preact/hooks';
import { call, type Role } from './api.js';
import { formatDateTime } from './ui/format.js';
import { SecretOnce } from './ui/secret-once.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

interface TokenView {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  revokedAt?: string;
}

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: TokenView[] };

const ROLES: Array<[Role, string]> = [
  ['viewer', 'Viewer: read configuration'],
  ['operator', 'Operator: configuration and keys'],
  ['billing', 'Billing: consumers and billing data'],
  ['admin', 'Admin: everything'],
];

/** The Settings screen (role admin): admin tokens, created once-shown and revoked. */
export function Settings() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<{ token: string; warning: string } | undefined>();
  const [confirming, setConfirming] = useState<string | undefined>();

  const load = () => {
    call<{ items: TokenView[] }>('GET', '/admin-tokens')
      .then((p) => setState({ kind: 'loaded', items: p.items }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The admin tokens could not be loaded.') }));
  };
  useEffect(load, []);

  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const t = await call<{ token: string; warning: string }>('POST', '/admin-tokens', { name: name.trim(), role });
      setCreated(t);
      setName('');
      load();
    } catch (err) {
      setError(messageOf(err, 'The token could not be created.'));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await call<void>('DELETE', `/admin-tokens/${encodeURIComponent(id)}`);
      setConfirming(undefined);
      load();
    } catch (err) {
      setError(messageOf(err, 'The token could not be revoked.'));
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <div class="page-head">
        <h1 id="settings-title">Settings</h1>
      </div>
      <div class="card panel" role="region" aria-labelledby="tokens-title">
        <div class="panel-head">
          <h2 id="tokens-title">Admin tokens</h2>
        </div>
        <p class="muted pad">Tokens for the admin API, the CLI and this console. Tollgate keeps only their SHA-256; a revoked token and its console sessions stop working at their next request.</p>
        {created !== undefined && <SecretOnce title="New admin token" secret={created.token} warning={created.warning} onDone={() => setCreated(undefined)} />}
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {state.kind === 'loading' && <Loading label="Loading admin tokens…" />}
        {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
        {state.kind === 'loaded' && state.items.length === 0 && <Empty title="No tokens" />}
        {state.kind === 'loaded' && state.items.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Id</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.items.map((t) => (
                <tr key={t.id}>
                  <td class="name">{t.name}</td>
                  <td>
                    <span class={`role role-${t.role}`}>{t.role}</span>
                  </td>
                  <td>
                    <code>{t.id}</code>
                  </td>
                  <td>{formatDateTime(t.createdAt)}</td>
                  <td>
                    <span class={`badge ${t.revokedAt ? 'badge-revoked' : 'badge-active'}`}>{t.revokedAt ? 'revoked' : 'active'}</span>
                  </td>
                  <td class="num">
                    {!t.revokedAt && confirming !== t.id && (
                      <button type="button" class="secondary danger" onClick={() => setConfirming(t.id)} aria-label={`Revoke token ${t.name}`}>
                        Revoke
                      </button>
                    )}
                    {confirming === t.id && (
                      <span class="confirm">
                        <span>Everything using it gets 401, including its console sessions.</span>
                        <button type="button" class="danger-solid" onClick={() => void revoke(t.id)}>
                          Revoke token
                        </button>
                        <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>
                          Cancel
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form class="inline-form" onSubmit={create}>
          <label for="token-name" class="inline-label">
            Name
          </label>
          <input id="token-name" value={name} maxLength={64} placeholder="ci-deploy" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <label for="token-role" class="inline-label">
            Role
          </label>
          <select id="token-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
            {ROLES.map(([r, label]) => (
              <option key={r} value={r}>
                {label}
              </option>
            ))}
          </select>
          <button type="submit" class="primary" disabled={busy || name.trim() === ''}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </form>
      </div>
    </section>
  );
}
