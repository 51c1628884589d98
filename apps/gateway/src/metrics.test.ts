import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { RequestState } from './access-log.js';
import { GatewayMetrics } from './metrics.js';

function fake(method: string, status: number, elapsedMs: number): [FastifyRequest, FastifyReply] {
  const request = { raw: { method, socket: { bytesWritten: 100 } } } as unknown as FastifyRequest;
  const reply = { statusCode: status, elapsedTime: elapsedMs } as unknown as FastifyReply;
  return [request, reply];
}

function state(api: string, route: string, init: Partial<RequestState> = {}): RequestState {
  return Object.assign(new RequestState(), { api, route, ...init });
}

describe('GatewayMetrics.record', () => {
  it('counts 429s produced by the gateway as rate limited, not those of the upstream', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.record(...fake('GET', 429, 2), state('a', 'r', { errorCode: 'RATE_LIMITED' }));
    m.record(...fake('GET', 429, 2), state('a', 'r', { errorCode: 'RATE_LIMITED' }));
    m.record(...fake('GET', 429, 9), state('a', 'r', { upstreamMs: 5 }));
    const text = (await m.scrape()).body;
    expect(text).toContain('tollgate_rate_limited_total{api="a",route="r"} 2');
    expect(text).toContain('tollgate_http_requests_total{api="a",api_version="",route="r",method="GET",code="429",source="gateway"} 2');
    expect(text).toContain('tollgate_http_requests_total{api="a",api_version="",route="r",method="GET",code="429",source="upstream"} 1');
  });

  it('counts X-Cache verdicts only on routes with a response-cache policy', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    const hit = (): [FastifyRequest, FastifyReply] => {
      const [request] = fake('GET', 200, 2);
      return [request, { statusCode: 200, elapsedTime: 2, getHeader: (n: string) => (n === 'x-cache' ? 'HIT' : undefined) } as unknown as FastifyReply];
    };
    m.record(...hit(), state('a', 'cached', { upstreamMs: 1, reportsCache: true }));
    // An upstream's own X-Cache (a CDN behind the gateway) on a route without the policy.
    m.record(...hit(), state('a', 'plain', { upstreamMs: 1 }));
    const text = (await m.scrape()).body;
    expect(text).toContain('tollgate_cache_responses_total{api="a",route="cached",result="HIT"} 1');
    expect(text).not.toContain('route="plain",result=');
  });

  it('gateway time is total minus upstream; unknown methods share one label', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.record(...fake('BREW', 404, 3), null);
    m.record(...fake('GET', 200, 30), state('a', 'r', { upstreamMs: 28 }));
    const text = (await m.scrape()).body;
    expect(text).toContain('method="OTHER",code="404",source="gateway"} 1');
    expect(text).not.toContain('BREW');
    // 2 ms in the gateway falls in the 0.0025 s bucket, not the 0.001 s one.
    expect(text).toContain('tollgate_gateway_duration_seconds_bucket{le="0.001",api="a",api_version="",route="r"} 0');
    expect(text).toContain('tollgate_gateway_duration_seconds_bucket{le="0.0025",api="a",api_version="",route="r"} 1');
    expect(text).toContain('tollgate_upstream_duration_seconds_sum{api="a",api_version="",route="r"} 0.028');
  });

  it('labels by consumer only when enabled', async () => {
    const off = new GatewayMetrics({ processMetrics: false });
    const on = new GatewayMetrics({ processMetrics: false, consumerLabel: true });
    for (const m of [off, on]) m.record(...fake('GET', 200, 1), state('a', 'r', { upstreamMs: 1, consumer: 'acme' }));
    expect((await off.scrape()).body).not.toContain('consumer=');
    expect((await on.scrape()).body).toContain('source="upstream",consumer="acme"} 1');
  });

  it('counts a response cut short once in the requests and once in the aborted counter, by who cut it', async () => {
    const m = new GatewayMetrics({ processMetrics: false });
    m.record(...fake('GET', 200, 5), state('a', 'r', { upstreamMs: 1, aborted: 'client' }), 200, 5);
    m.record(...fake('GET', 200, 5), state('a', 'r', { upstreamMs: 1, aborted: 'upstream' }), 200, 5);
    m.record(...fake('GET', 200, 5), state('a', 'r', { errorCode: 'CLIENT_ABORTED', aborted: 'client' }), 499, 5);
    m.record(...fake('GET', 200, 5), state('a', 'r', { upstreamMs: 1 }), 200, 5);
    const text = (await m.scrape()).body;
    expect(text).toContain('tollgate_http_requests_aborted_total{api="a",route="r",by="client"} 2');
    expect(text).toContain('tollgate_http_requests_aborted_total{api="a",route="r",by="upstream"} 1');
    expect(text).toContain('tollgate_http_requests_total{api="a",api_version="",route="r",method="GET",code="200",source="upstream"} 3');
    expect(text).toContain('tollgate_http_requests_total{api="a",api_version="",route="r",method="GET",code="499",source="gateway"} 1');
  });
});
