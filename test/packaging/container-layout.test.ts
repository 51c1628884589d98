import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { settingsSchema } from '../../apps/cli/src/start-settings.js';
import { freePort } from '../support/ports.js';
import { waitUntil } from '../support/tollgate-process.js';
import { readImageStage, type ImageStage } from './dockerfile.js';

/**
 * Docker cannot run here, so the image's file layout is rebuilt from the Dockerfile itself: the
 * final stage's COPY targets under a root-owned, read-only WORKDIR (linked to the built checkout,
 * which is what the build stage produced), the directories its RUN lines create and chown, its
 * ENV (absolute paths moved under the temporary root), its USER (an unprivileged uid), its
 * ENTRYPOINT and CMD. A product that writes under /app, binds the admin API to the container's
 * loopback, or misses an EXPOSE fails here as it would in the container.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const IMAGE_UID = 1000; // the node user of the official node images
const asRoot = process.getuid?.() === 0;

describe('the container image layout', () => {
  let image: ImageStage;
  let root: string;
  let child: ChildProcess | undefined;
  let output = '';
  const inImage = (path: string) => join(root, path);

  beforeAll(() => {
    image = readImageStage(join(repo, 'Dockerfile'));
    root = mkdtempSync(join(tmpdir(), 'tollgate-image-'));
    chmodSync(root, 0o755);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child?.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('runs as an unprivileged user and exposes every default port', () => {
    expect(image.user).toBeDefined();
    expect(['root', '0', '']).not.toContain(image.user);
    const defaults = settingsSchema.parse({});
    for (const port of [defaults.PROXY_PORT, defaults.PROXY_TLS_PORT, defaults.ADMIN_PORT, defaults.STATUS_PORT]) expect(image.expose).toContain(port);
  });

  it('pins its base images to an exact release or a digest', () => {
    for (const base of image.bases) expect(base).toMatch(/(@sha256:[0-9a-f]{64}$|:\d+\.\d+(\.\d+)?(-[\w.-]+)?$)/);
  });

  it('starts from its own layout as its user, with its ENV, and writes only where it may', async () => {
    // WORKDIR and the COPY targets: root-owned and read-only, like files copied by a root build.
    const workdir = inImage(image.workdir);
    mkdirSync(workdir, { recursive: true });
    for (const copy of image.copies) {
      const source = copy.from !== undefined ? join(repo, relative(image.buildWorkdir, copy.src)) : join(repo, copy.src);
      const target = copy.dest === './' || copy.dest === '.' ? join(workdir, copy.src.split('/').pop() ?? '') : join(workdir, copy.dest);
      expect(existsSync(source), `${copy.src} exists in the build`).toBe(true);
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(source, target);
    }
    // RUN mkdir -p … / chown [-R] <user> …: the directories the image prepares for its user.
    const runUid = asRoot ? IMAGE_UID : (process.getuid?.() ?? IMAGE_UID);
    for (const command of image.run) {
      const words = command.split(/\s+/);
      if (words[0] === 'mkdir') for (const p of words.filter((w) => w.startsWith('/'))) mkdirSync(inImage(p), { recursive: true });
      if (words[0] === 'chown') for (const p of words.filter((w) => w.startsWith('/'))) if (asRoot) chownRecursive(inImage(p), runUid);
    }
    const home = inImage('/home/node');
    mkdirSync(home, { recursive: true });
    if (asRoot) chownSync(home, runUid, runUid);
    // Everything else stays unwritable for the image's user (the root bypass only applies to root).
    chmodSync(workdir, 0o555);

    const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home };
    for (const [k, v] of Object.entries(image.env)) env[k] = isAbsolute(v) ? inImage(v) : v;
    const [proxy, tls, admin, status] = [await freePort(), await freePort(), await freePort(), await freePort()];
    Object.assign(env, { PROXY_PORT: String(proxy), PROXY_TLS_PORT: String(tls), ADMIN_PORT: String(admin), STATUS_PORT: String(status) });
    const [program, ...args] = image.entrypoint;
    expect(program).toBe('node');
    child = spawn(process.execPath, [...args, ...image.cmd], { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'], ...(asRoot ? { uid: runUid, gid: runUid } : {}) });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntil(async () => {
      if (child?.exitCode !== null) throw new Error(`exited with ${child?.exitCode}:\n${output}`);
      const [ready, healthy] = await Promise.all([fetch(`http://127.0.0.1:${status}/readyz`), fetch(`http://127.0.0.1:${admin}/healthz`)]);
      return ready.ok && healthy.ok;
    }, 90_000, 200).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });

    // The admin API listens on the container's interfaces, so a published port reaches it.
    const listening = output.split('\n').filter((l) => l.includes('admin API listening'));
    expect(listening.join('\n')).toContain(`0.0.0.0:${admin}`);
    // The embedded store lives in the data directory the image gave its user, not under /app.
    const dataDir = env.TOLLGATE_DATA ?? '';
    expect(dataDir.startsWith(root)).toBe(true);
    expect(relative(workdir, dataDir).startsWith('..')).toBe(true);
    expect(readdirSync(dataDir)).toContain('pgdata');
    if (asRoot) expect(statSync(join(dataDir, 'pgdata')).uid).toBe(runUid);
    expect(readdirSync(workdir).sort()).toEqual(image.copies.map((c) => (c.dest === './' ? c.src.split('/').pop() : c.dest)).sort());
  }, 120_000);
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repo, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { image?: string; environment?: Record<string, string>; ports?: string[] }>;
  };
  const services = Object.entries(compose.services);

  it('publishes the admin API and the status listener on the host loopback only', () => {
    const defaults = settingsSchema.parse({});
    const privatePorts = new Set([defaults.ADMIN_PORT, defaults.STATUS_PORT]);
    let checked = 0;
    for (const [, service] of services) {
      for (const mapping of service.ports ?? []) {
        const parts = String(mapping).split(':');
        const containerPort = Number.parseInt(parts[parts.length - 1] ?? '', 10);
        if (!privatePorts.has(containerPort)) continue;
        checked++;
        expect(parts.length, mapping).toBe(3);
        expect(parts[0], mapping).toBe('127.0.0.1');
      }
    }
    expect(checked).toBe(2);
  });

  it('publishes the HTTPS proxy port', () => {
    const all = services.flatMap(([, s]) => s.ports ?? []).map(String);
    expect(all.some((p) => p.endsWith(':8443'))).toBe(true);
  });

  it('has no hard-coded secret: passwords and tokens are required variables or *_FILE', () => {
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const text = String(value);
        if (/PASSWORD$|TOKEN$/.test(key)) expect(text, `${name}.${key}`).toMatch(/^\$\{\w+:\?/);
        if (key === 'DATABASE_URL') expect(text, `${name}.${key}`).toMatch(/^postgres:\/\/\w+:\$\{\w+:\?[^}]*\}@/);
      }
    }
  });

  it('pins every image to an exact release or a digest', () => {
    for (const [name, service] of services) if (service.image) expect(service.image, name).toMatch(/(@sha256:[0-9a-f]{64}$|:\d+\.\d+(\.\d+)?(-[\w.-]+)?$)/);
  });
});

function chownRecursive(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownRecursive(join(path, e), uid);
}
