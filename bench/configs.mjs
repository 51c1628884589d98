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

/** The API key of {@link limitedConfig}'s consumer. */
export const BENCH_KEY = 'tg_bench_key_0123456789abcdefghij';

/**
 * {@link plainConfig} plus an Api under `/limited` with `key-auth` and a `rate-limit` of two
 * windows (1 minute and 1 hour) far above what a run reaches, and one consumer holding
 * {@link BENCH_KEY}: every request is authenticated, counted (one Lua call with a Redis store)
 * and served.
 */
export function limitedConfig(upstreamUrl) {
  return `${plainConfig(upstreamUrl)}---
apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: limited }
spec:
  basePath: /limited
  policies:
    - { name: key-auth }
    - { name: rate-limit, config: { limits: [{ limit: 1000000000, window: 1m }, { limit: 1000000000, window: 1h }] } }
  routes:
    - name: all
      destination: { upstream: bench }
---
apiVersion: tollgate.dev/v1
kind: Consumer
metadata: { name: bench }
spec:
  keys: [{ name: bench, key: ${BENCH_KEY} }]
`;
}
