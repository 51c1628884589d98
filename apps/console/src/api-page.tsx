import { stringify } from 'yaml';
import { getApi, type LifecycleState } from './config-api.js';
import type { ApiDocument } from './apis.js';
import { hrefOf } from './hash-route.js';
import { LifecycleActions } from './lifecycle-actions.js';
import { useLoad } from './load-state.js';
import { LoadView } from './load-view.js';
import { YamlApply } from './yaml-apply.js';

/** A route as the API page lists it (the fields of packages/model api.ts it shows). */
interface RouteView {
  name: string;
  match?: { path?: Record<string, string>; methods?: string[] }[];
  destination?: { upstream: string; subset?: string };
  destinations?: { upstream: string; weight: number }[];
  redirect?: unknown;
  directResponse?: { status: number };
  aggregate?: unknown;
  policies?: { name: string; enabled?: boolean }[];
}

interface Props {
  name: string;
  canWrite: boolean;
}

/** One API: its state and lifecycle actions, routes with their policies, and its YAML to edit, preview and apply. */
export function ApiPage({ name, canWrite }: Props) {
  const [state, reload] = useLoad(() => getApi(name), [name]);
  return (
    <section aria-labelledby="api-title">
      <p class="crumbs">
        <a href={hrefOf('apis')}>APIs</a> / <span>{name}</span>
      </p>
      <LoadView state={state} what={`API ${name}`} retry={reload}>
        {(api) => <ApiDetail api={api} canWrite={canWrite} reload={reload} />}
      </LoadView>
    </section>
  );
}

function ApiDetail({ api, canWrite, reload }: { api: ApiDocument; canWrite: boolean; reload: () => void }) {
  const name = api.metadata.name;
  const lifecycle = (api.spec.lifecycle?.state ?? 'published') as LifecycleState;
  const routes = (api.spec.routes ?? []) as RouteView[];
  const apiPolicies = ((api.spec as { policies?: RouteView['policies'] }).policies ?? []).filter((p) => p.enabled !== false);
  return (
    <>
      <div class="page-head api-head">
        <h1 id="api-title">{name}</h1>
        <span class={`badge badge-${lifecycle}`}>{lifecycle}</span>
        <span class="count">
          {api.spec.version ?? 'v1'} · <code>{api.spec.basePath ?? '/'}</code> · {api.spec.hosts && api.spec.hosts.length > 0 ? api.spec.hosts.join(', ') : 'any host'}
        </span>
        <LifecycleActions name={name} state={lifecycle} canWrite={canWrite} onChanged={reload} />
      </div>
      {api.spec.description ? <p class="muted">{api.spec.description}</p> : null}
      <h2 class="section-title">Policies on every route</h2>
      {apiPolicies.length === 0 ? <p class="muted">None: routes run only their own policies.</p> : <PolicyList policies={apiPolicies} />}
      <h2 class="section-title">Routes ({routes.length})</h2>
      {routes.length === 0 ? (
        <div class="state">
          <h3>No routes</h3>
          <p class="muted">Add routes in the YAML below; an API without routes serves nothing.</p>
        </div>
      ) : (
        <div class="card table-card">
          <table>
            <thead>
              <tr>
                <th scope="col">Route</th>
                <th scope="col">Methods</th>
                <th scope="col">Path</th>
                <th scope="col">Sends to</th>
                <th scope="col">Policies</th>
              </tr>
            </thead>
            <tbody>
              {routes.map((r) => (
                <tr key={r.name}>
                  <td>
                    <span class="name">{r.name}</span>
                  </td>
                  <td>{methodsOf(r)}</td>
                  <td>{pathsOf(r)}</td>
                  <td>{targetOf(r)}</td>
                  <td>{(r.policies ?? []).length === 0 ? <span class="muted">–</span> : <PolicyList policies={r.policies ?? []} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2 class="section-title">Configuration</h2>
      <YamlApply key={stringify(api)} id="api-yaml" label={`YAML of Api/${name}`} initial={stringify(api)} canWrite={canWrite} onApplied={reload} />
    </>
  );
}

function PolicyList({ policies }: { policies: NonNullable<RouteView['policies']> }) {
  return (
    <ul class="chips" aria-label="Policies">
      {policies.map((p, i) => (
        <li key={`${p.name}-${i}`} class={p.enabled === false ? 'chip chip-off' : 'chip'}>
          {p.name}
          {p.enabled === false ? ' (off)' : ''}
        </li>
      ))}
    </ul>
  );
}

function methodsOf(r: RouteView): string {
  const methods = new Set((r.match ?? []).flatMap((m) => m.methods ?? []));
  return methods.size === 0 ? 'any' : [...methods].join(', ');
}

function pathsOf(r: RouteView) {
  return (r.match ?? []).map((m, i) => {
    const [kind, value] = Object.entries(m.path ?? { prefix: '/' })[0] ?? ['prefix', '/'];
    return (
      <span class="desc" key={i}>
        <span class="muted">{kind}</span> <code>{value}</code>
      </span>
    );
  });
}

function targetOf(r: RouteView): string {
  if (r.destination) return r.destination.upstream + (r.destination.subset ? ` (${r.destination.subset})` : '');
  if (r.destinations) return r.destinations.map((d) => `${d.upstream} ${d.weight}`).join(' / ');
  if (r.directResponse) return `answers ${r.directResponse.status}`;
  if (r.redirect) return 'redirect';
  if (r.aggregate) return 'aggregate';
  return '–';
}
