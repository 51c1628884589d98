import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildPrimaryStatusApp, buildStatusApp } from '@tollgate/gateway';
import { register as registerAdminHealth } from '../../apps/admin/src/routes/health.js';
import { buildProgram } from '../../apps/cli/src/program.js';
import { loadSettings, SECRET_FILE_VARIABLES, settingsSchema, type Settings } from '../../apps/cli/src/start-settings.js';

// The manifests under deploy/kubernetes/ must not drift from the code: every overlay renders,
// every object is valid against the Kubernetes schemas (kubernetes-models), and the ports, probe
// paths, commands and environment variable names are the ones Tollgate really has.

const root = fileURLToPath(new URL('../../', import.meta.url));
const OVERLAYS = ['trial', 'production'] as const;

/**
 * `kubectl kustomize` (kustomize v5 inside kubectl >= 1.27) renders the overlays. Where it is
 * missing the suite is skipped with a warning rather than failing on the machine's tooling.
 */
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['kustomize', `${root}deploy/kubernetes/overlays/trial`], { stdio: 'ignore' });
    return true;
  } catch {
    process.stderr.write('kubernetes.test.ts: `kubectl kustomize` is not available; the manifest tests are skipped\n');
    return false;
  }
})();

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> };
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string; optional?: boolean } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean };
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string }[];
}

function render(overlay: string): Obj[] {
  const text = execFileSync('kubectl', ['kustomize', `${root}deploy/kubernetes/overlays/${overlay}`], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJSON() as Obj);
}

/** The kubernetes-models class of an object (`apps/v1` + `Deployment` → kubernetes-models/apps/v1). */
async function modelOf(o: Obj): Promise<new (data: unknown) => { validate(): void }> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = mod[o.kind];
  if (model === undefined) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return model;
}

const podSpecOf = (o: Obj): PodSpec | null => ((o.kind === 'Deployment' || o.kind === 'Job') ? ((o.spec as { template: { spec: PodSpec } }).template.spec) : null);
const podLabelsOf = (o: Obj): Record<string, string> => (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The settings a container runs with: its ConfigMap(s) and env, secrets stood in for. */
function settingsOf(objects: Obj[], c: Container): { env: Record<string, string>; settings: Settings } {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef === undefined) continue;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
    expect(cm, `ConfigMap ${from.configMapRef.name}`).toBeDefined();
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? '';
  return { env, settings: loadSettings(env) };
}

const settingNames = new Set([...Object.keys(settingsSchema.shape), ...SECRET_FILE_VARIABLES.map((n) => `${n}_FILE`)]);

describe.skipIf(!kubectl).each(OVERLAYS)('deploy/kubernetes/overlays/%s', (overlay) => {
  const objects = kubectl ? render(overlay) : [];

  it('renders objects that are valid against the Kubernetes schemas', async () => {
    expect(objects.length).toBeGreaterThan(5);
    for (const o of objects) {
      const Model = await modelOf(o);
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('sets only environment variables Tollgate reads, with values it accepts', () => {
    for (const o of objects) {
      const pod = podSpecOf(o);
      if (pod === null) continue;
      for (const c of pod.containers) {
        const { env } = settingsOf(objects, c);
        for (const name of Object.keys(env)) expect(settingNames, `${o.metadata.name}: ${name}`).toContain(name);
      }
    }
  });

  it('runs real commands, listens on the configured ports and probes real paths on them', async () => {
    const program = buildProgram();
    const statusApp = buildStatusApp({ hasSnapshot: () => true, shuttingDown: () => false, currentVersion: () => 1 });
    const primaryApp = buildPrimaryStatusApp({ ask: async () => [], workers: () => [], stopping: false, restarts: 0 }, { version: '0', nodeId: 'n', startedAt: 0 }, { metrics: true });
    const adminApp = Fastify();
    adminApp.setValidatorCompiler(validatorCompiler);
    adminApp.setSerializerCompiler(serializerCompiler);
    registerAdminHealth(adminApp);
    let gateways = 0;
    for (const o of objects) {
      const pod = podSpecOf(o);
      if (pod === null) continue;
      for (const c of pod.containers) {
        const [command, role] = c.args ?? [];
        const sub = program.commands.find((x) => x.name() === command);
        expect(sub, `${o.metadata.name}: tollgate ${command}`).toBeDefined();
        if (command === 'migrate') continue;
        expect(command).toBe('start');
        expect(['all', 'gateway', 'admin']).toContain(role);
        const { settings } = settingsOf(objects, c);
        const portOf = (name: string | number) => (typeof name === 'number' ? name : c.ports?.find((p) => p.name === name)?.containerPort);
        const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort]));
        if (role !== 'admin') {
          gateways += 1;
          expect(ports).toMatchObject({ proxy: settings.PROXY_PORT, 'proxy-tls': settings.PROXY_TLS_PORT, status: settings.STATUS_PORT });
          expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
          expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
          for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
            if (probe?.httpGet === undefined) continue;
            expect(portOf(probe.httpGet.port)).toBe(settings.STATUS_PORT);
            // The same paths whether the pod runs one process or several workers (WORKERS).
            for (const app of [statusApp, primaryApp]) expect((await app.inject({ url: probe.httpGet.path })).statusCode, probe.httpGet.path).not.toBe(404);
          }
          // Prometheus scrapes the status port's /metrics.
          const annotations = (o.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations ?? {};
          expect(Number(annotations['prometheus.io/port'])).toBe(settings.STATUS_PORT);
          expect((await primaryApp.inject({ url: annotations['prometheus.io/path'] ?? '' })).statusCode).toBe(200);
          // Endpoints drain before SIGTERM, and the grace period covers the pause, the drain and the final flush.
          const pause = Number(c.lifecycle?.preStop?.exec?.command[1]);
          expect(c.lifecycle?.preStop?.exec?.command[0]).toBe('sleep');
          expect(pause).toBeGreaterThan(0);
          expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(pause + settings.DRAIN_TIMEOUT_MS / 1000 + 5);
        }
        if (role !== 'gateway') {
          expect(ports.admin).toBe(settings.ADMIN_PORT);
          if (role === 'admin') {
            for (const probe of [c.readinessProbe, c.livenessProbe]) {
              expect(portOf(probe?.httpGet?.port ?? '')).toBe(settings.ADMIN_PORT);
              expect((await adminApp.inject({ url: probe?.httpGet?.path ?? '' })).statusCode).toBe(200);
            }
          }
        }
      }
    }
    expect(gateways).toBe(1);
  });

  it('runs non-root on a read-only root filesystem, with a volume wherever Tollgate writes, and resource requests', () => {
    for (const o of objects) {
      const pod = podSpecOf(o);
      if (pod === null) continue;
      expect(pod.securityContext?.runAsNonRoot, o.metadata.name).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources?.requests?.cpu, o.metadata.name).toBeDefined();
        expect(c.resources?.requests?.memory, o.metadata.name).toBeDefined();
        const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
        const under = (path: string) => mounts.some((m) => path === m || path.startsWith(`${m}/`));
        expect(under('/tmp'), `${o.metadata.name}: /tmp`).toBe(true);
        const { settings, env } = settingsOf(objects, c);
        if (c.args?.[0] === 'start' && (c.args[1] === 'all' || !env.DATABASE_URL)) expect(under(settings.dataDir), `${o.metadata.name}: ${settings.dataDir}`).toBe(true);
        if (settings.BILLING_EXPORT_DIR !== '') expect(under(settings.BILLING_EXPORT_DIR), `${o.metadata.name}: ${settings.BILLING_EXPORT_DIR}`).toBe(true);
        for (const m of c.volumeMounts ?? []) expect(pod.volumes?.map((v) => v.name)).toContain(m.name);
      }
    }
  });

  it('points every Service, autoscaler and disruption budget at pods that exist', () => {
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    for (const s of objects.filter((o) => o.kind === 'Service')) {
      const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const target = deployments.filter((d) => matches(spec.selector, podLabelsOf(d)));
      expect(target, s.metadata.name).toHaveLength(1);
      const names = podSpecOf(target[0] as Obj)?.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)) ?? [];
      for (const p of spec.ports) expect(names, `${s.metadata.name} → ${p.targetPort}`).toContain(p.targetPort);
    }
    for (const h of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
      const ref = (h.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
      expect(deployments.map((d) => d.metadata.name)).toContain(ref.name);
    }
    for (const p of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
      const sel = (p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(deployments.filter((d) => matches(sel, podLabelsOf(d))), p.metadata.name).toHaveLength(1);
    }
  });
});

describe.skipIf(!kubectl)('overlay shapes', () => {
  it('trial: one all-in-one pod on the embedded store, on a volume claim, never two at once', () => {
    const objects = render('trial');
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments).toHaveLength(1);
    const d = deployments[0] as Obj;
    expect((d.spec as { replicas: number; strategy: { type: string } }).replicas).toBe(1);
    expect((d.spec as { strategy: { type: string } }).strategy.type).toBe('Recreate');
    const pod = podSpecOf(d) as PodSpec;
    expect(pod.containers[0]?.args).toEqual(['start', 'all']);
    expect(settingsOf(objects, pod.containers[0] as Container).env.DATABASE_URL).toBeUndefined();
    expect(JSON.stringify(pod.volumes)).toContain('persistentVolumeClaim');
    expect(objects.map((o) => o.kind)).not.toContain('HorizontalPodAutoscaler');
    expect(objects.map((o) => o.kind)).not.toContain('Job');
  });

  it('production: gateways scale out, and no pod starts without the Secret naming Postgres and Redis', () => {
    const objects = render('production');
    const kinds = objects.map((o) => o.kind);
    for (const k of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Job']) expect(kinds).toContain(k);
    const deployments = objects.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => podSpecOf(d)?.containers[0]?.args?.[1]).sort()).toEqual(['admin', 'gateway']);
    for (const o of objects) {
      const pod = podSpecOf(o);
      if (pod === null) continue;
      for (const c of pod.containers) {
        const secret = c.envFrom?.find((f) => f.secretRef !== undefined)?.secretRef;
        expect(secret?.name, o.metadata.name).toBe('tollgate-secrets');
        expect(secret?.optional ?? false, o.metadata.name).toBe(false);
      }
    }
  });
});
