import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAUNCH_NODE_FLAGS, semiSpaceMiB } from './node-flags.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const read = (path: string): string => readFileSync(`${repo}/${path}`, 'utf8');

describe('the V8 flags Tollgate processes start with', () => {
  it('are on every launcher: npm start, npm run tollgate, the bin shebang, the image, the harnesses', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const shebang = read('apps/cli/bin/tollgate.js').split('\n')[0] ?? '';
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1] ?? '[]';
    for (const flag of LAUNCH_NODE_FLAGS) {
      expect(scripts.start).toContain(`node ${flag} `);
      expect(scripts.tollgate).toContain(`node ${flag} `);
      expect(shebang).toMatch(new RegExp(`^#!/usr/bin/env -S node .*${flag}`));
      expect(JSON.parse(entrypoint) as string[]).toEqual(expect.arrayContaining(['node', flag]));
      expect(read('bench/peers-gateway.sh')).toContain(`node ${flag} `);
    }
    expect(read('test/support/tollgate-process.ts')).toContain('...LAUNCH_NODE_FLAGS, CLI');
  });

  it('reach V8 through the bin shebang (env -S splits them)', () => {
    // The shim with its shebang, run as an executable: the process sees the flag in its execArgv.
    const out = execFileSync(`${repo}/apps/cli/bin/tollgate.js`, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(out.trim()).toMatch(/\d+\.\d+\.\d+/);
    const probe = execFileSync('/usr/bin/env', ['-S', `node ${LAUNCH_NODE_FLAGS.join(' ')}`, '-p', 'process.execArgv.join(" ")'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    for (const flag of LAUNCH_NODE_FLAGS) expect(probe).toContain(flag);
  });

  it('are read back from the command line and NODE_OPTIONS, the later winning as in V8', () => {
    expect(semiSpaceMiB([], '')).toBeNull();
    expect(semiSpaceMiB(['--max-semi-space-size=4'], '')).toBe(4);
    expect(semiSpaceMiB([], '--max-old-space-size=512 --max_semi_space_size=2')).toBe(2);
    expect(semiSpaceMiB(['--max-semi-space-size=8'], '--max-semi-space-size=2')).toBe(8);
  });
});
