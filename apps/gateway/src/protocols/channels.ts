import { Client, credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { PoolRegistry, type PoolSettings } from '@tollgate/upstream';

/**
 * One gRPC channel (HTTP/2 connection management by @grpc/grpc-js) to one upstream target.
 * `http://` targets speak HTTP/2 cleartext (h2c, prior knowledge); `https://` targets TLS with the
 * upstream's `tls` settings (CA, SNI name, client certificate, insecureSkipVerify).
 */
export class GrpcChannel {
  readonly client: Client;
  constructor(origin: string, settings: PoolSettings) {
    const u = new URL(origin);
    const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
    const address = `${u.hostname}:${port}`;
    const options: Record<string, string | number> = {
      // A snapshot's channels are long-lived; reconnects follow grpc-js' backoff.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': Math.max(1_000, settings.connectTimeoutMs),
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.enable_retries': 0,
    };
    let creds: ChannelCredentials;
    if (u.protocol === 'https:') {
      const t = settings.tls;
      creds = credentials.createSsl(
        t?.ca !== undefined ? Buffer.from(t.ca) : null,
        t?.key !== undefined ? Buffer.from(t.key) : null,
        t?.cert !== undefined ? Buffer.from(t.cert) : null,
        t !== undefined && !t.rejectUnauthorized ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
      );
      if (t?.servername !== undefined) {
        options['grpc.ssl_target_name_override'] = t.servername;
        options['grpc.default_authority'] = t.servername;
      }
    } else creds = credentials.createInsecure();
    this.client = new Client(address, creds, options);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  async destroy(): Promise<void> {
    this.client.close();
  }
}

const registries = new WeakMap<object, PoolRegistry<GrpcChannel>>();

/**
 * The gRPC channels of one gateway (keyed by its HTTP pool registry): reused across snapshots
 * while a target's origin and settings are unchanged, closed after a grace period otherwise.
 */
export function grpcChannels(owner: object): PoolRegistry<GrpcChannel> {
  let r = registries.get(owner);
  if (r === undefined) {
    r = new PoolRegistry<GrpcChannel>({ graceMs: 30_000, create: (origin, settings) => new GrpcChannel(origin, settings) });
    registries.set(owner, r);
  }
  return r;
}

/** Closes a gateway's gRPC channels (at shutdown). */
export async function closeGrpcChannels(owner: object, timeoutMs: number): Promise<void> {
  const r = registries.get(owner);
  if (r !== undefined) await r.closeAll(timeoutMs);
}
