import { CliError } from './cli-error.js';

/** Where the admin API is and how to authenticate to it. */
export interface AdminConnection {
  url: string;
  token: string | undefined;
}

/** An RFC 9457 problem as the admin API sends it. */
export interface ProblemResponse {
  status: number;
  title: string;
  detail?: string;
  code?: string;
  errors?: Array<{ document?: number; resource?: string; path: string; line?: number; code: string; message: string }>;
}

/** The admin API answered with a problem. */
export class ProblemResponseError extends Error {
  constructor(readonly problem: ProblemResponse) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemResponseError';
  }
}

/** A change reported by `POST /config`. */
export interface ConfigChange {
  kind: string;
  name: string;
  action: 'create' | 'update' | 'delete' | 'unchanged';
}

/** What `--prune` may delete (see `POST /config?prune=…`). */
export interface PruneScopeOptions {
  pruneKinds?: string[];
  selector?: string;
  pruneBilling?: boolean;
}

/** Response of `POST /config`. */
export interface ApplyResult {
  version: number;
  dryRun: boolean;
  changes: ConfigChange[];
  /** Fields of imported Kubernetes / Istio documents that Tollgate ignores. */
  warnings?: Array<{ document: number; resource: string; path: string; message: string }>;
  /** The prune scope the server used. */
  prune?: { kinds: string[]; selector?: string };
}

/** A resource document, as `GET /config?format=json` returns it. */
export interface ResourceDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, unknown>;
  spec: unknown;
}

const TIMEOUT_MS = 60_000;

/** A small client of the admin REST API; turns transport failures into one-line CliErrors. */
export class AdminClient {
  constructor(private readonly connection: AdminConnection) {}

  /** `POST /config` with YAML. */
  async applyYaml(yaml: string, options: { dryRun: boolean; prune: boolean; strict?: boolean } & PruneScopeOptions): Promise<ApplyResult> {
    const query = new URLSearchParams({ dryRun: String(options.dryRun), prune: String(options.prune), ...(options.strict ? { strict: 'true' } : {}) });
    if (options.prune) {
      if (options.pruneKinds && options.pruneKinds.length > 0) query.set('pruneKind', options.pruneKinds.join(','));
      if (options.selector) query.set('selector', options.selector);
      if (options.pruneBilling) query.set('pruneBilling', 'true');
    }
    const res = await this.send('POST', `/config?${query}`, { body: yaml, contentType: 'application/yaml' });
    return (await res.json()) as ApplyResult;
  }

  /** `GET /config`: YAML text, or the JSON List's items. */
  async exportYaml(): Promise<string> {
    return (await this.send('GET', '/config')).text();
  }

  /** `GET /config?format=json` as parsed JSON text. */
  async exportJson(): Promise<{ items: ResourceDocument[] }> {
    return (await (await this.send('GET', '/config?format=json')).json()) as { items: ResourceDocument[] };
  }

  /** Any JSON endpoint: sends `body` as JSON (when given) and parses the answer (undefined for 204). */
  async json<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const res = await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' });
    return res.status === 204 ? undefined : ((await res.json()) as T);
  }

  /** `GET` of a non-JSON representation (a CSV, HTML or PDF report): the body's bytes and the response headers. */
  async getBytes(path: string): Promise<{ body: Buffer; headers: Headers }> {
    const res = await this.send('GET', path);
    return { body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  }

  private async send(method: string, path: string, options: { body?: string; contentType?: string } = {}): Promise<Response> {
    const base = this.connection.url.replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(`${base}${path}`);
    } catch {
      throw new CliError(`invalid admin URL ${JSON.stringify(this.connection.url)}`);
    }
    const headers: Record<string, string> = { accept: 'application/json, application/yaml, application/problem+json' };
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    if (options.contentType) headers['content-type'] = options.contentType;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: options.body ?? null, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      throw new CliError(transportMessage(error, base));
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: ProblemResponse;
    try {
      problem = JSON.parse(text) as ProblemResponse;
      if (typeof problem.title !== 'string') throw new Error('not a problem');
    } catch {
      throw new CliError(`the admin API at ${base} answered ${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
    }
    if (res.status === 401) {
      const hint = this.connection.token ? 'the token was refused; check --token, TOLLGATE_ADMIN_TOKEN or the context (tollgate config view)' : 'no admin token given; set TOLLGATE_ADMIN_TOKEN, pass --token, or add one to the context (tollgate config set-context)';
      throw new CliError(`${problem.title}: ${hint}`);
    }
    throw new ProblemResponseError({ ...problem, status: res.status });
  }
}

/** One line for a failed request: the cause an operator can act on, not a stack. */
function transportMessage(error: unknown, base: string): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
    return `cannot reach the admin API at ${base}: is Tollgate running? (${code})`;
  }
  if ((error as { name?: string }).name === 'TimeoutError') return `the admin API at ${base} did not answer within ${TIMEOUT_MS / 1000} s`;
  return `cannot reach the admin API at ${base}: ${cause?.message ?? (error as Error).message}${code ? ` (${code})` : ''}`;
}
