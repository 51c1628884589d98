/**
 * Runs the blocks of one markdown file, in order, against a fresh product: a `tollgate start`
 * process (gateway + admin in one process, as `npm start` runs them) on free ports, on the
 * embedded store or on a fresh Postgres database and Redis.
 *
 * What a block sees (the environment a reader of the docs has after the README's quick start):
 * - cwd: a fresh working directory per markdown file, shared by its blocks, holding a copy of the
 *   repository's test/fixtures (the sample files docs point at, e.g. the Petstore document), so
 *   a block reads as run from the checkout root but cannot write into the checkout;
 * - PATH starts with a `tollgate` shim running apps/cli/dist/main.js (what `npm install -g
 *   ./apps/cli` links) and a `curl` shim: the real curl, which then fails the block (exit 22)
 *   when the final answer's status is >= 400, unless the block is marked
 *   `<!-- doctest: status=404 -->` (so `curl -i` of a route that is not there cannot pass);
 * - the developer portal is on (PORTAL=true on a free PORTAL_PORT) for a file whose blocks use it
 *   (its port 8002, the admin API's /portal/ routes or `tollgate portal`), off for the others as
 *   in a default install;
 * - PROXY_PORT / ADMIN_PORT / STATUS_PORT / PROXY_TLS_PORT (and PORTAL_PORT) and ADMIN_TOKEN are the product's (the
 *   CLI reads them as the server does), TOLLGATE_ADMIN_TOKEN is the admin token, HOME and
 *   XDG_CONFIG_HOME are inside the working directory (CLI contexts land there);
 * - loopback URLs of the documented ports (127.0.0.1:8000, :8001, :8100, :8443, :8002) are rewritten to
 *   the product's, other loopback ports a file uses (an upstream on 127.0.0.1:9000) to free ports;
 * - variables a block assigns are seen by later blocks of the same file (each block runs in
 *   `bash -e` with `set -a`, and its exported environment is carried to the next).
 * Processes a block leaves in the background (an upstream started with `&`) live until the file
 * ends, then their process group is killed.
 * A file whose blocks only validate YAML (dry runs: nothing applied, no shell) shares one product
 * per store mode: a dry run changes nothing, so it sees what a fresh product would.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createTestDatabase, randomPrefix, testRedisUrl, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import { CLI, startTollgateProcess, type TollgateProcess } from '../support/tollgate-process.js';
import { DEFAULT_PORTS, localPortsOf, parseYamlBlock, rewritePorts, usesPortal, whereOf, type DocBlock } from './doc-blocks.js';

/** Repository root. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The admin token of every product the runner starts. */
const TOKEN = 'tgadm_doctest_admin_token_0123456789';

/** Which stores the product runs on. */
export type StoreMode = 'embedded' | 'postgres';

/** Longest a block may run, ms. */
const BLOCK_TIMEOUT_MS = 60_000;

/** The product and working directory of one markdown file. */
export interface DocSession {
  workdir: string;
  /** Runs one block; throws an Error whose message is the report of a failing block. */
  run(block: DocBlock): Promise<void>;
  close(): Promise<void>;
}

/**
 * An embedded data directory migrated once per mode and copied per markdown file: a first start on
 * an empty directory migrates PGlite, which costs seconds that say nothing about the docs.
 */
let embeddedTemplate: Promise<string> | null = null;
/** Temporary directories of the shared products and the template, removed by stopShared(). */
const sharedDirs: string[] = [];
function migratedEmbeddedData(): Promise<string> {
  embeddedTemplate ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-doctest-template-'));
    sharedDirs.push(dir);
    const tg = await startTollgateProcess({ env: { TOLLGATE_DATA: join(dir, 'data'), ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn' }, readyTimeoutMs: 60_000 });
    await tg.stop();
    return join(dir, 'data');
  })();
  return embeddedTemplate;
}

/** A running product: one `tollgate start` process and what it stores in. */
interface Product {
  tg: TollgateProcess;
  tls: number;
  /** The developer portal's port, or null when it is off. */
  portal: number | null;
  stop(): Promise<void>;
}

/** Starts a fresh product on `mode`'s stores, with the developer portal when `portal`; `dir` holds its embedded data. */
async function startProduct(mode: StoreMode, dir: string, portal = false): Promise<Product> {
  const tls = await freePort();
  const portalPort = portal ? await freePort() : null;
  // MAX_EVENT_LOOP_DELAY_MS=0: on a starved test machine the overload guard would answer 503 to
  // a doc's curl; load shedding is tested elsewhere (test/observability), not what the docs show.
  const env: Record<string, string> = { ADMIN_TOKEN: TOKEN, PROXY_TLS_PORT: String(tls), LOG_LEVEL: 'info', LOG_FORMAT: 'json', MAX_EVENT_LOOP_DELAY_MS: '0' };
  // Mail (verification links) goes to the product's log: the runner sets no SMTP server.
  if (portalPort !== null) Object.assign(env, { PORTAL: 'true', PORTAL_PORT: String(portalPort) });
  let db: TestDatabase | undefined;
  const redisPrefixes: string[] = [];
  if (mode === 'embedded') {
    const data = join(dir, '.tollgate');
    cpSync(await migratedEmbeddedData(), data, { recursive: true });
    env.TOLLGATE_DATA = data;
  } else {
    db = await createTestDatabase();
    env.DATABASE_URL = db.url;
    env.REDIS_URL = testRedisUrl();
    env.REDIS_KEY_PREFIX = `${randomPrefix('doctest')}:`;
    env.CACHE_KEY_PREFIX = `${randomPrefix('doctestcache')}:`;
    redisPrefixes.push(env.REDIS_KEY_PREFIX, env.CACHE_KEY_PREFIX);
  }
  let tg: TollgateProcess;
  try {
    tg = await startTollgateProcess({ env, readyTimeoutMs: 60_000 });
  } catch (error) {
    // One more try: on a starved machine a start can miss fastify's plugin timeout, which says
    // nothing about the docs. A second failure is reported as it is.
    process.stderr.write(`doc runner: tollgate start failed once, retrying: ${(error as Error).message.split('\n')[0]}\n`);
    try {
      tg = await startTollgateProcess({ env, readyTimeoutMs: 60_000 });
    } catch (again) {
      await db?.drop();
      throw again;
    }
  }
  return {
    tg,
    tls,
    portal: portalPort,
    async stop() {
      await tg.stop();
      await db?.drop();
      if (redisPrefixes.length > 0) await deleteRedisKeys(redisPrefixes);
    },
  };
}

/**
 * One product per mode for the files whose blocks only validate (dry-run YAML, nothing applied,
 * no shell): a dry run changes nothing, so it sees what a fresh product would, without the
 * seconds a start costs.
 */
const validators = new Map<StoreMode, Promise<Product>>();
function validator(mode: StoreMode): Promise<Product> {
  let p = validators.get(mode);
  if (!p) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-doctest-validator-'));
    p = startProduct(mode, dir);
    validators.set(mode, p);
    sharedDirs.push(dir);
  }
  return p;
}

/** Stops the shared validating products and removes the shared directories (after every file ran). */
export async function stopShared(): Promise<void> {
  for (const p of validators.values()) await (await p).stop();
  validators.clear();
  embeddedTemplate = null;
  for (const dir of sharedDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Whether a block changes or depends on the product's state (else a dry run on a shared product serves). */
function mutates(b: DocBlock): boolean {
  return b.writeTo === undefined && (b.lang === 'shell' || b.apply);
}

/** Starts a product (before the first block, when a block needs one) and returns the session of `file`. */
export async function openSession(file: string, blocks: DocBlock[], mode: StoreMode): Promise<DocSession> {
  const workdir = mkdtempSync(join(tmpdir(), `tollgate-doctest-${file.replace(/[^\w]+/g, '-')}-`));
  // A copy, never a link: a block must not be able to write into the checkout.
  cpSync(join(REPO, 'test', 'fixtures'), join(workdir, 'test', 'fixtures'), { recursive: true });
  const bin = join(workdir, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tollgate'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'tollgate'), 0o755);
  writeFileSync(join(bin, 'curl'), CURL_SHIM.replace('REAL_CURL', realCurl()));
  chmodSync(join(bin, 'curl'), 0o755);
  mkdirSync(join(workdir, '.home', '.config'), { recursive: true });
  const stateFile = join(workdir, '.doctest-env');

  let product: Product | null = null;
  let owned = false;
  const portMap = new Map<number, number>();
  for (const p of localPortsOf(blocks)) portMap.set(p, await freePort());
  const groups: number[] = [];

  async function ensureProduct(): Promise<Product> {
    if (product) return product;
    const portal = usesPortal(blocks);
    owned = portal || blocks.some(mutates);
    product = owned ? await startProduct(mode, workdir, portal) : await validator(mode);
    const port = (url: string) => Number(new URL(url).port);
    portMap.set(DEFAULT_PORTS.proxy, port(product.tg.proxyUrl));
    portMap.set(DEFAULT_PORTS.admin, port(product.tg.adminUrl));
    portMap.set(DEFAULT_PORTS.status, port(product.tg.statusUrl));
    portMap.set(DEFAULT_PORTS.tls, product.tls);
    if (product.portal !== null) portMap.set(DEFAULT_PORTS.portal, product.portal);
    return product;
  }

  function productLog(): string {
    if (!product) return '(no product started)';
    return tail(product.tg.output(), 25);
  }

  async function runShell(block: DocBlock, code: string): Promise<void> {
    const { tg, tls, portal } = await ensureProduct();
    const port = (url: string) => new URL(url).port;
    const out = join(workdir, `.doctest-out-${block.line}`);
    const script = [
      `[ -f '${stateFile}' ] && . '${stateFile}'`,
      // What the block assigns is carried on; what the runner sets per block (DOCTEST_*) is not.
      `trap 'export -p | grep -vE "^declare -x (PWD|OLDPWD|SHLVL|_|DOCTEST_[A-Z_]*)=" > "${stateFile}.next"' EXIT`,
      `export DOCTEST_ALLOW_HTTP='${block.allowHttp.join(',')}'`,
      'set -a',
      code,
    ].join('\n');
    const fd = openSync(out, 'w');
    const child = spawn('bash', ['-e', '-c', script], {
      cwd: workdir,
      detached: true, // its own process group, killed when the file ends (background servers)
      stdio: ['ignore', fd, fd],
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: join(workdir, '.home'),
        XDG_CONFIG_HOME: join(workdir, '.home', '.config'),
        LANG: 'C.UTF-8',
        TERM: 'dumb',
        PROXY_PORT: port(tg.proxyUrl),
        ADMIN_PORT: port(tg.adminUrl),
        STATUS_PORT: port(tg.statusUrl),
        PROXY_TLS_PORT: String(tls),
        ...(portal !== null ? { PORTAL_PORT: String(portal) } : {}),
        ADMIN_TOKEN: TOKEN,
        TOLLGATE_ADMIN_TOKEN: TOKEN,
      },
    });
    closeSync(fd);
    if (child.pid !== undefined) groups.push(child.pid);
    const code_ = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        killGroup(child.pid);
        resolve(`timeout after ${BLOCK_TIMEOUT_MS / 1000} s`);
      }, BLOCK_TIMEOUT_MS);
      child.on('exit', (c, signal) => {
        clearTimeout(timer);
        resolve(c ?? `signal ${signal}`);
      });
    });
    if (existsSync(`${stateFile}.next`)) cpSync(`${stateFile}.next`, stateFile);
    const output = readFileSync(out, 'utf8');
    if (code_ !== block.expectExit) {
      const status = typeof code_ === 'number' ? `exit ${code_}` : code_;
      const expected = block.expectExit === 0 ? '' : ` (expected exit ${block.expectExit})`;
      throw new Error(report(block, `shell block failed: ${status}${expected}`, code, output, productLog()));
    }
  }

  async function runYaml(block: DocBlock, code: string): Promise<void> {
    let docs;
    try {
      docs = parseYamlBlock(code);
    } catch (error) {
      throw new Error(report(block, 'YAML block does not parse', code, (error as Error).message));
    }
    const resources = docs.filter((d) => d.resource);
    if (resources.length === 0) return; // a fragment of a resource (a field, a route): parsing is all
    if (resources.length !== docs.length) {
      throw new Error(report(block, 'YAML block mixes resource documents (apiVersion + kind) with fragments: split it, or give the fragments apiVersion and kind', code, ''));
    }
    const { tg } = await ensureProduct();
    const res = await fetch(`${tg.adminUrl}/config${block.apply ? '' : '?dryRun=true'}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' },
      body: code,
    });
    const body = await res.text();
    if (!res.ok) throw new Error(report(block, `YAML block refused by the admin API (${block.apply ? 'apply' : 'dry-run apply'}): ${res.status}`, code, body, productLog()));
  }

  // Start the product before the first block (in the suite's beforeAll) when any block needs one.
  const needsProduct = blocks.some((b) => b.writeTo === undefined && (b.lang === 'shell' || /^\s*apiVersion:/m.test(b.code)));
  if (needsProduct) {
    try {
      await ensureProduct();
    } catch (error) {
      rmSync(workdir, { recursive: true, force: true });
      throw error;
    }
  }

  return {
    workdir,
    async run(block) {
      if (block.problem !== undefined) throw new Error(`${whereOf(block)}: ${block.problem}`);
      const code = rewritePorts(block, portMap);
      if (block.writeTo !== undefined) {
        const target = join(workdir, block.writeTo);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, code);
        return;
      }
      if (block.lang === 'shell') await runShell(block, code);
      else await runYaml(block, code);
    },
    async close() {
      for (const pid of groups) killGroup(pid);
      if (owned) await product?.stop();
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/**
 * curl as the docs call it, plus a check of the final HTTP status (headers dumped to a temporary
 * file with -D, so the output the doc shows is untouched).
 */
const CURL_SHIM = `#!/bin/bash
hdr=$(mktemp)
REAL_CURL --no-progress-meter -D "$hdr" "$@"
rc=$?
code=$(grep -aoE '^HTTP/[0-9.]+ [0-9]{3}' "$hdr" | grep -vE ' 1[0-9]{2}$' | tail -n 1 | awk '{print $2}')
rm -f "$hdr"
[ $rc -ne 0 ] && exit $rc
if [ -n "$code" ] && [ "$code" -ge 400 ] && [[ ",$DOCTEST_ALLOW_HTTP," != *",$code,"* ]]; then
  echo "[doctest] curl $* -> HTTP $code; a block may get a status >= 400 only when marked <!-- doctest: status=$code -->" >&2
  exit 22
fi
exit 0
`;

function realCurl(): string {
  for (const p of ['/usr/bin/curl', '/bin/curl', '/usr/local/bin/curl']) if (existsSync(p)) return p;
  return 'command curl';
}

/** Removes what a product left in the shared test Redis under its own prefixes. */
async function deleteRedisKeys(prefixes: string[]): Promise<void> {
  const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const prefix of prefixes) {
      // The prefixes are generated here (hex), so they hold no glob characters.
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await redis.unlink(...keys);
      }
    }
  } finally {
    redis.disconnect();
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

/** The failure message of a block: where, what, the block as run, its output, how to fix. */
function report(block: DocBlock, what: string, code: string, output: string, productLog?: string): string {
  const parts = [
    `${whereOf(block)}: ${what}`,
    `--- block as run (${block.info}; ports rewritten to the test product's) ---`,
    code.trimEnd(),
    '--- output ---',
    output.trimEnd() === '' ? '(none)' : tail(output, 60),
  ];
  if (productLog !== undefined) parts.push('--- last lines of the product log ---', productLog);
  parts.push(
    '--- fix the doc (or the product), or, only if it cannot run in a test (docker, kubectl, a server the runner already starts), put',
    '    <!-- doctest: skip <reason> -->  on the line above the fence; see docs/contributing.md ---',
  );
  return parts.join('\n');
}
