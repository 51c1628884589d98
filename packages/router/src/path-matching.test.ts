import { describe, expect, it } from 'vitest';
import { normalizePath, PathError } from './normalize-path.js';
import { applyPathMatching, DEFAULT_PATH_MATCHING, type PathMatching } from './path-matching.js';
import { RouteTable, type RouteEntry } from './route-table.js';

const pm = (o: Partial<PathMatching>): PathMatching => ({ ...DEFAULT_PATH_MATCHING, ...o });
const STRIP = pm({ matrixParams: 'strip', trailingDots: 'strip' });
const KEEP = pm({ matrixParams: 'keep', trailingDots: 'keep' });

function refusal(path: string, options: PathMatching): string | null {
  try {
    applyPathMatching(path, options);
    return null;
  } catch (err) {
    return err instanceof PathError ? err.code : 'other';
  }
}

describe('applyPathMatching', () => {
  it('leaves ordinary paths alone under every option', () => {
    for (const p of ['/', '/admin', '/a/b/', '/file.json', '/.well-known/x', '/a..b/c', '/v1.2/x']) {
      for (const o of [DEFAULT_PATH_MATCHING, STRIP, KEEP]) expect(applyPathMatching(p, o)).toBe(p);
    }
  });

  it.each(['/admin;x=1/', '/admin;/', '/admin;', '/public/..;/admin', '/a;b/c', '/admin%3Bx/'])('reject (the default) refuses ";" parameters: %s', (p) => {
    expect(refusal(p, DEFAULT_PATH_MATCHING)).toBe('MATRIX_PARAMS');
  });

  it.each([
    ['/admin;x=1/', '/admin/'],
    ['/admin;jsessionid=1', '/admin'],
    ['/a;b/c;d', '/a/c'],
    ['/public/..;/admin', '/admin'],
    ['/;x/admin', '/admin'],
    ['/admin%3Bx/', '/admin%3Bx/'],
  ])('strip: %s -> %s', (p, want) => expect(applyPathMatching(p, STRIP)).toBe(want));

  it.each(['/admin./', '/admin.', '/admin../x', '/a/b.'])('reject (the default) refuses a segment ending in ".": %s', (p) => {
    expect(refusal(p, DEFAULT_PATH_MATCHING)).toBe('TRAILING_DOT');
  });

  it.each([
    ['/admin./', '/admin/'],
    ['/admin...', '/admin'],
    ['/a/.../b', '/a/b'],
    ['/admin.;x/', '/admin/'],
  ])('strip: %s -> %s', (p, want) => expect(applyPathMatching(p, STRIP)).toBe(want));

  it('a normalized %2E is a dot like any other', () => {
    expect(refusal(normalizePath('/admin%2E/'), DEFAULT_PATH_MATCHING)).toBe('TRAILING_DOT');
  });

  it('keep passes every spelling through', () => {
    for (const p of ['/admin;x=1/', '/admin./', '/public/..;/admin']) expect(applyPathMatching(p, KEEP)).toBe(p);
  });

  it('caseInsensitive folds the path to lower case (after the other options)', () => {
    expect(applyPathMatching('/ADMIN/Users', pm({ caseInsensitive: true }))).toBe('/admin/users');
    expect(applyPathMatching('/ADMIN;x/Y.', pm({ caseInsensitive: true, matrixParams: 'strip', trailingDots: 'strip' }))).toBe('/admin/y');
  });
});

describe('RouteTable with path matching options', () => {
  // A narrow route with a stricter policy and a broad route of the same API.
  const table = (options: PathMatching) =>
    new RouteTable<string>([
      { hosts: [], path: { kind: 'prefix', value: '/admin' }, methods: [], group: 'api', pathMatching: options, value: 'narrow' },
      { hosts: [], path: { kind: 'template', base: '', value: '/Files/{name}' }, methods: [], group: 'api', pathMatching: options, value: 'files' },
      { hosts: [], path: { kind: 'regex', base: '', value: '/Reports/(?P<id>[0-9]+)' }, methods: [], group: 'api', pathMatching: options, value: 'reports' },
      { hosts: [], path: { kind: 'prefix', value: '/' }, methods: [], group: 'api', pathMatching: options, value: 'broad' },
    ]);
  const routed = (t: RouteTable<string>, path: string) => {
    const r = t.lookup('h', path, 'GET');
    return r.kind === 'match' ? r.value : r.kind;
  };

  it.each(['/admin;x=1/', '/admin;/users', '/admin./', '/admin.', '/public/..;/admin'])('strip and reject find the narrow route for %s', (p) => {
    expect(routed(table(STRIP), p)).toBe('narrow');
    expect(routed(table(DEFAULT_PATH_MATCHING), p)).toBe('narrow');
  });

  it('keep routes the spellings as data (through the broad route)', () => {
    for (const p of ['/admin;x=1/', '/admin./']) expect(routed(table(KEEP), p)).toBe('broad');
  });

  it.each(['/ADMIN', '/Admin/users', '/aDmIn;x/'])('caseInsensitive finds the narrow route for %s', (p) => {
    const t = table(pm({ caseInsensitive: true, matrixParams: 'strip' }));
    expect(routed(t, p)).toBe('narrow');
    expect(routed(table(DEFAULT_PATH_MATCHING), p)).toBe('broad');
  });

  it('caseInsensitive templates and regexes match the folded path and capture from it', () => {
    const t = table(pm({ caseInsensitive: true }));
    expect(t.lookup('h', '/FILES/ReadMe', 'GET')).toMatchObject({ value: 'files', captures: { name: 'readme' } });
    expect(t.lookup('h', '/reports/42', 'GET')).toMatchObject({ value: 'reports', captures: { id: '42' } });
    expect(t.lookup('h', '/REPORTS/42', 'GET')).toMatchObject({ value: 'reports' });
  });

  it('the lookup reports the options of the entry that matched', () => {
    const r = table(STRIP).lookup('h', '/admin;x/', 'GET');
    expect(r.kind === 'match' && applyPathMatching('/admin;x/', r.pathMatching)).toBe('/admin/');
  });

  it('APIs with different options share a table: each is matched on its own view', () => {
    const t = new RouteTable<string>([
      { hosts: [], path: { kind: 'prefix', value: '/admin' }, methods: [], group: 'strict', pathMatching: STRIP, value: 'strict-admin' },
      { hosts: [], path: { kind: 'prefix', value: '/' }, methods: [], group: 'loose', pathMatching: KEEP, value: 'loose-any' },
    ] satisfies RouteEntry<string>[]);
    expect(routed(t, '/admin;x/')).toBe('strict-admin');
    expect(routed(t, '/other;x/')).toBe('loose-any');
  });
});
