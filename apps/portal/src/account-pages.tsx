import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Key, type Plan, type Usage } from './api.js';

const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '');
const num = (n: number) => n.toLocaleString();
const money = (minor: number, currency: string) => new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);

function useLoad<T>(load: () => Promise<T>): [T | undefined, string | undefined, () => void] {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    load().then(setData, (e: unknown) => setError(e instanceof ApiError ? e.message : 'Could not load.'));
  }, [tick]);
  return [data, error, () => setTick((t) => t + 1)];
}

export function Keys() {
  const [keys, error, reload] = useLoad(api.keys);
  const [name, setName] = useState('');
  const [fresh, setFresh] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const live = keys?.items.filter((k) => !k.revokedAt) ?? [];
  const revoked = keys?.items.filter((k) => k.revokedAt) ?? [];
  return (
    <section class="page">
      <div class="hero">
        <h1>API keys</h1>
        <p class="muted">Send a key in the <code>X-API-Key</code> header. Keys are shown once, when created: Tollgate keeps only a digest.</p>
      </div>
      <form
        class="card pad row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          setProblem(undefined);
          try {
            const created = await api.createKey(name);
            setFresh(created.key);
            setName('');
            reload();
          } catch (err) {
            setProblem(err instanceof ApiError ? err.message : 'Could not create the key.');
          }
        }}
      >
        <div class="field grow">
          <label for="key-name">Key name</label>
          <input id="key-name" value={name} required maxLength={64} placeholder="e.g. production server" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <button class="primary" type="submit">Create key</button>
      </form>
      {fresh ? (
        <div class="card pad secret" role="status">
          <strong>Copy your new key now. It will not be shown again.</strong>
          <code class="key" data-testid="new-key">{fresh}</code>
          <button class="secondary" onClick={() => void navigator.clipboard?.writeText(fresh)}>Copy</button>
        </div>
      ) : null}
      {problem || error ? <p role="alert" class="alert">{problem ?? error}</p> : null}
      <div class="card">
        <table>
          <thead>
            <tr><th>Name</th><th>Key</th><th>Created</th><th /></tr>
          </thead>
          <tbody>
            {live.length === 0 ? <tr><td colSpan={4} class="muted">No active keys yet.</td></tr> : null}
            {live.map((k: Key) => (
              <tr key={k.id}>
                <td data-label="Name">{k.name}</td>
                <td data-label="Key"><code>{k.prefix}…{k.last4}</code></td>
                <td data-label="Created">{when(k.createdAt)}</td>
                <td class="end">
                  <button
                    class="danger"
                    onClick={async () => {
                      if (!window.confirm(`Revoke ${k.name ?? k.id}? Calls with it stop working within a second.`)) return;
                      await api.revokeKey(k.id).catch(() => undefined);
                      reload();
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
      {revoked.length > 0 ? <p class="muted small">{revoked.length} revoked key{revoked.length === 1 ? '' : 's'} not shown.</p> : null}
    </section>
  );
}

function Meter({ label, used, limit, reset }: { label: string; used: number; limit: number; reset: number }) {
  const share = Math.min(1, limit === 0 ? 1 : used / limit);
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : '';
  return (
    <div class="meter-row">
      <div class="row between">
        <span>{label}</span>
        <span><strong>{num(used)}</strong> / {num(limit)}</span>
      </div>
      <progress class={level} max={limit} value={Math.min(used, limit)} aria-label={`${label}: ${used} of ${limit} used`} />
      <small class="muted">{share >= 1 ? 'Used up. ' : ''}Resets in {reset >= 86_400 ? `${Math.ceil(reset / 86_400)} days` : reset >= 3600 ? `${Math.ceil(reset / 3600)} h` : `${Math.max(1, Math.ceil(reset / 60))} min`}</small>
    </div>
  );
}

export function PlansAndUsage() {
  const [plans] = useLoad(api.plans);
  const [subs, error, reloadSubs] = useLoad(api.subscriptions);
  const [requests, , reloadRequests] = useLoad(api.requests);
  const reload = () => {
    reloadSubs();
    reloadRequests();
  };
  const pending = new Set(requests?.items.filter((r) => r.status === 'pending').map((r) => r.plan) ?? []);
  const upcoming = new Map((subs?.items ?? []).filter((s) => s.start !== null && Date.parse(s.start) > Date.now()).map((s) => [s.plan, s.start ?? '']));
  const choose = async (plan: string, when: 'now' | 'next-period') => {
    setProblem(undefined);
    try {
      await api.subscribe(plan, when);
      reload();
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : 'Could not subscribe.');
    }
  };
  const [problem, setProblem] = useState<string>();
  const current = new Set(subs?.items.filter((s) => s.active).map((s) => s.plan) ?? []);
  return (
    <section class="page">
      <div class="hero">
        <h1>Plans &amp; usage</h1>
        <p class="muted">Your usage against each plan's quota and rate limits, as the gateway counts it.</p>
      </div>
      {problem || error ? <p role="alert" class="alert">{problem ?? error}</p> : null}
      <h2>Your usage</h2>
      {subs?.items.filter((s) => s.active).length === 0 ? <div class="card pad empty">You have no subscription yet: pick a plan below.</div> : null}
      <div class="grid">
        {subs?.items.filter((s: Usage) => s.active).map((s) => (
          <article class="card pad" key={s.name} aria-label={`Usage on ${s.plan}`}>
            <h3>{s.plan}{s.api ? ` · ${s.api}` : ' · all APIs'}</h3>
            {s.quota ? <Meter label={`Monthly quota (${s.quota.period})`} used={s.quota.used} limit={s.quota.limit} reset={s.quota.resetSeconds} /> : null}
            {s.limits.map((l) => <Meter key={l.window} label={`Rate limit per ${l.window}`} used={l.used} limit={l.limit} reset={l.resetSeconds} />)}
          </article>
        ))}
      </div>
      <h2>Plans</h2>
      <div class="grid">
        {plans?.items.map((p: Plan) => (
          <article class={`card pad plan${current.has(p.name) ? ' chosen' : ''}`} key={p.name}>
            <h3>{p.name}</h3>
            {p.description ? <p class="muted">{p.description}</p> : null}
            <p class="price">{p.price ? (p.price.baseFee > 0 ? `${money(p.price.baseFee, p.price.currency)} / month` : 'Free') : 'Free'}</p>
            <ul class="facts">
              {p.quota ? <li>{num(p.quota.limit)} requests a month{p.quota.overage === 'allow' ? ', overage billed' : ''}</li> : <li>No monthly quota</li>}
              {p.limits.map((l) => <li key={l.window}>{num(l.limit)} requests per {l.window}</li>)}
            </ul>
            {p.offer === 'approval' ? <p class="small muted">Subscriptions to this plan are approved by the API's operators.</p> : null}
            {current.has(p.name) ? (
              <span class="badge ok">Your plan</span>
            ) : pending.has(p.name) ? (
              <span class="badge warn">Requested · waiting for approval</span>
            ) : upcoming.has(p.name) ? (
              <span class="badge">Starts {new Date(upcoming.get(p.name) ?? '').toLocaleDateString(undefined, { dateStyle: 'medium' })}</span>
            ) : (
              <div class="row wrap">
                <button class="primary" onClick={() => void choose(p.name, 'now')}>
                  {p.offer === 'approval' ? `Request ${p.name}` : current.size > 0 ? `Switch to ${p.name}` : `Subscribe to ${p.name}`}
                </button>
                {p.offer === 'self-service' && current.size > 0 && upcoming.size === 0 ? (
                  <button class="secondary" onClick={() => void choose(p.name, 'next-period')}>From next month</button>
                ) : null}
              </div>
            )}
          </article>
        ))}
      </div>
      {current.size > 0 ? <p class="muted small">"Switch" ends the current plan now and both are billed for their share of the month; "From next month" keeps it until its billing month ends.</p> : null}
    </section>
  );
}

/** Months from the account's creation to now, newest first (at most two years). */
function months(since: string): string[] {
  const out: string[] = [];
  const d = new Date();
  const first = since.slice(0, 7);
  for (let i = 0; i < 24; i++) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    const month = m.toISOString().slice(0, 7);
    if (i > 0 && month < first) break;
    out.push(month);
  }
  return out;
}

export function Invoices({ since }: { since: string }) {
  return (
    <section class="page">
      <div class="hero">
        <h1>Invoices</h1>
        <p class="muted">Monthly statements of your usage and charges. The current month is a preview until it closes.</p>
      </div>
      <div class="card">
        <table>
          <thead>
            <tr><th>Month</th><th>Download</th></tr>
          </thead>
          <tbody>
            {months(since).map((m, i) => (
              <tr key={m}>
                <td data-label="Month">{new Date(`${m}-01T00:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' })}{i === 0 ? <span class="badge">preview</span> : null}</td>
                <td data-label="Download" class="links">
                  <a href={`/api/invoice?month=${m}&format=html`} target="_blank" rel="noopener">HTML</a>
                  <a href={`/api/invoice?month=${m}&format=pdf`} download>PDF</a>
                  <a href={`/api/invoice?month=${m}&format=csv`} download>CSV</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
