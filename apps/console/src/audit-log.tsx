import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { formatDateTime } from './ui/format.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

interface Entry {
  id: number;
  at: string;
  actor?: { id: string; name: string; role: string };
  action: string;
  resourceKind?: string;
  resourceName?: string;
  clientAddress?: string;
  outcome: 'success' | 'dry_run' | 'denied' | 'unauthenticated' | 'rejected' | 'error';
  status?: number;
  detail?: string;
}

interface Filters {
  action: string;
  resource: string;
  actor: string;
  from: string;
  to: string;
}

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: Entry[]; next?: number | undefined; loadingMore: boolean };

const EMPTY: Filters = { action: '', resource: '', actor: '', from: '', to: '' };
const OUTCOME_BADGE: Record<Entry['outcome'], string> = { success: 'published', dry_run: 'draft', denied: 'retired', unauthenticated: 'retired', rejected: 'deprecated', error: 'retired' };

/** `datetime-local` values are local wall time; the API takes RFC 3339. */
const toIso = (local: string): string | undefined => (local === '' ? undefined : new Date(local).toISOString());

function queryOf(f: Filters, after?: number): string {
  const q = new URLSearchParams({ limit: '50' });
  if (f.action.trim() !== '') q.set('action', f.action.trim());
  if (f.resource.trim() !== '') q.set('resource', f.resource.trim());
  if (f.actor.trim() !== '') q.set('actor', f.actor.trim());
  const from = toIso(f.from);
  const to = toIso(f.to);
  if (from !== undefined) q.set('from', from);
  if (to !== undefined) q.set('to', to);
  if (after !== undefined) q.set('after', String(after));
  return q.toString();
}

/** The Audit log screen (role admin): every change and failed authentication, newest first, filtered on the server. */
export function AuditLog() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    setState({ kind: 'loading' });
    call<{ items: Entry[]; next?: number }>('GET', `/audit-log?${queryOf(filters)}`)
      .then((p) => setState({ kind: 'loaded', items: p.items, next: p.next, loadingMore: false }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The audit log could not be loaded.') }));
  };
  useEffect(load, [filters]);
  const more = () => {
    if (state.kind !== 'loaded' || state.next === undefined) return;
    setState({ ...state, loadingMore: true });
    call<{ items: Entry[]; next?: number }>('GET', `/audit-log?${queryOf(filters, state.next)}`)
      .then((p) => setState({ kind: 'loaded', items: [...state.items, ...p.items], next: p.next, loadingMore: false }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The audit log could not be loaded.') }));
  };
  const field = (key: keyof Filters) => (e: Event) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value });

  return (
    <section aria-labelledby="audit-title">
      <div class="page-head">
        <h1 id="audit-title">Audit log</h1>
      </div>
      <form
        class="card filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
        aria-label="Audit log filters"
      >
        <div>
          <label for="audit-action">Action</label>
          <input id="audit-action" value={draft.action} onInput={field('action')} placeholder="api-key.create" />
        </div>
        <div>
          <label for="audit-resource">Resource</label>
          <input id="audit-resource" value={draft.resource} onInput={field('resource')} placeholder="Consumer/acme" />
        </div>
        <div>
          <label for="audit-actor">Actor token id</label>
          <input id="audit-actor" value={draft.actor} onInput={field('actor')} placeholder="atk_…" />
        </div>
        <div>
          <label for="audit-from">From</label>
          <input id="audit-from" type="datetime-local" value={draft.from} onInput={field('from')} />
        </div>
        <div>
          <label for="audit-to">To</label>
          <input id="audit-to" type="datetime-local" value={draft.to} onInput={field('to')} />
        </div>
        <div class="filter-actions">
          <button type="submit" class="primary">
            Filter
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {state.kind === 'loading' && <Loading label="Loading the audit log…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && <Empty title="No entries">Nothing in the audit log matches these filters.</Empty>}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <div class="card table-card">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Outcome</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {state.items.map((e) => (
                <tr key={e.id}>
                  <td class="nowrap">{formatDateTime(e.at, true)}</td>
                  <td>{e.actor ? <span title={e.actor.id}>{`${e.actor.name} (${e.actor.role})`}</span> : <span class="muted">{e.clientAddress ?? 'unknown'}</span>}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{e.resourceKind !== undefined ? `${e.resourceKind}${e.resourceName !== undefined ? `/${e.resourceName}` : ''}` : <span class="muted">—</span>}</td>
                  <td class="nowrap">
                    <span class={`badge badge-${OUTCOME_BADGE[e.outcome]}`}>{e.outcome.replace('_', ' ')}</span>
                    {e.status !== undefined && <span class="muted"> {e.status}</span>}
                  </td>
                  <td class="detail">{e.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {state.next !== undefined && (
            <div class="more">
              <button type="button" class="secondary" onClick={more} disabled={state.loadingMore}>
                {state.loadingMore ? 'Loading…' : 'Load older entries'}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
