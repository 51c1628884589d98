// Configurations the benchmark scripts share, so every rig measures the same gateway set-up.

/** An Upstream document named `name` with one target, followed by a document separator. */
export function upstreamDoc(name, url) {
  return `apiVersion: tollgate.dev/v1
kind: Upstream
metadata: { name: ${name} }
spec:
  targets: [{ url: "${url}" }]
---
`;
}

/** One Upstream (`bench`) on the given origin and one Api whose single catch-all route goes to it. */
export function plainConfig(upstreamUrl) {
  return `${upstreamDoc('bench', upstreamUrl)}apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: bench }
spec:
  routes:
    - name: all
      destination: { upstream: bench }
`;
}
