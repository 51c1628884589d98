import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { gatewayNodes, type Database, type GatewayNodeRow } from '@tollgate/db';

/** What a gateway node says about itself on each heartbeat. */
export interface NodeHeartbeat {
  readonly nodeId: string;
  readonly hostname: string;
  readonly pid: number;
  readonly version: string;
  readonly configVersion: number | null;
  readonly configHash: string | null;
  readonly startedAt: Date;
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
  };
}

/** The `gateway_nodes` table, over either driver. */
export class SqlNodeRegistry implements NodeRegistry {
  constructor(private readonly db: Database) {}

  async heartbeat(node: NodeHeartbeat, at: Date = new Date()): Promise<void> {
    const row = { ...node, lastSeenAt: at, stoppedAt: null };
    await this.db
      .insert(gatewayNodes)
      .values(row)
      .onConflictDoUpdate({
        target: gatewayNodes.nodeId,
        set: { hostname: node.hostname, pid: node.pid, version: node.version, configVersion: node.configVersion, configHash: node.configHash, startedAt: node.startedAt, lastSeenAt: at, stoppedAt: null },
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
