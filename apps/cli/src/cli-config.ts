import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { CliError } from './cli-error.js';

/**
 * The CLI's own settings file, shaped like a kubeconfig: named contexts (an admin URL and,
 * optionally, a token) and the one in use. It lets `tollgate` reach a product on custom ports
 * from any directory once it has been configured (`tollgate config set-context`).
 */
const contextSchema = z.strictObject({
  adminUrl: z.url({ protocol: /^https?$/, error: 'adminUrl must be an http:// or https:// URL' }),
  token: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
});
const fileSchema = z.strictObject({
  currentContext: z.string().min(1).optional(),
  contexts: z.record(z.string().min(1), contextSchema).default({}),
});

export type CliContext = z.infer<typeof contextSchema>;
export type CliConfigFile = z.infer<typeof fileSchema>;

/** `$TOLLGATE_CONFIG`, else `$XDG_CONFIG_HOME/tollgate/config.yaml`, else `~/.config/tollgate/config.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOLLGATE_CONFIG) return env.TOLLGATE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'tollgate', 'config.yaml');
}

/** Reads the file; a missing file is an empty configuration, a broken one an error naming it. */
export function readCliConfig(path: string): CliConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { contexts: {} };
    throw new CliError(`${path}: cannot read (${(error as { code?: string }).code ?? (error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (error) {
    throw new CliError(`${path}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Writes the file atomically with mode 0600: it may hold admin tokens. */
export function writeCliConfig(path: string, config: CliConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, stringify(config), { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** The admin URL a local server listens on, from the same ADMIN_HOST / ADMIN_PORT it reads. */
export function serverAdminUrl(env: NodeJS.ProcessEnv): string | undefined {
  const port = env.ADMIN_PORT?.trim();
  const host = env.ADMIN_HOST?.trim();
  if (!port && !host) return undefined;
  if (port && !/^\d{1,5}$/.test(port)) throw new CliError(`ADMIN_PORT must be a port number, not ${JSON.stringify(port)}`);
  // A wildcard bind address is reachable on loopback; a client cannot connect to 0.0.0.0 itself.
  let connect = !host || host === '0.0.0.0' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  if (connect.includes(':') && !connect.startsWith('[')) connect = `[${connect}]`;
  return `http://${connect}:${port || '8001'}`;
}

/** The context to use: `--context`, else `TOLLGATE_CONTEXT`, else the file's current one. */
export function selectContext(config: CliConfigFile, requested: string | undefined, path: string): { name: string; context: CliContext } | undefined {
  const name = requested ?? config.currentContext;
  if (name === undefined) return undefined;
  const context = config.contexts[name];
  if (!context) {
    if (requested !== undefined) throw new CliError(`no context named ${JSON.stringify(name)} in ${path} (see \`tollgate config get-contexts\`)`);
    throw new CliError(`${path}: currentContext ${JSON.stringify(name)} is not among contexts`);
  }
  return { name, context };
}

/** A context's token: inline, or read from its tokenFile (trailing newline removed). */
export function contextToken(context: CliContext): string | undefined {
  if (context.token) return context.token;
  if (!context.tokenFile) return undefined;
  try {
    return readFileSync(context.tokenFile, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new CliError(`${context.tokenFile}: cannot read the context's token file (${(error as { code?: string }).code ?? (error as Error).message})`);
  }
}
