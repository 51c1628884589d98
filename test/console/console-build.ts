import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONSOLE = `${ROOT}apps/console/`;
const BUILT = `${CONSOLE}dist/index.html`;
const LOCK = `${CONSOLE}.build-lock`;
/** A lock older than this is left over from a killed run. */
const STALE_LOCK_MS = 120_000;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(`${path}/`) : statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  if (!existsSync(BUILT)) return false;
  const sources = Math.max(newestSource(`${CONSOLE}src/`), ...['index.html', 'vite.config.ts', 'package.json'].map((f) => statSync(`${CONSOLE}${f}`).mtimeMs));
  return statSync(BUILT).mtimeMs >= sources;
}

/**
 * Builds the console (`npm test` runs `tsc -b` only) unless dist is newer than every source.
 * Test files run in parallel and Vite empties dist before writing it: one build at a time
 * (a lock directory), so no admin process of another file serves a half-written dist.
 */
export async function buildConsole(): Promise<void> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('the console build lock was not released');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (!upToDate()) execFileSync('npm', ['run', 'build', '--silent', '-w', '@tollgate/console'], { cwd: ROOT, stdio: 'ignore' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
