import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TargetState } from './target-state.js';
import type { PickRequest, UpstreamRuntime } from './upstream-runtime.js';

function noop(): void {}

/** One upstream target as the data plane uses it: its origin, its (shared) pool and its health/load state. */
export interface UpstreamTarget {
  readonly origin: string;
  /** `host[:port]` of the origin, sent as Host when the gateway does not preserve the client's. */
  readonly host: string;
  readonly pool: Dispatcher;
  /** Health and in-flight count; survives snapshot swaps while the target is unchanged. */
  readonly state: TargetState;
}

/** An upstream as the hot path uses it: pick, admit, end (see `UpstreamRuntime`). */
export type TargetUpstream = UpstreamRuntime<UpstreamTarget>;

/** Why no target could be used: every target unhealthy, or the chosen one at its circuit-breaker limit. */
export type PickFailure = 'NO_HEALTHY_UPSTREAM' | 'UPSTREAM_OVERLOADED';

/** Where a request goes: an upstream by name, its runtime, and a subset of its targets (null = all). */
export interface Destination {
  readonly upstream: string;
  readonly target: TargetUpstream;
  readonly subset: string | null;
}

/**
 * Who owns the exchanges of one client request: it ends whatever is still open when the client
 * response is over, on every path (finished, aborted, failed), so no exchange can outlive it.
 */
export interface ExchangeOwner {
  hold(exchange: Exchange): void;
}

/**
 * One admitted exchange with an upstream target, from acquire to release. Opening it picks a
 * target (balancer, subsets, passive health) and counts it in flight (circuit breaking, least
 * requests); it is released exactly once, on whichever comes first:
 * - the upstream response body it was given ({@link attach}) closes, ended or destroyed;
 * - the caller reports the outcome ({@link end}, with the passive-health verdict);
 * - its {@link ExchangeOwner} (the client request) is over, on any path: success, error, client
 *   abort, a converter that threw.
 * So no path can leak the target's slot, and callers never count in flight by hand.
 */
export class Exchange {
  #released = false;
  #observed = false;
  /** The upstream response body, destroyed when the exchange is released before the body ended. */
  #body: Readable | null = null;
  /** Cuts a dispatched exchange (no body stream) released before its response ended. */
  #cut: (() => void) | null = null;

  private constructor(
    readonly upstream: TargetUpstream,
    readonly target: UpstreamTarget,
  ) {}

  /**
   * Picks and admits a target of `upstream` (optionally a `subset`) for one request, or says why
   * none can be used. `owner` (the client request) ends the exchange at the latest when its
   * response is over; null for an exchange that outlives the request (a mirror copy), which must
   * then be ended by its response body or {@link end}.
   */
  static open(upstream: TargetUpstream, subset: string | null, req: PickRequest, owner: ExchangeOwner | null): Exchange | PickFailure {
    const t = upstream.pick(subset, req);
    if (t === undefined) return 'NO_HEALTHY_UPSTREAM';
    if (!upstream.begin(t)) return 'UPSTREAM_OVERLOADED';
    const x = new Exchange(upstream, t);
    owner?.hold(x);
    return x;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Feeds passive health once: `failed` for a 5xx or a failure to connect / get a response. */
  observe(failed: boolean): void {
    if (this.#observed) return;
    this.#observed = true;
    this.upstream.observe(this.target, failed);
  }

  /**
   * Ties the exchange to the upstream response body: releasing the exchange before the body ended
   * destroys it, so its connection is not left hanging. With `endOnClose` the exchange also ends
   * when the body closes (after its end or a failure); a caller that reads the body whole and then
   * reports a verdict with {@link end} passes false, so the verdict is not lost to the close.
   */
  attach(body: Readable, endOnClose = true): void {
    this.#body = body;
    // Destroying it early (below) must never surface as an unhandled 'error' that ends the process.
    body.on('error', noop);
    if (endOnClose) body.once('close', () => this.end());
  }

  /**
   * Ties the exchange to a dispatched request (undici `dispatch()`, no body stream): releasing the
   * exchange before its response ended calls `cut`, which aborts the request, so its connection
   * is not left hanging. The dispatch handler calls {@link end} itself when the response is over.
   */
  bind(cut: () => void): void {
    this.#cut = cut;
  }

  /**
   * Ends the exchange (once). `failed` is the passive-health verdict; undefined when the outcome
   * says nothing about the target (the client went away, the gateway itself failed).
   */
  end(failed?: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.upstream.end(this.target);
    if (failed !== undefined) this.observe(failed);
    const b = this.#body;
    if (b !== null && !b.destroyed && !b.readableEnded) b.destroy();
    const cut = this.#cut;
    this.#cut = null;
    if (cut !== null) cut();
  }
}

/**
 * The exchanges of one client request, as an {@link ExchangeOwner}: one in the common case, more
 * for an aggregate's fan-out. Embedded in the request's state, so the common case allocates nothing.
 */
export class ExchangeList implements ExchangeOwner {
  #first: Exchange | null = null;
  #more: Exchange[] | null = null;

  hold(exchange: Exchange): void {
    if (this.#first === null || this.#first.released) this.#first = exchange;
    else (this.#more ??= []).push(exchange);
  }

  /** Ends every exchange still open: called once the client response is over, on every path. */
  endAll(): void {
    this.#first?.end();
    if (this.#more !== null) for (const x of this.#more) x.end();
  }
}
