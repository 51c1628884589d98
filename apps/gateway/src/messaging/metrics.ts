import { Counter, Gauge, type Registry } from 'prom-client';
import type { BrokerPool } from './broker-pool.js';
import type { BrokerStats } from './client.js';

/**
 * Per-broker series read at scrape time from the pool's clients (nothing is done per message):
 * connection state, publishes, confirms, failures, requests, deliveries and reconnects.
 */
export function registerBrokerMetrics(registry: Registry, pool: BrokerPool): void {
  const registers = [registry];
  new Gauge({
    name: 'tollgate_broker_connected',
    help: '1 when the connection to the message broker is up, 0 while it is down or connecting.',
    labelNames: ['broker', 'type'],
    registers,
    aggregator: 'min',
    collect() {
      this.reset();
      for (const c of pool.clients()) this.labels(c.name, c.type).set(c.connected() ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, field: keyof BrokerStats): void => {
    // A Counter whose value is set from the client's running total at scrape time.
    new Counter({
      name,
      help,
      labelNames: ['broker', 'type'],
      registers,
      collect() {
        this.reset();
        for (const c of pool.clients()) this.labels(c.name, c.type).inc(c.stats[field]);
      },
    });
  };
  counter('tollgate_broker_publishes_total', 'Messages the gateway sent to the broker (publishes).', 'publishes');
  counter('tollgate_broker_confirms_total', 'Publishes the broker confirmed (JetStream ack, publisher confirm, PUBACK; core NATS: flushed).', 'confirms');
  counter('tollgate_broker_failures_total', 'Publishes and requests that failed (not confirmed in time, refused, no reply, no responders).', 'failures');
  counter('tollgate_broker_requests_total', 'Request-reply calls sent.', 'requests');
  counter('tollgate_broker_deliveries_total', 'Messages delivered to subscribers (Server-Sent Events).', 'deliveries');
  counter('tollgate_broker_reconnects_total', 'Times the connection came back after being lost.', 'reconnects');
}
