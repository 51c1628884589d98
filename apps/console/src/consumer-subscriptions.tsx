import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { consumerUsage, subscribe, type SubscriptionUsage } from './consumers.js';
import { formatDuration, formatNumber } from './ui/format.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: SubscriptionUsage[] };

interface Props {
  consumer: string;
  canWrite: boolean;
  canListPlans: boolean;
  generation: number;
  onChanged: () => void;
}

/** A consumer's subscriptions: plan, API, rate-limit windows and the remaining monthly quota; and putting the consumer on a plan. */
export function ConsumerSubscriptions({ consumer, canWrite, canListPlans, generation, onChanged }: Props) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    consumerUsage(consumer)
      .then((u) => setState({ kind: 'loaded', items: u.subscriptions }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The subscriptions could not be loaded.') }));
  };
  useEffect(load, [consumer, generation]);

  return (
    <div class="card panel" role="region" aria-labelledby="subs-title">
      <div class="panel-head">
        <h2 id="subs-title">Subscriptions and quota</h2>
        <button type="button" class="secondary small" onClick={load}>
          Refresh
        </button>
      </div>
      {state.kind === 'loading' && <Loading label="Loading subscriptions…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && <p class="muted pad">Not subscribed to any plan: the consumer's calls are limited only by the APIs' own policies.</p>}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">API</th>
              <th scope="col">Rate limits</th>
              <th scope="col">Monthly quota</th>
              <th scope="col" class="num">
                Remaining
              </th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((s) => (
              <tr key={s.name}>
                <td>
                  <span class="name">{s.plan}</span>
                  {!s.active && <span class="badge badge-draft">inactive</span>}
                </td>
                <td>{s.api ?? <span class="muted">every API</span>}</td>
                <td>{s.limits.length === 0 ? <span class="muted">none</span> : s.limits.map((l) => <div key={l.window}>{`${formatNumber(l.used)} / ${formatNumber(l.limit)} per ${l.window}`}</div>)}</td>
                <td>
                  {s.quota === null ? (
                    <span class="muted">none</span>
                  ) : (
                    <div class="quota">
                      <meter min={0} max={s.quota.limit} value={s.quota.used} low={s.quota.limit * 0.5} high={s.quota.limit * 0.8} optimum={0} aria-label={`Quota used for ${s.plan}`} />
                      <span>
                        {formatNumber(s.quota.used)} of {formatNumber(s.quota.limit)} used ({s.quota.period}, resets in {formatDuration(s.quota.resetSeconds)})
                      </span>
                    </div>
                  )}
                </td>
                <td class="num" data-testid={`remaining-${s.name}`}>
                  {s.quota === null ? '—' : formatNumber(s.quota.remaining)}
                  {s.quota !== null && s.quota.remaining === 0 && <span class="badge plain badge-retired">{s.quota.overage === 'hard' ? 'used up: 429' : 'overage billed'}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && canListPlans && <Subscribe consumer={consumer} onDone={onChanged} />}
    </div>
  );
}

/** Puts the consumer on a plan, for every API or one, starting now. */
function Subscribe({ consumer, onDone }: { consumer: string; onDone: () => void }) {
  const [plans, setPlans] = useState<string[] | undefined>();
  const [apis, setApis] = useState<string[]>([]);
  const [plan, setPlan] = useState('');
  const [api, setApi] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    call<{ items: Array<{ metadata: { name: string } }> }>('GET', '/plans?limit=500')
      .then((p) => {
        setPlans(p.items.map((x) => x.metadata.name));
        setPlan(p.items[0]?.metadata.name ?? '');
      })
      .catch(() => setPlans([]));
    call<{ items: Array<{ metadata: { name: string } }> }>('GET', '/apis?limit=500')
      .then((p) => setApis(p.items.map((x) => x.metadata.name)))
      .catch(() => setApis([]));
  }, []);
  if (plans === undefined || plans.length === 0) return null;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await subscribe(consumer, plan, api === '' ? undefined : api);
      onDone();
    } catch (err) {
      setError(messageOf(err, 'The subscription could not be created.'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit}>
      <label for="sub-plan" class="inline-label">
        Plan
      </label>
      <select id="sub-plan" value={plan} onChange={(e) => setPlan((e.target as HTMLSelectElement).value)}>
        {plans.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <label for="sub-api" class="inline-label">
        API
      </label>
      <select id="sub-api" value={api} onChange={(e) => setApi((e.target as HTMLSelectElement).value)}>
        <option value="">Every API</option>
        {apis.map((a) => (
          <option key={a} value={a}>
            {a}
          </option>
        ))}
      </select>
      <button type="submit" class="primary" disabled={busy || plan === ''}>
        {busy ? 'Subscribing…' : 'Subscribe'}
      </button>
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
