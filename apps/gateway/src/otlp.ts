import { performance } from 'node:perf_hooks';
import type { AnsweredReply, AnsweredRequest } from './answered.js';
import type { RequestState } from './access-log.js';

/** Records one span per proxied request; built only when OTLP export is configured. */
export interface SpanSink {
  /** Records the finished request as a span (its ids are the ones propagated upstream). */
  record(request: AnsweredRequest, reply: AnsweredReply, state: RequestState, elapsedMs: number): void;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Settings of {@link loadOtlpSpanSink}. */
export interface OtlpOptions {
  /** Collector base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`); spans go to `<endpoint>/v1/traces` (OTLP/HTTP). */
  readonly endpoint: string;
  /** `service.name` of the exported spans. */
  readonly serviceName: string;
  /** Gateway node id (`service.instance.id`). */
  readonly nodeId?: string;
}

/**
 * Loads the OpenTelemetry SDK and an OTLP/HTTP exporter (imported only here, so a gateway without
 * `OTEL_EXPORTER_OTLP_ENDPOINT` loads none of it). Span ids are not the SDK's own: an id generator hands
 * it the ids the proxy already sent upstream in `traceparent`, so the exported span is the parent
 * of the upstream's span.
 */
export async function loadOtlpSpanSink(options: OtlpOptions): Promise<SpanSink> {
  const [api, sdk, resources, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const random = new sdk.RandomIdGenerator();
  // Set synchronously right before each startSpan, read by the SDK inside that same call.
  const next = { traceId: '', spanId: '' };
  const idGenerator = {
    generateTraceId: () => next.traceId || random.generateTraceId(),
    generateSpanId: () => next.spanId || random.generateSpanId(),
  };
  const provider = new sdk.BasicTracerProvider({
    idGenerator,
    resource: resources.resourceFromAttributes({ 'service.name': options.serviceName, ...(options.nodeId ? { 'service.instance.id': options.nodeId } : {}) }),
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` }))],
  });
  const tracer = provider.getTracer('tollgate-gateway');
  return {
    record(request, reply, state, elapsedMs) {
      const t = state.trace;
      if (t === null) return;
      // One clock for the server span and its phase spans (performance time), so children nest
      // exactly. The span starts when the handler took the request; `elapsedTime` is frozen when
      // the response finished, so a late onResponse hook (a loaded event loop) does not shift it.
      const start = performance.timeOrigin + state.startedAt;
      const end = start + elapsedMs;
      const parent =
        t.parentSpanId === null
          ? api.ROOT_CONTEXT
          : api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: t.traceId, spanId: t.parentSpanId, traceFlags: t.flags === '01' ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE, isRemote: true });
      next.traceId = t.traceId;
      next.spanId = t.spanId;
      const method = request.raw.method ?? 'GET';
      let span;
      try {
        span = tracer.startSpan(
          state.route !== null ? `${method} ${state.api}/${state.route}` : method,
          {
            kind: api.SpanKind.SERVER,
            startTime: start,
            attributes: {
              'http.request.method': method,
              'url.path': state.path,
              'http.response.status_code': reply.statusCode,
              'client.address': state.clientIp,
              'tollgate.request_id': String(request.id),
              ...(state.api !== null ? { 'tollgate.api': state.api } : {}),
              ...(state.route !== null ? { 'tollgate.route': state.route } : {}),
              ...(state.target !== null ? { 'tollgate.upstream.target': state.target } : {}),
              ...(state.upstreamMs !== null ? { 'tollgate.upstream.duration_ms': state.upstreamMs } : {}),
              ...(state.errorCode !== null ? { 'tollgate.error_code': state.errorCode } : {}),
            },
          },
          parent,
        );
      } finally {
        next.traceId = '';
        next.spanId = '';
      }
      // OpenTelemetry HTTP semantic conventions: server spans are errors for 5xx only.
      if (reply.statusCode >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
      span.end(end);
      // Phase spans under the server span: the access policies (auth, limits) and the upstream
      // call, whose id is the parent-id the upstream received, so its own span hangs under it.
      const inServer = api.trace.setSpan(api.ROOT_CONTEXT, span);
      const origin = performance.timeOrigin;
      if (state.accessAt !== null && state.accessMs !== null) {
        next.traceId = t.traceId;
        try {
          const startAt = origin + state.accessAt;
          tracer.startSpan('access policies', { kind: api.SpanKind.INTERNAL, startTime: startAt, attributes: { 'tollgate.phase': 'access', ...(state.consumer !== null ? { 'tollgate.consumer': state.consumer } : {}) } }, inServer).end(startAt + state.accessMs);
        } finally {
          next.traceId = '';
        }
      }
      if (state.upstreamAt !== null) {
        next.traceId = t.traceId;
        next.spanId = t.upstreamSpanId;
        let call;
        try {
          call = tracer.startSpan(
            `${method} upstream`,
            {
              kind: api.SpanKind.CLIENT,
              startTime: origin + state.upstreamAt,
              attributes: {
                'tollgate.phase': 'upstream',
                'http.request.method': method,
                ...(state.target !== null ? { 'server.address': state.target } : {}),
                ...(state.upstreamMs !== null ? { 'http.response.status_code': reply.statusCode } : {}),
                ...(state.errorCode !== null ? { 'tollgate.error_code': state.errorCode } : {}),
              },
            },
            inServer,
          );
        } finally {
          next.traceId = '';
          next.spanId = '';
        }
        // Client spans are errors for 4xx and 5xx, or when no response came (semantic conventions).
        if (state.upstreamMs === null || reply.statusCode >= 400) call.setStatus({ code: api.SpanStatusCode.ERROR });
        call.end(state.upstreamMs !== null ? origin + state.upstreamAt + state.upstreamMs : end);
      }
    },
    shutdown: () => provider.shutdown(),
  };
}
