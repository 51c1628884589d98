import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { listApis, type ApiDocument } from './apis.js';
import { hrefOf } from './hash-route.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: ApiDocument[]; next?: string | undefined; loadingMore: boolean };

/** The APIs screen: every Api with version, base path, hosts, lifecycle state and route count. */
export function ApisList() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = () => {
    setState({ kind: 'loading' });
    listApis()
      .then((page) => setState({ kind: 'loaded', items: page.items, next: page.next, loadingMore: false }))
      .catch((err: unknown) => setState({ kind: 'error', message: err instanceof ApiError ? err.message : 'The APIs could not be loaded.' }));
  };
  useEffect(load, []);

  const more = () => {
    if (state.kind !== 'loaded' || state.next === undefined) return;
    setState({ ...state, loadingMore: true });
    listApis(state.next)
      .then((page) => setState({ kind: 'loaded', items: [...state.items, ...page.items], next: page.next, loadingMore: false }))
      .catch((err: unknown) => setState({ kind: 'error', message: err instanceof ApiError ? err.message : 'The APIs could not be loaded.' }));
  };

  return (
    <section aria-labelledby="apis-title">
      <div class="page-head">
        <h1 id="apis-title">APIs</h1>
        {state.kind === 'loaded' && <span class="count">{state.items.length + (state.next !== undefined ? '+' : '')} total</span>}
      </div>
      {state.kind === 'loading' && (
        <div class="state" aria-busy="true" role="status">
          Loading APIs…
        </div>
      )}
      {state.kind === 'error' && (
        <div class="state state-error" role="alert">
          <p>{state.message}</p>
          <button type="button" class="secondary" onClick={load}>
            Try again
          </button>
        </div>
      )}
      {state.kind === 'loaded' && state.items.length === 0 && (
        <div class="state">
          <h2>No APIs yet</h2>
          <p class="muted">
            Apply a configuration with <code>tollgate apply -f tollgate.yaml</code> or import an OpenAPI document with <code>tollgate import openapi</code>; it appears here.
          </p>
        </div>
      )}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <div class="card table-card">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Base path</th>
                <th scope="col">Hosts</th>
                <th scope="col">Lifecycle</th>
                <th scope="col" class="num">
                  Routes
                </th>
              </tr>
            </thead>
            <tbody>
              {state.items.map((api) => {
                const lifecycle = api.spec.lifecycle?.state ?? 'published';
                return (
                  <tr key={api.metadata.name}>
                    <td>
                      <a class="name" href={hrefOf('apis', api.metadata.name)}>
                        {api.metadata.name}
                      </a>
                      {api.spec.description ? <span class="desc">{api.spec.description}</span> : null}
                    </td>
                    <td>{api.spec.version ?? 'v1'}</td>
                    <td>
                      <code>{api.spec.basePath ?? '/'}</code>
                    </td>
                    <td>{api.spec.hosts && api.spec.hosts.length > 0 ? api.spec.hosts.join(', ') : <span class="muted">any</span>}</td>
                    <td>
                      <span class={`badge badge-${lifecycle}`}>{lifecycle}</span>
                    </td>
                    <td class="num">{api.spec.routes?.length ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {state.next !== undefined && (
            <div class="more">
              <button type="button" class="secondary" onClick={more} disabled={state.loadingMore}>
                {state.loadingMore ? 'Loading…' : 'Load more'}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
