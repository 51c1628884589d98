import { describe, expect, it } from 'vitest';
import { exportAs } from '@tollgate/importers';
import { yamlResources } from '../gateway/harness.js';

describe('exporting an aggregate route', () => {
  const resources = yamlResources(`apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: users }
spec: { targets: [{ url: "http://users.internal:8080" }] }
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: profiles }
spec:
  routes:
    - name: profile
      aggregate: { backends: [{ name: user, upstream: users, path: /users/1 }] }
`);

  it('to Istio warns that it has no mapping', () => {
    expect(exportAs(resources, 'istio').warnings).toContain('Api/profiles route profile: aggregate has no Istio mapping; the route is exported without a destination');
  });

  it('to an Ingress warns that only destinations map', () => {
    expect(exportAs(resources, 'k8s').warnings.join('\n')).toContain('only routes to a destination map to an Ingress');
  });
});
