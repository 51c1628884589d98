import { waitUntil } from '../support/tollgate-process.js';

// The configuration and traffic shared by the single-node metering tests (embedded.test.ts,
// sigkill.test.ts): one key-authenticated API at /files for consumer `acme`, subscribed to a
// billing plan so its requests are metered as billable.

/** Upstream `svc`, API `files` (key-auth) at /files, consumer `acme` with `key`, plan `basic` and its subscription. */
export const keyedFilesConfig = (upstream: string, key: string): string =>
  [
    `kind: Upstream\nmetadata: { name: svc }\nspec: { targets: [{ url: ${upstream} }] }`,
    `kind: Api\nmetadata: { name: files }\nspec:\n  basePath: /files\n  policies: [{ name: key-auth }]\n  routes: [{ name: all, destination: { upstream: svc } }]`,
    `kind: Consumer\nmetadata: { name: acme }\nspec: { keys: [{ name: k, key: ${key} }] }`,
    `kind: Plan\nmetadata: { name: basic }\nspec: { billing: { currency: EUR } }`,
    `kind: Subscription\nmetadata: { name: acme-basic }\nspec: { consumer: acme, plan: basic, start: "2020-01-01T00:00:00Z" }`,
  ]
    .map((d) => `apiVersion: tollgate.dev/v1\n${d}\n`)
    .join('---\n');

/** GET /files/<path> with the key; true when answered 200 (the body is drained). */
async function getFile(proxyUrl: string, key: string, path: string): Promise<boolean> {
  const r = await fetch(`${proxyUrl}/files/${path}`, { headers: { apikey: key } });
  await r.arrayBuffer();
  return r.status === 200;
}

/** Polls /files/x until the applied configuration answers 200; that request counts as one answered. */
export async function waitUntilFilesAnswered(proxyUrl: string, key: string): Promise<number> {
  let ok = 0;
  await waitUntil(async () => {
    const answered = await getFile(proxyUrl, key, 'x');
    if (answered) ok += 1;
    return answered;
  }, 10_000, 50);
  return ok;
}

/** Sends GET /files/<prefix><i> for i in 0..n-1; returns how many were answered 200. */
export async function countFilesAnswered(proxyUrl: string, key: string, n: number, prefix = ''): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if (await getFile(proxyUrl, key, `${prefix}${i}`)) ok += 1;
  return ok;
}
