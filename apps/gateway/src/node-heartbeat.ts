import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { NodeRecord, NodeRegistry, TargetHealth } from '@tollgate/stores';

/** A node as `/status` lists it. */
export interface SeenNode {
  readonly nodeId: string;
  readonly hostname: string;
  readonly version: string;
  readonly configVersion: number | null;
  readonly configHash: string | null;
  readonly startedAt: string;
  readonly lastSeenAt: string;
}

/** What the heartbeat reports about this node. */
export interface HeartbeatSource {
  readonly nodeId: string;
  readonly version: string;
  readonly startedAt: number;
  configVersion(): number | null;
  configHash(): string | null;
  /** Health of the serving snapshot's upstream targets (absent: not reported). */
  targets?(): readonly TargetHealth[];
}

/**
 * Refreshes this node's row in the shared registry every `intervalMs` and keeps the list of nodes
 * seen recently (heartbeat within three intervals) for `/status`: the registry is read on the
 * heartbeat, never per status request. A failing registry is logged once per outage; the last
 * list stays until the store answers again.
 */
export class NodeHeartbeat {
  #timer: NodeJS.Timeout | null = null;
  #seen: readonly SeenNode[] = [];
  #failing = false;
  #beat: Promise<void> | null = null;

  constructor(
    private readonly registry: NodeRegistry,
    private readonly self: HeartbeatSource,
    private readonly logger: Logger,
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Nodes whose last heartbeat is at most three intervals old (this one included once it beat). */
  get seen(): readonly SeenNode[] {
    return this.#seen;
  }

  start(): void {
    if (this.#timer !== null) return;
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.intervalMs);
    this.#timer.unref();
  }

  /** One heartbeat and refresh of the seen list (exposed for tests). */
  beat(): Promise<void> {
    this.#beat ??= this.#run().finally(() => (this.#beat = null));
    return this.#beat;
  }

  async #run(): Promise<void> {
    const at = new Date(this.now());
    try {
      await this.registry.heartbeat(
        { nodeId: this.self.nodeId, hostname: hostname(), pid: process.pid, version: this.self.version, configVersion: this.self.configVersion(), configHash: this.self.configHash(), startedAt: new Date(this.self.startedAt), ...(this.self.targets ? { targets: this.self.targets() } : {}) },
        at,
      );
      const rows = await this.registry.seenSince(new Date(at.getTime() - 3 * this.intervalMs));
      this.#seen = Object.freeze(rows.map(toSeen));
      if (this.#failing) this.logger.info('node registry reachable again');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) this.logger.warn({ err }, 'node heartbeat failed; retrying every interval');
      this.#failing = true;
    }
  }

  /**
   * Stops beating and marks the node as stopped (a clean shutdown), best effort: the caller bounds
   * the wait, as a partitioned registry answers only at the query deadline.
   */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#beat?.catch(() => undefined);
    await this.registry.stopped(this.self.nodeId, new Date(this.now())).catch((err: unknown) => this.logger.warn({ err }, 'could not mark the node as stopped'));
  }
}

function toSeen(n: NodeRecord): SeenNode {
  return {
    nodeId: n.nodeId,
    hostname: n.hostname,
    version: n.version,
    configVersion: n.configVersion,
    configHash: n.configHash,
    startedAt: n.startedAt.toISOString(),
    lastSeenAt: n.lastSeenAt.toISOString(),
  };
}
