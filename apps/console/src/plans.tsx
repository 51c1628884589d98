import { useEffect, useState } from 'preact/hooks';
import { call } from './api.js';
import { formatMoney, formatNumber, formatUnitPrice } from './ui/format.js';
import { Empty, ErrorState, Loading, messageOf } from './ui/states.js';

interface Tier {
  upTo: number | null;
  unitPrice: string;
  flatFee?: number;
}
type Charge = { perUnit: { unitPrice: string } } | { graduated: { tiers: Tier[] } } | { volume: { tiers: Tier[] } } | { package: { size: number; price: number } };

interface PlanDocument {
  metadata: { name: string };
  spec: {
    description?: string;
    limits?: Array<{ limit: number; window: string }>;
    quota?: { limit: number; timeZone?: string; overage?: 'hard' | 'allow' };
    billing?: { currency: string; baseFee?: number; includedUnits?: number; charge?: Charge; timeZone?: string };
  };
}

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; items: PlanDocument[] };

/** Describes a charge model in one line, in the plan's currency. */
function describeCharge(charge: Charge | undefined, currency: string): string {
  if (charge === undefined) return 'no charge past the included units';
  if ('perUnit' in charge) return `${formatUnitPrice(charge.perUnit.unitPrice, currency)} per unit`;
  if ('package' in charge) return `${formatMoney(charge.package.price, currency)} per ${formatNumber(charge.package.size)} units`;
  const tiers = 'graduated' in charge ? charge.graduated.tiers : charge.volume.tiers;
  const kind = 'graduated' in charge ? 'graduated' : 'volume';
  return `${kind}: ${tiers.map((t) => `${t.upTo === null ? 'then' : `up to ${formatNumber(t.upTo)}`} ${formatUnitPrice(t.unitPrice, currency)}`).join(', ')}`;
}

/** The Plans screen: each plan's rate limits, monthly quota and price. */
export function Plans() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = () => {
    setState({ kind: 'loading' });
    call<{ items: PlanDocument[] }>('GET', '/plans?limit=500')
      .then((p) => setState({ kind: 'loaded', items: p.items }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The plans could not be loaded.') }));
  };
  useEffect(load, []);

  return (
    <section aria-labelledby="plans-title">
      <div class="page-head">
        <h1 id="plans-title">Plans</h1>
        {state.kind === 'loaded' && <span class="count">{state.items.length} total</span>}
      </div>
      {state.kind === 'loading' && <Loading label="Loading plans…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && state.items.length === 0 && (
        <Empty title="No plans yet">
          A plan bundles rate limits, a monthly quota and a price. Declare one with <code>kind: Plan</code> in your configuration.
        </Empty>
      )}
      {state.kind === 'loaded' && state.items.length > 0 && (
        <div class="plan-grid">
          {state.items.map((p) => {
            const b = p.spec.billing;
            return (
              <article class="card plan" key={p.metadata.name} aria-labelledby={`plan-${p.metadata.name}`}>
                <h2 id={`plan-${p.metadata.name}`}>{p.metadata.name}</h2>
                {p.spec.description !== undefined && <p class="muted">{p.spec.description}</p>}
                <p class="price">
                  {b === undefined ? (
                    <span class="muted">Not priced</span>
                  ) : (
                    <>
                      <strong>{formatMoney(b.baseFee ?? 0, b.currency)}</strong>
                      <span class="muted"> / month</span>
                    </>
                  )}
                </p>
                <dl>
                  <dt>Rate limits</dt>
                  <dd>{p.spec.limits && p.spec.limits.length > 0 ? p.spec.limits.map((l) => `${formatNumber(l.limit)} per ${l.window}`).join(', ') : 'none'}</dd>
                  <dt>Monthly quota</dt>
                  <dd>{p.spec.quota ? `${formatNumber(p.spec.quota.limit)} requests${p.spec.quota.overage === 'allow' ? ', overage billed' : ', then 429'}` : 'none'}</dd>
                  {b !== undefined && (
                    <>
                      <dt>Included</dt>
                      <dd>{formatNumber(b.includedUnits ?? 0)} units a month</dd>
                      <dt>Past that</dt>
                      <dd>{describeCharge(b.charge, b.currency)}</dd>
                      <dt>Billing month</dt>
                      <dd>{b.timeZone ?? 'UTC'}</dd>
                    </>
                  )}
                </dl>
              </article>
            );
          })}
        </div>
      )}
    </section>
  );
}
