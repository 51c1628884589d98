import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminHarness, stream, upstreamYaml, type AdminHarness } from '../admin/harness.js';
import { expectProblem } from '../admin/problem-assertions.js';

// Bad routing config is refused at apply with problem+json naming the field; nothing changes.
let h: AdminHarness;
beforeAll(async () => {
  h = await startAdminHarness('pglite');
  expect((await h.applyYaml(upstreamYaml('svc'))).statusCode).toBe(200);
});
afterAll(async () => {
  await h?.close();
});

const api = (route: string) => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: bad }\nspec:\n  routes:\n    - ${route}\n`;

describe('routing config refused at apply', () => {
  it.each([
    ['a regex that does not compile', '{ name: r, match: [{ path: { regex: "(unclosed" } }], destination: { upstream: svc } }', 'spec.routes[0].match[0].path.regex', 'invalid_regex'],
    ['a backtracking-only construct (backreference)', '{ name: r, match: [{ queryParams: { q: { regex: "(a+)\\\\1" } } }], destination: { upstream: svc } }', 'spec.routes[0].match[0].queryParams.q.regex', 'invalid_regex'],
    ['weights summing to 0', '{ name: r, destinations: [{ upstream: svc, weight: 0 }] }', 'spec.routes[0].destinations', undefined],
    ['an unknown subset', '{ name: r, destination: { upstream: svc, subset: v2 } }', 'spec.routes[0].destination.subset', 'unknown_subset'],
    ['a redirect code not in the list', '{ name: r, redirect: { path: /x, code: 305 } }', 'spec.routes[0].redirect.code', undefined],
    ['an unknown capture in a rewrite', '{ name: r, match: [{ path: { template: "/o/{id}" } }], rewrite: { path: "/{order}" }, destination: { upstream: svc } }', 'spec.routes[0].rewrite.path', 'unknown_capture'],
  ])('%s', async (_what, route, path, code) => {
    const before = await h.exportYaml();
    const body = expectProblem(await h.applyYaml(stream(api(route))), 422, 'INVALID_CONFIG');
    expect(body.errors).toEqual([expect.objectContaining({ path, resource: 'Api/bad', ...(code ? { code } : {}) })]);
    expect(await h.exportYaml()).toBe(before);
  });
});
