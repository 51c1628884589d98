import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { gatewayNodes, type Database, type GatewayNodeRow, type TargetHealthRow } from '@tollgate/db';

/**
 * One upstream target as one gateway node sees it: active health (probes), passive ejection
 * (outlier detection) and the circuit breaker (requests in flight against the per-target limit).
 * Health is per node: each node probes and ejects on its own.
 */
export type TargetHealth = TargetHealthRow;

/** At most this many targets are stored per heartbeat, so a row stays small. */
export const MAX_REPORTED_TARGETS = 1000;

/** What a gateway node says about itself on each heartbeat. */
export interface NodeHeartbeat {
  readonly nodeId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly version: string;
  readonly configVersion: number | null;
  readonly configHash: string | null;
  readonly startedAt: Date;
  /** Its upstream targets' health (absent: not reported). */
  readonly targets?: readonly TargetHealth[];
}

/** A node as listed: its last heartbeat, and whether it stopped cleanly. */
export interface NodeRecord extends NodeHeartbeat {
  readonly lastSeenAt: Date;
  readonly stoppedAt: Date | null;
}

/**
 * Gateway nodes sharing one database (Kong's clustering status): each node upserts its row on a
 * heartbeat; readers list the nodes seen since a moment. Implemented once in SQL for Postgres and
 * PGlite; the contract suite runs against both.
 */
export interface NodeRegistry {
  /** Inserts or refreshes the node's row (clears a previous stop of the same id). */
  heartbeat(node: NodeHeartbeat, at?: Date): Promise<void>;
  /** Marks the node as stopped (a clean shutdown). */
  stopped(nodeId: string, at?: Date): Promise<void>;
  /** Nodes whose last heartbeat is at or after `since` and that have not stopped, newest first. */
  seenSince(since: Date): Promise<NodeRecord[]>;
  /** Every known node, newest heartbeat first (bounded by `limit`). */
  list(limit: number): Promise<NodeRecord[]>;
}

function toRecord(row: GatewayNodeRow): NodeRecord {
  return {
    nodeId: row.nodeId,
    hostname: row.hostname,
    pid: row.pid,
    version: row.version,
    configVersion: row.configVersion,
    configHash: row.configHash,
    startedAt: row.startedAt,
    lastSeenAt: row.lastSeenAt,
    stoppedAt: row.stoppedAt,
    ...(row.targets !== null ? { targets: row.targets } : {}),
  };
}

/** The `gateway_nodes` table, over either driver. */
export class SqlNodeRegistry implements NodeRegistry {
  constructor(private readonly db: Database) {}

  async heartbeat(node: NodeHeartbeat, at: Date = new Date()): Promise<void> {
    const targets = node.targets === undefined ? null : node.targets.slice(0, MAX_REPORTED_TARGETS);
    const row = { ...node, targets, lastSeenAt: at, stoppedAt: null };
    await this.db
      .insert(gatewayNodes)
      .values(row)
      .onConflictDoUpdate({
        target: gatewayNodes.nodeId,
        set: { hostname: node.hostname, pid: node.pid, version: node.version, configVersion: node.configVersion, configHash: node.configHash, startedAt: node.startedAt, targets, lastSeenAt: at, stoppedAt: null },
      });
  }

  async stopped(nodeId: string, at: Date = new Date()): Promise<void> {
    await this.db.update(gatewayNodes).set({ stoppedAt: at, lastSeenAt: sql`greatest(${gatewayNodes.lastSeenAt}, ${at.toISOString()}::timestamptz)` }).where(eq(gatewayNodes.nodeId, nodeId));
  }

  async seenSince(since: Date): Promise<NodeRecord[]> {
    const rows = await this.db
      .select()
      .from(gatewayNodes)
      .where(and(gte(gatewayNodes.lastSeenAt, since), sql`${gatewayNodes.stoppedAt} is null`))
      .orderBy(desc(gatewayNodes.lastSeenAt), gatewayNodes.nodeId);
    return rows.map(toRecord);
  }

  async list(limit: number): Promise<NodeRecord[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RangeError('limit must be an integer in 1..1000');
    const rows = await this.db.select().from(gatewayNodes).orderBy(desc(gatewayNodes.lastSeenAt), gatewayNodes.nodeId).limit(limit);
    return rows.map(toRecord);
  }
}
