import { useEffect, useState } from 'preact/hooks';
import type { Role } from './api.js';
import { ConsumerKeys } from './consumer-keys.js';
import { ConsumerOAuthClients } from './consumer-oauth-clients.js';
import { ConsumerSignatureKeys } from './consumer-signature-keys.js';
import { ConsumerSubscriptions } from './consumer-subscriptions.js';
import { ConsumerUsageChart } from './consumer-usage-chart.js';
import { getConsumer, type ConsumerDocument } from './consumers.js';
import { hrefOf } from './hash-route.js';
import { can } from './permissions.js';
import { ErrorState, Loading, messageOf } from './ui/states.js';

type State = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'loaded'; consumer: ConsumerDocument };

/** A consumer's page: its API keys, OAuth clients, signature keys, subscriptions with remaining quota, and usage over the last day. */
export function ConsumerDetail({ name, role }: { name: string; role: Role }) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  // Bumped after a change that moves usage or quota (a new subscription), so the cards reload.
  const [generation, setGeneration] = useState(0);
  const load = () => {
    setState({ kind: 'loading' });
    getConsumer(name)
      .then((consumer) => setState({ kind: 'loaded', consumer }))
      .catch((err: unknown) => setState({ kind: 'error', message: messageOf(err, 'The consumer could not be loaded.') }));
  };
  useEffect(load, [name]);

  return (
    <section aria-labelledby="consumer-title">
      <p class="crumbs">
        <a href={hrefOf('consumers')}>Consumers</a> /
      </p>
      <div class="page-head">
        <h1 id="consumer-title">{name}</h1>
        {state.kind === 'loaded' && state.consumer.spec.customId !== undefined && <span class="count">Custom ID {state.consumer.spec.customId}</span>}
      </div>
      {state.kind === 'loading' && <Loading label="Loading consumer…" />}
      {state.kind === 'error' && <ErrorState message={state.message} retry={load} />}
      {state.kind === 'loaded' && (
        <div class="stack">
          {can(role, 'keys:read') && <ConsumerKeys consumer={name} canWrite={can(role, 'keys:write')} />}
          {can(role, 'keys:read') && <ConsumerOAuthClients consumer={name} scopes={state.consumer.spec.scopes ?? []} canWrite={can(role, 'keys:write')} />}
          {/* Signature keys live in the Consumer's spec: changing them is a PUT of the Consumer (config:write). */}
          {can(role, 'config:read') && <ConsumerSignatureKeys consumer={name} canWrite={can(role, 'config:write')} />}
          <ConsumerSubscriptions consumer={name} canWrite={can(role, 'config:write')} canListPlans={can(role, 'config:read')} generation={generation} onChanged={() => setGeneration(generation + 1)} />
          <ConsumerUsageChart consumer={name} generation={generation} />
        </div>
      )}
    </section>
  );
}
