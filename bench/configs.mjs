// Configurations the benchmark scripts share, so every rig measures the same gateway set-up.

/** One Upstream (`bench`) on the given origin and one Api whose single catch-all route goes to it. */
export function plainConfig(upstreamUrl) {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: bench }
spec:
  targets: [{ url: "${upstreamUrl}" }]
---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: bench }
spec:
  routes:
    - name: all
      destination: { upstream: bench }
`;
}
