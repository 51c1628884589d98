import { describe, expect, it } from 'vitest';
import { parseResourcesYaml } from './parse.js';

const upstream = (spec: string) => `apiVersion: tollgate.dev/v1\nkind: Upstream\nmetadata: { name: u }\nspec:\n${spec}`;
const api = (spec: string) => `apiVersion: tollgate.dev/v1\nkind: Api\nmetadata: { name: a }\nspec:\n${spec}`;

function firstIssue(yaml: string) {
  const r = parseResourcesYaml(yaml);
  if (r.ok) throw new Error('expected issues');
  return r.issues[0];
}

describe('model issues read as sentences, not zod texts', () => {
  it.each([
    ['an empty list', upstream('  targets: []\n'), 'spec.targets', 'must have at least 1 item'],
    ['a wrong type', upstream('  targets: 3\n'), 'spec.targets', 'must be an array'],
    ['a missing field', 'apiVersion: tollgate.dev/v1\nkind: Subscription\nmetadata: { name: s }\nspec: { plan: p, start: 2026-01-01 }\n', 'spec.consumer', 'is required'],
    ['a long string', api(`  basePath: /a\n  description: "${'x'.repeat(5000)}"\n  routes: []\n`), 'spec.description', 'must be at most'],
    ['an enum', upstream('  targets: [{ url: "http://a:1" }]\n  loadBalancing: fastest\n'), 'spec.loadBalancing', 'must be one of'],
  ])('%s', (_name, yaml, path, message) => {
    const issue = firstIssue(yaml);
    expect(issue?.path).toBe(path);
    expect(issue?.message).toContain(message);
    expect(issue?.message).not.toMatch(/Too small|Invalid input|expected array to have/);
  });
});
