import { useEffect, useRef, useState } from 'preact/hooks';
import type { Role } from './api.js';
import { createConsumer, listConsumers, type ConsumerDocument } from './consumers.js';
import { hrefOf } from './hash-route.js';
import { can } from './permissions.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

const PAGE = 25;

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: ConsumerDocument[]; next?: string | undefined };

/**
 * The Consumers screen: server-side search (name or customId contains) and keyset paging, so it
 * reads one page however many consumers exist; previous pages are a stack of cursors.
 */
export function ConsumersList({ role }: { role: Role }) {
  const [query, setQuery] = useState('');
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [creating, setCreating] = useState(false);
  const request = useRef(0);
  const after = cursors[cursors.length - 1];

  const load = () => {
    const id = ++request.current;
    setState({ kind: 'loading' });
    listConsumers({ q: query.trim(), limit: PAGE, ...(after !== undefined ? { after } : {}) })
      .then((page) => id === request.current && setState({ kind: 'loaded', items: page.items, next: page.next }))
      .catch((err: unknown) => id === request.current && setState({ kind: 'error', message: messageOf(err, 'The consumers could not be loaded.') }));
  };
  // Typing searches after a short pause (one request per pause, not per key); a late answer to an older search is dropped.
  useEffect(() => {
    const timer = setTimeout(load, query === '' ? 0 : 250);
    return () => clearTimeout(timer);
  }, [query, after]);

  const search = (value: string) => {
    setQuery(value);
    setCursors([undefined]);
  };

  return (
    <section aria-labelledby="consumers-title">
      <div class="page-head">
        <h1 id="consumers-title">Consumers</h1>
        <span class="grow" />
        {can(role, 'config:write') && !creating && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New consumer
          </button>
        )}
      </div>
      {creating && <NewConsumer onCancel={() => setCreating(false)} />}
      <div class="toolbar">
        <label for="consumer-search" class="inline-label">
          Search consumers
        </label>
        <input id="consumer-search" type="search" placeholder="Name or custom ID" value={query} onInput={(e) => search((e.target as HTMLInputElement).value)} autoComplete="off" />
      </div>
      {state.kind === 'loading' && <Loading label="Loading consumers…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && (
        query.trim() !== '' ? (
          <Empty title="No consumer matches">Nothing has a name or custom ID containing “{query.trim()}”.</Empty>
        ) : (
          <Empty title="No consumers yet">A consumer is a customer or application that calls your APIs. Create one here or with <code>tollgate apply</code>.</Empty>
        )
      )}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <div class="card table-card">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Custom ID</th>
                <th scope="col">Groups</th>
              </tr>
            </thead>
            <tbody>
              {state.items.map((c) => (
                <tr key={c.metadata.name}>
                  <td>
                    <a class="name" href={hrefOf('consumers', c.metadata.name)}>
                      {c.metadata.name}
                    </a>
                  </td>
                  <td>{c.spec.customId ?? <span class="muted">—</span>}</td>
                  <td>{c.spec.groups && c.spec.groups.length > 0 ? c.spec.groups.map((g) => <span key={g} class="chip">{g}</span>) : <span class="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Consumer pages">
            <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </button>
            <span class="muted">Page {cursors.length}</span>
            <button type="button" class="secondary" disabled={state.next === undefined} onClick={() => state.next !== undefined && setCursors([...cursors, state.next])}>
              Next
            </button>
          </nav>
        </div>
      )}
    </section>
  );
}

/** Creating a consumer: a name (RFC 1123, as every resource) and an optional custom ID. */
function NewConsumer({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState('');
  const [customId, setCustomId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await createConsumer(name.trim(), customId.trim());
      location.hash = hrefOf('consumers', name.trim());
    } catch (err) {
      setError(messageOf(err, 'The consumer could not be created.'));
      setBusy(false);
    }
  };
  return (
    <form class="card form-card" onSubmit={submit} aria-labelledby="new-consumer-title">
      <h2 id="new-consumer-title">New consumer</h2>
      <div class="fields">
        <div>
          <label for="new-consumer-name">Name</label>
          <input id="new-consumer-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required placeholder="acme-mobile" aria-describedby="new-consumer-name-hint" />
          <p id="new-consumer-name-hint" class="hint">Lower-case letters, digits, “-” and “.”.</p>
        </div>
        <div>
          <label for="new-consumer-custom-id">Custom ID (optional)</label>
          <input id="new-consumer-custom-id" value={customId} onInput={(e) => setCustomId((e.target as HTMLInputElement).value)} placeholder="CRM-1042" />
        </div>
      </div>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || name.trim() === ''}>
          {busy ? 'Creating…' : 'Create consumer'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
