import { loadProtoCached, type CompiledBroker, type CompiledConfig, type CompiledProtoSource, type CompiledRoute, type LoadedProto } from '@tollgate/compiler';
import { poolKey, type TargetUpstream as RuntimeUpstream } from '@tollgate/upstream';
import { settingsOf } from '../pool-settings.js';
import { grpcChannels, type GrpcChannel } from './channels.js';
import type { ProtocolHandler } from './common.js';
import { GrpcWebProxy } from './grpc-web.js';
import { SoapConverter } from './soap.js';
import { GrpcTranscoder } from './transcode.js';
import { brokerPool } from '../messaging/broker-pool.js';
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

/** Route entries scanned between two yields: 20,000 in one piece took 15-30 ms of CPU (#16). */
const SCAN_STEP = 512;

/**
 * What a snapshot's routes ask of protocol conversions: the upstreams of `grpc` / `grpcWeb`
 * routes and the brokers of `messaging` routes, in one pass over the entries as steps (a yield
 * every {@link SCAN_STEP} entries). With 20,000 routes two whole scans in the first step of an
 * instantiation were its longest uninterrupted piece (25 ms of CPU, measured with
 * bench:apply-stall), on every install, one changed route included.
 */
function* protocolNeedsSteps(config: CompiledConfig): Generator<void, { grpcUpstreams: Set<string>; brokers: Map<string, CompiledBroker> }> {
  const grpcUpstreams = new Set<string>();
  const brokers = new Map<string, CompiledBroker>();
  const entries = config.routes.entries;
  for (let i = 0; i < entries.length; i++) {
    const p = (entries[i] as (typeof entries)[number]).value.actions.protocol;
    if (p !== null) {
      if (p.kind === 'grpc' || p.kind === 'grpcWeb') grpcUpstreams.add(p.upstream);
      else if (p.kind === 'messaging') brokers.set(p.broker.name, p.broker);
    }
    if (i % SCAN_STEP === SCAN_STEP - 1) yield;
  }
  return { grpcUpstreams, brokers };
}

/**
 * Prepares a snapshot's protocol conversions: syncs the gRPC channels of every target of an
 * upstream that a `grpc` or `grpcWeb` route uses (reused across snapshots, keyed by `owner`, the
 * gateway's pool registry) and loads the descriptors.
 */
export function buildProtocolRuntime(config: CompiledConfig, owner: object, upstreams: ReadonlyMap<string, RuntimeUpstream>): ProtocolRuntime {
  const steps = buildProtocolRuntimeSteps(config, owner, upstreams);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** {@link buildProtocolRuntime} as steps, for an instantiation run in slices (runtime.ts). */
export function* buildProtocolRuntimeSteps(config: CompiledConfig, owner: object, upstreams: ReadonlyMap<string, RuntimeUpstream>): Generator<void, ProtocolRuntime> {
  const needs = yield* protocolNeedsSteps(config);
  const wanted = [...needs.grpcUpstreams].flatMap((name) => {
    const u = config.upstreams[name];
    return u === undefined ? [] : u.targets.map((t) => ({ origin: t.origin, settings: settingsOf(u) }));
  });
  const channels: ReadonlyMap<string, GrpcChannel> = grpcChannels(owner).sync(wanted);
  // Broker connections (kept across snapshots while the Broker spec is unchanged, closed when no route uses it).
  const brokers = brokerPool(owner);
  brokers.sync(needs.brokers);
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
