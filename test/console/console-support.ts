import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

/** Launches Debian's Chromium headless through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Collects script errors and CSP violations of a page (the strict policy must not break any screen). */
export function watchProblems(page: Page, ignore: RegExp = /\b(401|403|429)\b/): string[] {
  const problems: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !ignore.test(m.text()) && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

/** Signs in through the form and waits until the signed-in shell shows (its Sign out button). */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * Runs axe-core (WCAG 2.x A/AA rules) on the current screen and fails on serious or critical
 * violations. axe is evaluated through the DevTools protocol, which the page's CSP does not
 * govern, so the console's policy stays as strict as it ships (no 'unsafe-inline' for a test).
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  expect(await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe), 'axe-core loaded').toBe('object');
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target) }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${screen}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

/** Polls `fn` until it returns a truthy value, or fails after `timeoutMs` (no fixed sleeps under load). */
export async function waitUntil<T>(fn: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONSOLE = `${ROOT}apps/console/`;
const LOCK = `${CONSOLE}.build-lock`;

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtime(`${path}/${f}`)));
}

/**
 * Builds the console (`npm test` runs `tsc -b` only) unless its build is newer than its sources.
 * The browser test files run in parallel, and Vite empties `dist` before writing it: one file's
 * build would delete the assets the other's admin is serving. A lock directory (mkdir is atomic)
 * makes the second file wait for the first build and then find it current.
 */
export async function buildConsoleOnce(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const held = statSync(LOCK, { throwIfNoEntry: false });
      if (held === undefined) continue; // released in between: try again at once
      // A lock older than two minutes belongs to a run that died: take it over.
      if (Date.now() > deadline || Date.now() - held.mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    const built = existsSync(`${CONSOLE}dist/index.html`) ? statSync(`${CONSOLE}dist/index.html`).mtimeMs : 0;
    const sources = Math.max(...['src', 'index.html', 'package.json', 'vite.config.ts', 'public'].filter((p) => existsSync(`${CONSOLE}${p}`)).map((p) => newestMtime(`${CONSOLE}${p}`)));
    if (built > sources) return;
    execFileSync('npm', ['run', 'build', '--silent', '-w', '@tollgate/console'], { cwd: ROOT, stdio: 'ignore' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
