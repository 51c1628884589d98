import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from './parse.js';

const api = (spec: string) => `apiVersion: tollgate.dev/v1
kind: Api
metadata: { name: a }
spec:
${spec.replace(/^/gm, '  ')}
`;

function issues(spec: string): Array<{ path: string; message: string }> {
  const r = parseResourcesYaml(api(spec));
  return r.ok ? [] : r.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('spec.pathMatching', () => {
  it('defaults to reject, reject, case-sensitive', () => {
    const r = parseResourcesYaml(api('routes: [{ name: r, directResponse: { status: 204 } }]'));
    expect(r.ok && r.resources[0]?.kind === 'Api' && r.resources[0].spec.pathMatching).toEqual({ caseInsensitive: false, matrixParams: 'reject', trailingDots: 'reject' });
  });

  it('refuses route paths that can never match under the options, and unknown values', () => {
    expect(issues('routes: [{ name: r, match: [{ path: { prefix: "/a;b" } }], directResponse: { status: 204 } }]')).toEqual([{ path: expect.stringContaining('routes[0].match[0].path.prefix'), message: expect.stringContaining('matrixParams: reject') }]);
    expect(issues('pathMatching: { trailingDots: strip }\nroutes: [{ name: r, match: [{ path: { exact: "/v1./x" } }], directResponse: { status: 204 } }]')).toEqual([{ path: expect.stringContaining('routes[0].match[0].path.exact'), message: expect.stringContaining('trailingDots: strip') }]);
    expect(issues('basePath: "/x."\nroutes: [{ name: r, directResponse: { status: 204 } }]')).toEqual([{ path: expect.stringContaining('basePath'), message: expect.any(String) }]);
    expect(issues('pathMatching: { matrixParams: keep, trailingDots: keep }\nroutes: [{ name: r, match: [{ path: { prefix: "/a;b." } }], directResponse: { status: 204 } }]')).toEqual([]);
    expect(issues('pathMatching: { matrixParams: drop }\nroutes: [{ name: r, directResponse: { status: 204 } }]')).toHaveLength(1);
  });
});
