// `npm start`: build what is out of date, then run `tollgate start` in this same process.
//
// Why not `tsc -b && node apps/cli/dist/main.js start` (what it was): `tsc -b` loads TypeScript
// and reads every project's build info even when nothing changed, seconds of every restart
// (docs/benchmarks.md), and a type-check is not needed to run. So:
// - the build is skipped when every workspace's dist/.tsbuildinfo is newer than everything
//   under its src/ (and its tsconfig.json / package.json, and tsconfig.base.json);
// - otherwise it runs `tsc -b --noCheck`: emit only (a third of the CPU of a checked build).
//   TypeScript records in the build info that errors are still to be reported, so the next
//   `npm run build` / `npm test` type-checks in full;
// - then the CLI is imported here rather than spawned: one Node process serves, and a SIGTERM
//   from npm or a process manager reaches it directly (issue 17: the tree stops as one).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Newest modification time (ms) of a file or of anything in a directory tree, tests excluded. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return path.endsWith('.test.ts') ? 0 : stat.mtimeMs;
  // A directory's own time moves when a file in it is added, removed or renamed.
  let max = stat.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** Why the build must run, or undefined when every project's output is newer than its inputs. */
export function staleReason(repo = root) {
  const references = JSON.parse(readFileSync(join(repo, 'tsconfig.json'), 'utf8')).references ?? [];
  const shared = newest(join(repo, 'tsconfig.base.json'));
  for (const { path } of references) {
    const project = join(repo, path);
    let built;
    try {
      built = statSync(join(project, 'dist', '.tsbuildinfo')).mtimeMs;
    } catch {
      return `${path} has not been built`;
    }
    const inputs = Math.max(shared, newest(join(project, 'src')), newest(join(project, 'tsconfig.json')), newest(join(project, 'package.json')));
    if (inputs > built) return `${path} changed since it was built`;
  }
  return undefined;
}

/** Runs `tsc -b --noCheck`; a SIGTERM meanwhile stops it and this process. */
async function build(reason) {
  process.stderr.write(`tollgate: building (${reason}) ...\n`);
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-b', '--noCheck'], { cwd: root, stdio: 'inherit' });
  const forward = (signal) => {
    child.kill(signal);
    process.exitCode = 128 + (signal === 'SIGINT' ? 2 : 15);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(signal ? 1 : c)));
  process.off('SIGTERM', forward);
  process.off('SIGINT', forward);
  if (process.exitCode) process.exit();
  if (code !== 0) {
    process.stderr.write('tollgate: the build failed (see above); run `npm run build` for the type errors\n');
    process.exit(code ?? 1);
  }
}

/**
 * Why the web console's assets (apps/console/dist, served at /console/) must be built, or
 * undefined when they are newer than its sources. Built with Vite, not tsc, so checked apart.
 */
export function consoleStaleReason(repo = root) {
  const app = join(repo, 'apps', 'console');
  let built;
  try {
    built = statSync(join(app, 'dist', 'index.html')).mtimeMs;
  } catch {
    return 'the console has not been built';
  }
  const inputs = Math.max(newest(join(app, 'src')), newest(join(app, 'index.html')), newest(join(app, 'vite.config.ts')), newest(join(app, 'package.json')));
  return inputs > built ? 'the console changed since it was built' : undefined;
}

/** Runs the console's Vite build (`vite build`, emit only); a failure leaves /console/ answering 503. */
async function buildConsole(reason) {
  process.stderr.write(`tollgate: building the web console (${reason}) ...\n`);
  const vite = join(dirname(createRequire(join(root, 'apps', 'console', 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: join(root, 'apps', 'console'), stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(signal ? 1 : c)));
  if (code !== 0) process.stderr.write('tollgate: the console build failed (see above); the admin API works, /console/ answers 503\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const reason = staleReason();
  if (reason !== undefined) await build(reason);
  const consoleReason = consoleStaleReason();
  if (consoleReason !== undefined) await buildConsole(consoleReason);
  const main = join(root, 'apps', 'cli', 'dist', 'main.js');
  // The CLI reads its arguments from process.argv: make them what `node main.js start …` gives.
  process.argv = [process.argv[0], main, 'start', ...process.argv.slice(2)];
  await import(pathToFileURL(main).href);
}
