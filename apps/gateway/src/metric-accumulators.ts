import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms whose per-request recording is a plain number update.
 *
 * prom-client's `inc()`/`observe()` (even on a child from `labels()`) validate the labels and
 * re-hash them into a string key on every call: about 6 % of a bare route's instructions
 * (issue #16). Here a series is an object found once (the gateway keeps it per route) and bumped
 * in place; prom-client's registry still serializes the families at scrape time, from the same
 * value shapes its own `Counter` and `Histogram` produce, so `/metrics` reads exactly as before
 * (names, help, label order, series order, values). `metric-accumulators.test.ts` checks that
 * against prom-client fed the same calls.
 */

/** Label values of one series, in the family's label-name order. */
export type LabelValues = Readonly<Record<string, string | number>>;

/** One labelled counter series: add to `value` directly. */
export interface CounterSeries {
  readonly labels: LabelValues;
  value: number;
}

/** One labelled histogram series; record with {@link HistogramFamily.observe}. */
export interface HistogramSeries {
  readonly labels: LabelValues;
  /** Non-cumulative count per finite bucket (index into the family's bounds). */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A value row in prom-client's exposition shape (what its registry formats). */
interface ValueRow {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName?: string;
  /** prom-client sets null on histogram buckets when exemplars are off (its JSON shows it). */
  exemplar?: null;
}

interface CollectedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ValueRow[];
  aggregator: 'sum';
}

/** Series key: label values joined by a byte that cannot be confused with label text. */
function keyOf(labelNames: readonly string[], labels: LabelValues): string {
  let key = '';
  for (let i = 0; i < labelNames.length; i++) key += (i === 0 ? '' : '\u0001') + String(labels[labelNames[i] as string] ?? '');
  return key;
}

/** The part of prom-client's `Metric` its registry calls: name, help, type, `get()`, `reset()`. */
abstract class Family<S extends { readonly labels: LabelValues }> {
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, S>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    // The registry only reads name/help/type/aggregator and calls get()/getForPromString()/reset().
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series of these label values, made on first use. Resolve it once (per route, per
   * snapshot) and keep it: the lookup builds a key string, the update does not.
   */
  of(labels: LabelValues): S {
    const key = keyOf(this.labelNames, labels);
    let s = this.series.get(key);
    if (s === undefined) {
      // Labels stored in label-name order: prom-client prints them in the order given.
      const ordered: Record<string, string | number> = {};
      for (const n of this.labelNames) if (labels[n] !== undefined) ordered[n] = labels[n] as string | number;
      s = this.create(ordered);
      this.series.set(key, s);
    }
    return s;
  }

  /** Drops every series (prom-client's `Registry.resetMetrics()`). Series held elsewhere go stale. */
  reset(): void {
    this.series.clear();
  }

  protected abstract create(labels: LabelValues): S;
  abstract readonly type: 'counter' | 'histogram';
  /** Rows in prom-client's string-exposition shape. */
  abstract getForPromString(): Promise<CollectedMetric>;

  /** Rows as prom-client's `get()` returns them (labels merged, for JSON and cluster aggregation). */
  async get(): Promise<CollectedMetric> {
    const m = await this.getForPromString();
    m.values = m.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return m;
  }
}

/** A labelled counter; a series appears in the exposition once it has been added to. */
export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const;

  protected create(labels: LabelValues): CounterSeries {
    return { labels, value: 0 };
  }

  async getForPromString(): Promise<CollectedMetric> {
    const values: ValueRow[] = [];
    for (const s of this.series.values()) if (s.value > 0) values.push({ labels: s.labels as Record<string, string | number>, value: s.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A labelled histogram with fixed upper bounds; a series appears once it has an observation. */
export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    super(registry, name, help, labelNames);
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  protected create(labels: LabelValues): HistogramSeries {
    return { labels, buckets: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
  }

  /** Records one value (prom-client's rule: the first bound >= value; above all bounds only +Inf). */
  observe(s: HistogramSeries, value: number): void {
    // A non-finite value would poison the sum for good (prom-client throws on it instead).
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        (s.buckets as Float64Array)[i] = (s.buckets[i] as number) + 1;
        break;
      }
    }
    s.sum += value;
    s.count += 1;
  }

  async getForPromString(): Promise<CollectedMetric> {
    const values: ValueRow[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      if (s.count === 0) continue;
      const shared = s.labels as Record<string, string | number>;
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += s.buckets[i] as number;
        values.push({ labels: { le: this.#bounds[i] as number }, sharedLabels: shared, value: acc, metricName: bucket, exemplar: null });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
