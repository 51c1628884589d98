import { performance } from 'node:perf_hooks';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { jsonName, type CompiledGrpc, type CompiledGrpcMethod, type CompiledHttpBinding, type CompiledPathTemplate } from '@tollgate/compiler';
import protobuf from 'protobufjs';
import { Exchange, type TargetUpstream as RuntimeUpstream, type UpstreamTarget as RuntimeTarget } from '@tollgate/upstream';
import { deadlineOf, effectiveHeaders, problem, requestBody, setGatewayMetadata, type ProtocolHandler, type ProtocolRequest, type ProtocolResult } from './common.js';
import type { GrpcChannel } from './channels.js';
import { grpcCodeName, grpcProblem, isTargetFailure, isTransportStatus } from './grpc-status.js';
import { decodeToJson, encodeJson, fieldByName, JsonMappingError } from './proto-json.js';

/** Percent-decodes one path segment; a malformed escape keeps the text as is. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Matches a path against a google.api.http template. Returns the variable values (field path →
 * value) or null. Single-segment variables are percent-decoded; multi-segment ones keep their
 * slashes (http.proto: "Path template syntax").
 */
export function matchTemplate(t: CompiledPathTemplate, path: string): Map<string, string> | null {
  let p = path;
  if (t.verb !== null) {
    if (!p.endsWith(`:${t.verb}`)) return null;
    p = p.slice(0, -(t.verb.length + 1));
  }
  const parts = p === '/' ? [''] : p.slice(1).split('/');
  const segs = t.segments;
  const rest = segs.at(-1)?.kind === 'rest';
  if (rest ? parts.length < segs.length - 1 : parts.length !== segs.length) return null;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as (typeof segs)[number];
    if (s.kind === 'rest') break;
    const part = parts[i] as string;
    if (s.kind === 'literal' ? part !== s.value : part === '') return null;
  }
  const out = new Map<string, string>();
  for (const v of t.variables) {
    const slice = v.end === null ? parts.slice(v.start) : parts.slice(v.start, v.end);
    out.set(v.field.join('.'), slice.length === 1 ? decodeSegment(slice[0] as string) : slice.map((x) => x.split('%2F').map(decodeSegment).join('%2F')).join('/'));
  }
  return out;
}

/** Sets `value` at a dotted field path of a JSON object, walking message fields of `type`. */
function setPath(type: protobuf.Type, obj: Record<string, unknown>, path: readonly string[], value: string, append: boolean): void {
  let t = type;
  let o = obj;
  for (let i = 0; i < path.length; i++) {
    const name = path[i] as string;
    const f = fieldByName(t, name);
    if (f === undefined) throw new JsonMappingError(`${path.join('.')}: ${t.fullName.slice(1)} has no field "${name}"`);
    if (i === path.length - 1) {
      if (f.map) throw new JsonMappingError(`${path.join('.')}: a map field cannot be set from the query or path`);
      if (f.repeated) {
        const cur = o[f.name];
        o[f.name] = append && Array.isArray(cur) ? [...cur, value] : [value];
      } else {
        const rt = f.resolvedType;
        if (rt instanceof protobuf.Type && !rt.fullName.startsWith('.google.protobuf.')) throw new JsonMappingError(`${path.join('.')}: a message field cannot be set from the query or path`);
        o[f.name] = value;
      }
      return;
    }
    if (!(f.resolvedType instanceof protobuf.Type) || f.repeated || f.map) throw new JsonMappingError(`${path.join('.')}: ${name} is not a singular message field`);
    const next = o[f.name];
    o = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : (o[f.name] = {});
    t = f.resolvedType;
  }
}

interface Resolved {
  method: CompiledGrpcMethod;
  body: string | null;
  responseBody: string | null;
  vars: Map<string, string>;
}

/** A `grpc` route action: REST/JSON in, one unary gRPC call, JSON out. */
export class GrpcTranscoder implements ProtocolHandler {
  readonly kind = 'grpc' as const;
  readonly #types = new Map<string, { req: protobuf.Type; res: protobuf.Type }>();

  constructor(
    private readonly action: CompiledGrpc,
    private readonly root: protobuf.Root,
    private readonly upstream: RuntimeUpstream,
    private readonly channels: ReadonlyMap<string, GrpcChannel>,
    private readonly channelKey: (origin: string) => string,
    private readonly upstreamDeadlineMs: number,
  ) {
    const methods = action.explicit !== null ? [action.explicit.method] : (action.bindings ?? []).map((b) => b.method);
    for (const m of methods) this.#types.set(m.path, { req: root.lookupType(m.requestType), res: root.lookupType(m.responseType) });
  }

  /** The binding for this method and path: a match, 405 with the allowed methods, or 404. */
  #resolve(req: ProtocolRequest): Resolved | { allow: string[] } | null {
    const e = this.action.explicit;
    if (e !== null) {
      const vars = new Map<string, string>(Object.entries(req.captures ?? {}));
      const noBody = req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE';
      return { method: e.method, body: noBody ? null : e.body, responseBody: e.responseBody, vars };
    }
    const allow: string[] = [];
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    for (const b of this.action.bindings as readonly CompiledHttpBinding[]) {
      const vars = matchTemplate(b.template, req.path);
      if (vars === null) continue;
      if (b.httpMethod !== method) {
        allow.push(b.httpMethod);
        continue;
      }
      return { method: b.method, body: b.body, responseBody: b.responseBody, vars };
    }
    return allow.length > 0 ? { allow } : null;
  }

  async handle(req: ProtocolRequest): Promise<ProtocolResult> {
    const hasBody = req.raw.headers['content-length'] !== undefined ? req.raw.headers['content-length'] !== '0' : req.raw.headers['transfer-encoding'] !== undefined;
    const r = this.#resolve(req);
    if (r === null) return problem(req, 404, 'GRPC_NO_BINDING', 'No gRPC method for this path', `no google.api.http binding matches ${req.method} ${req.path}`, {}, hasBody);
    if ('allow' in r) {
      const res = problem(req, 405, 'METHOD_NOT_ALLOWED', 'Method not allowed on this route', `${req.method} is not bound on ${req.path}; allowed: ${[...new Set(r.allow)].join(', ')}`, {}, hasBody);
      return { ...res, headers: { ...res.headers, allow: [...new Set(r.allow)].join(', ') } };
    }
    const types = this.#types.get(r.method.path) as { req: protobuf.Type; res: protobuf.Type };
    let message: Uint8Array;
    try {
      let json: Record<string, unknown> = {};
      if (r.body !== null && hasBody) {
        const buf = await requestBody(req);
        if (!Buffer.isBuffer(buf)) return buf;
        let parsed: unknown = {};
        if (buf.length > 0) {
          try {
            parsed = JSON.parse(buf.toString('utf8'));
          } catch (err) {
            return problem(req, 400, 'INVALID_JSON', 'The request body is not JSON', (err as Error).message);
          }
        }
        if (r.body === '*') {
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return problem(req, 400, 'INVALID_JSON', 'The request body is not a JSON object', `the body maps to the whole ${types.req.fullName.slice(1)} message and must be a JSON object`);
          json = parsed as Record<string, unknown>;
        } else {
          // A body field: the JSON is that field's value (its type is checked by the mapping).
          const path = r.body.split('.');
          let o = json;
          for (const p of path.slice(0, -1)) o = (o[p] = {}) as Record<string, unknown>;
          o[path.at(-1) as string] = parsed;
        }
      }
      // Query parameters fill the fields not bound by the path or a whole-message body.
      if (r.body !== '*' && req.query !== null) {
        const bound = new Set(r.vars.keys());
        for (const [k, v] of new URLSearchParams(req.query)) {
          if (bound.has(k)) continue;
          try {
            setPath(types.req, json, k.split('.'), v, true);
          } catch (err) {
            if (err instanceof JsonMappingError && this.action.ignoreUnknownQueryParameters && /has no field/.test(err.message)) continue;
            throw err;
          }
        }
      }
      // Path variables last: they win over the same field in the query or the body.
      for (const [k, v] of r.vars) setPath(types.req, json, k.split('.'), v, false);
      message = encodeJson(types.req, json);
    } catch (err) {
      if (err instanceof JsonMappingError) return problem(req, 400, 'INVALID_ARGUMENT', 'The request does not fit the gRPC message', err.message, { grpcMethod: r.method.path }, false);
      throw err;
    }
    if (r.body === null && hasBody) req.raw.resume(); // an ignored body is drained, not parsed

    const exchange = Exchange.open(this.upstream, this.action.subset, req.pick, req.state);
    if (typeof exchange === 'string') return problem(req, 503, exchange, exchange === 'NO_HEALTHY_UPSTREAM' ? 'No healthy upstream target' : 'Upstream overloaded', `upstream ${this.action.upstream}: ${exchange === 'NO_HEALTHY_UPSTREAM' ? 'every target is unhealthy or ejected' : 'at its connection and pending-request limit'}`);
    const target: RuntimeTarget = exchange.target;
    req.state.target = target.origin;
    const channel = this.channels.get(this.channelKey(target.origin));
    // (A missing channel is a bug: the throw is a 500, and the request ends the exchange (its owner).)
    if (channel === undefined) throw new Error(`no gRPC channel for ${target.origin}`);
    const md = new Metadata();
    const h = effectiveHeaders(req);
    for (const name of this.action.metadataHeaders) {
      const v = h[name];
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) {
        try {
          md.add(name, name.endsWith('-bin') ? Buffer.from(x, 'base64') : x);
        } catch {
          // a value grpc-js refuses as metadata (not printable ASCII) is left out
        }
      }
    }
    setGatewayMetadata(md, req);
    const t0 = performance.now();
    const deadline = Date.now() + deadlineOf(req, this.upstreamDeadlineMs);
    const result = await new Promise<{ ok: true; value: Buffer } | { ok: false; err: ServiceError }>((resolve) => {
      const call = channel.client.makeUnaryRequest<Uint8Array, Buffer>(r.method.path, (m) => Buffer.from(m), (b) => b, message, md, { deadline }, (err, value) => {
        req.signal?.removeEventListener('abort', onGone);
        resolve(err ? { ok: false, err } : { ok: true, value: value ?? Buffer.alloc(0) });
      });
      // The client went away: cancel the call (its exchange ends with the response).
      const onGone = (): void => call.cancel();
      req.signal?.addEventListener('abort', onGone, { once: true });
    });
    req.state.upstreamMs = performance.now() - t0;
    if (!result.ok) {
      exchange.end(isTargetFailure(result.err.code));
      const p = grpcProblem(result.err.code, result.err.details ?? '', req.requestId);
      req.state.errorCode = isTransportStatus(result.err.code) ? `GRPC_${grpcCodeName(result.err.code)}` : null;
      return { status: p.status, headers: { 'content-type': 'application/problem+json' }, body: p.body };
    }
    exchange.end(false);
    let out: unknown;
    try {
      out = decodeToJson(types.res, result.value, this.action.emitDefaults);
    } catch (err) {
      return problem(req, 502, 'GRPC_BAD_RESPONSE', 'The gRPC response could not be decoded', `${types.res.fullName.slice(1)}: ${(err as Error).message}`);
    }
    if (r.responseBody !== null) {
      let t: protobuf.Type | null = types.res;
      for (const p of r.responseBody.split('.')) {
        const f: protobuf.Field | undefined = t !== null ? fieldByName(t, p) : undefined;
        const key = f !== undefined ? jsonName(f) : p;
        out = out !== null && typeof out === 'object' ? ((out as Record<string, unknown>)[key] ?? null) : null;
        t = f?.resolvedType instanceof protobuf.Type ? f.resolvedType : null;
      }
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(out ?? {}) };
  }
}
