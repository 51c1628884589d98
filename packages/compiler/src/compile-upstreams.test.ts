import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '@tollgate/model';
import { checkUpstreamRef } from './compile-upstreams.js';

describe('checkUpstreamRef', () => {
  it('names a missing upstream, and for an imported backend (svc-<host>-<port>) says what to apply', () => {
    const issues: ConfigIssue[] = [];
    checkUpstreamRef({}, 'nowhere', undefined, 'Api/a', 'spec.routes[0].destination', issues);
    checkUpstreamRef({}, 'svc-httpbin-8000', undefined, 'Api/ing-ingress-0', 'spec.routes[0].destination', issues);
    expect(issues.map((i) => [i.code, i.path, i.message])).toEqual([
      ['dangling_reference', 'spec.routes[0].destination.upstream', 'Upstream/nowhere does not exist'],
      ['dangling_reference', 'spec.routes[0].destination.upstream', 'Upstream/svc-httpbin-8000 does not exist (for a Kubernetes / Istio backend: apply its Service + Endpoints or ServiceEntry in the same file or before)'],
    ]);
  });
});
