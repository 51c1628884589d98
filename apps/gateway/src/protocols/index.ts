import { loadProtoCached, type CompiledConfig, type CompiledProtoSource, type CompiledRoute, type LoadedProto } from '@tollgate/compiler';
import { poolKey, type TargetUpstream as RuntimeUpstream } from '@tollgate/upstream';
import { settingsOf } from '../pool-settings.js';
import { grpcChannels, type GrpcChannel } from './channels.js';
import type { ProtocolHandler } from './common.js';
import { GrpcWebProxy } from './grpc-web.js';
import { SoapConverter } from './soap.js';
import { GrpcTranscoder } from './transcode.js';
import { brokerPool, brokersOf } from '../messaging/broker-pool.js';
import { MessagingHandler } from '../messaging/handler.js';

export { closeGrpcChannels } from './channels.js';
export type { ProtocolHandler, ProtocolRequest, ProtocolResult } from './common.js';

/** The loaded descriptor (memoized by source hash in the compiler: the compile just loaded it). */
function protoOf(src: CompiledProtoSource): LoadedProto {
  const r = loadProtoCached(src);
  // The compiler loaded the same source successfully: a failure here is a bug, and refuses the snapshot.
  if (!r.ok) throw new Error(`ProtoDescriptor/${src.name}: ${r.message}`);
  return r.proto;
}

/** Builds per-route protocol handlers for one snapshot. */
export interface ProtocolRuntime {
  handlerFor(route: CompiledRoute): ProtocolHandler | null;
}

/**
 * Prepares a snapshot's protocol conversions: syncs the gRPC channels of every target of an
 * upstream that a `grpc` or `grpcWeb` route uses (reused across snapshots, keyed by `owner`, the
 * gateway's pool registry) and loads the descriptors.
 */
export function buildProtocolRuntime(config: CompiledConfig, owner: object, upstreams: ReadonlyMap<string, RuntimeUpstream>): ProtocolRuntime {
  const grpcUpstreams = new Set<string>();
  for (const e of config.routes.entries) {
    const p = e.value.actions.protocol;
    if (p !== null && (p.kind === 'grpc' || p.kind === 'grpcWeb')) grpcUpstreams.add(p.upstream);
  }
  const wanted = [...grpcUpstreams].flatMap((name) => {
    const u = config.upstreams[name];
    return u === undefined ? [] : u.targets.map((t) => ({ origin: t.origin, settings: settingsOf(u) }));
  });
  const channels: ReadonlyMap<string, GrpcChannel> = grpcChannels(owner).sync(wanted);
  // Broker connections (kept across snapshots while the Broker spec is unchanged, closed when no route uses it).
  const brokers = brokerPool(owner);
  brokers.sync(brokersOf(config));
  return {
    handlerFor(route: CompiledRoute): ProtocolHandler | null {
      const p = route.actions.protocol;
      if (p === null) return null;
      if (p.kind === 'messaging') return new MessagingHandler(p, brokers);
      const compiled = config.upstreams[p.upstream];
      const runtime = upstreams.get(p.upstream);
      if (compiled === undefined || runtime === undefined) throw new Error(`route ${route.id}: upstream "${p.upstream}" missing from the snapshot`);
      const settings = settingsOf(compiled);
      const key = (origin: string) => poolKey(origin, settings);
      if (p.kind === 'grpc') {
        const proto = protoOf(p.descriptor);
        return new GrpcTranscoder(p, proto.root, runtime, channels, key, compiled.responseHeadersMs);
      }
      if (p.kind === 'grpcWeb') return new GrpcWebProxy(p, runtime, channels, key, compiled.responseHeadersMs);
      return new SoapConverter(p, runtime, compiled.responseHeadersMs);
    },
  };
}
