import type { CompiledUpstream } from '@tollgate/compiler';
import type { PoolSettings } from '@tollgate/upstream';

/** Pool settings of an upstream (shared by its targets). */
export function settingsOf(u: CompiledUpstream): PoolSettings {
  return {
    connections: u.maxConnectionsPerTarget,
    connectTimeoutMs: u.connectMs,
    headersTimeoutMs: u.responseHeadersMs,
    bodyTimeoutMs: u.idleMs,
    maxRequestsPerConnection: u.maxRequestsPerConnection,
    tls: u.tls ?? undefined,
  };
}
