import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type CatalogueEntry } from './api.js';

const date = (iso: string) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });

function StateBadge({ api: a }: { api: CatalogueEntry }) {
  if (a.state === 'deprecated') return <span class="badge warn">Deprecated{a.sunsetAt ? ` · sunset ${date(a.sunsetAt)}` : ''}</span>;
  if (a.state === 'draft') return <span class="badge">Preview</span>;
  return <span class="badge ok">Published</span>;
}

export function Catalogue() {
  const [items, setItems] = useState<CatalogueEntry[] | undefined>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.catalogue().then((r) => setItems(r.items), (e: Error) => setError(e.message));
  }, []);
  const products = new Map<string, CatalogueEntry[]>();
  for (const a of items ?? []) products.set(a.product, [...(products.get(a.product) ?? []), a]);
  return (
    <section class="page">
      <div class="hero">
        <h1>APIs</h1>
        <p class="muted">Browse the APIs, read their reference, then create a key and subscribe to a plan.</p>
      </div>
      {error ? <p role="alert" class="alert">{error}</p> : null}
      {items === undefined && !error ? <p class="muted">Loading…</p> : null}
      {items?.length === 0 ? <div class="card pad empty">No APIs are published yet.</div> : null}
      <div class="grid">
        {[...products].map(([product, versions]) => (
          <article class="card pad api-card" key={product}>
            <h2>{product}</h2>
            <ul class="versions">
              {versions.map((v) => (
                <li key={v.name}>
                  <div class="row">
                    <strong>{v.version}</strong>
                    <StateBadge api={v} />
                  </div>
                  {v.description ? <p class="muted">{v.description}</p> : null}
                  <p class="small">
                    <code>{v.basePath}</code> · {v.routes} route{v.routes === 1 ? '' : 's'}
                  </p>
                  {v.hasReference ? <a href={`#/apis/${encodeURIComponent(v.name)}`}>Reference for {v.name} →</a> : <span class="muted small">No reference published</span>}
                </li>
              ))}
            </ul>
          </article>
        ))}
      </div>
    </section>
  );
}

export function ApiReference({ name, gatewayUrl }: { name: string; gatewayUrl: string }) {
  const node = useRef<HTMLDivElement>(null);
  const key = useRef('');
  const [entry, setEntry] = useState<CatalogueEntry | undefined>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.catalogue().then((r) => {
      const found = r.items.find((a) => a.name === name);
      if (!found) setError(`There is no API ${name} in the catalogue.`);
      setEntry(found);
    }, (e: Error) => setError(e.message));
  }, [name]);
  useEffect(() => {
    if (!entry?.hasReference || !node.current) return;
    const target = node.current;
    void import('./reference.js').then((m) => m.renderReference(target, `/api/catalogue/${encodeURIComponent(name)}/openapi.json`, gatewayUrl, () => key.current));
  }, [entry, name, gatewayUrl]);
  return (
    <section class="page">
      <p class="small"><a href="#/">← All APIs</a></p>
      {error ? <p role="alert" class="alert">{error}</p> : null}
      {entry ? (
        <div class="hero">
          <h1>{entry.product} {entry.version}</h1>
          <StateBadge api={entry} />
          {entry.state === 'deprecated' ? (
            <p class="alert warn-box">
              This version is deprecated{entry.sunsetAt ? ` and stops answering after ${date(entry.sunsetAt)}` : ''}.{entry.successor ? ` Move to ${entry.successor}.` : ''}
            </p>
          ) : null}
          <div class="field inline">
            <label for="try-key">Your API key for "Try it out"</label>
            <input id="try-key" type="password" autocomplete="off" placeholder="tg_…" onInput={(e) => (key.current = (e.target as HTMLInputElement).value)} />
            <small class="muted">Sent as X-API-Key to {gatewayUrl} only; never stored.</small>
          </div>
        </div>
      ) : null}
      <div ref={node} class="reference card" />
    </section>
  );
}
