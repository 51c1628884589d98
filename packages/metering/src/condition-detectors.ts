import { outboxEvent, type OutboxEvent } from '@tollgate/model';
import type { UsageEvent } from './accumulator.js';

/** Thresholds of the traffic conditions a node turns into events (settings `EVENT_*`). */
export interface DetectorOptions {
  /** Length of the evaluation windows, ms; windows are aligned to the epoch so every node evaluates the same ones. Default 5 min. */
  readonly windowMs?: number;
  /** Gateway 429 answers to one consumer within one window that raise `consumer.rate_limited`. Default 50. */
  readonly rateLimitedThreshold?: number;
  /** 5xx share of an API's answers in one window above which `api.error_rate_high` is raised. Default 0.05. */
  readonly errorRateThreshold?: number;
  /** Fewer answers than this in a window say nothing about an API's error rate. Default 20. */
  readonly errorRateMinRequests?: number;
}

/** What a detector hands to the meter: an event, and for up/down conditions the latch that makes it once across nodes. */
export type Raise = (event: OutboxEvent, latch?: { key: string; state: string; initial: string }) => void;

interface Window {
  start: number;
  /** API → [answers, 5xx answers]. */
  apis: Map<string, [number, number]>;
  /** Consumer → [gateway 429 answers, the API of the last one]. */
  limited: Map<string, [number, string]>;
}

/**
 * Counts, per window, each API's answers and 5xx answers and each consumer's gateway 429s, from the
 * usage events the meter records anyway (one map update per request, no I/O). Evaluated at flush
 * time: a consumer past the 429 threshold raises `consumer.rate_limited` at once (deduplicated per
 * consumer and window across nodes); an API's error rate is judged on each completed window and
 * raises `api.error_rate_high` / `api.error_rate_normal` through a latch, so the change is announced
 * once. Each node judges its own traffic: behind a balancer that spreads a consumer or an API
 * evenly, that is a sample of the whole (documented in docs/events.md).
 */
export class ConditionDetectors {
  readonly #windowMs: number;
  readonly #limitedAt: number;
  readonly #errorRate: number;
  readonly #minRequests: number;
  #current: Window | null = null;
  #completed: Window | null = null;
  readonly #raisedLimited = new Set<string>();

  constructor(options: DetectorOptions = {}) {
    this.#windowMs = options.windowMs ?? 300_000;
    this.#limitedAt = options.rateLimitedThreshold ?? 50;
    this.#errorRate = options.errorRateThreshold ?? 0.05;
    this.#minRequests = options.errorRateMinRequests ?? 20;
  }

  #window(t: number): Window {
    const start = t - (t % this.#windowMs);
    const w = this.#current;
    if (w !== null && w.start === start) return w;
    // A new window: the one before it (if it is the directly preceding one) is complete.
    if (w !== null) this.#completed = w.start === start - this.#windowMs ? w : null;
    this.#raisedLimited.clear();
    return (this.#current = { start, apis: new Map(), limited: new Map() });
  }

  /** Counts one answered request (synchronous). */
  record(e: UsageEvent): void {
    const w = this.#window(e.at);
    let a = w.apis.get(e.api);
    if (a === undefined) w.apis.set(e.api, (a = [0, 0]));
    a[0] += 1;
    if (e.status >= 500) a[1] += 1;
    if (e.status === 429 && e.source === 'gateway' && e.consumer !== null) {
      const c = w.limited.get(e.consumer);
      if (c === undefined) w.limited.set(e.consumer, [1, e.api]);
      else {
        c[0] += 1;
        c[1] = e.api;
      }
    }
  }

  /** Raises what the counts say at `now` (called from the meter's flush). */
  evaluate(now: number, node: string, raise: Raise): void {
    const w = this.#window(now);
    const windowSeconds = this.#windowMs / 1000;
    for (const [consumer, [refused, api]] of w.limited) {
      if (refused < this.#limitedAt || this.#raisedLimited.has(consumer)) continue;
      this.#raisedLimited.add(consumer);
      const windowStart = new Date(w.start).toISOString();
      raise(outboxEvent('consumer.rate_limited', { consumer, api, refused, threshold: this.#limitedAt, windowStart, windowSeconds, node }, `consumer.rate_limited:${consumer}:${windowStart}`));
    }
    const done = this.#completed;
    if (done === null) return;
    this.#completed = null;
    for (const [api, [requests, errors]] of done.apis) {
      if (requests < this.#minRequests) continue;
      const errorRate = errors / requests;
      const high = errorRate > this.#errorRate;
      const data = { api, errorRate: Math.round(errorRate * 10_000) / 10_000, requests, errors, threshold: this.#errorRate, windowStart: new Date(done.start).toISOString(), windowSeconds, node };
      raise(outboxEvent(high ? 'api.error_rate_high' : 'api.error_rate_normal', data), { key: `api-error-rate:${api}`, state: high ? 'high' : 'normal', initial: 'normal' });
    }
  }
}
