import type { Command } from 'commander';
import type { AdminConnection } from '../admin-client.js';
import { configPath, contextToken, readCliConfig, selectContext, serverAdminUrl } from '../cli-config.js';

/** Default admin API address: the admin port on loopback, where a local `tollgate start` listens. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8001';

/** Commander option parser for repeatable options (`-f a -f b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Where the admin API is and which token to send. The URL, first found wins: `--admin-url`,
 * `--context` (or `TOLLGATE_CONTEXT`), `TOLLGATE_ADMIN_URL`, the config file's current context,
 * the server's own `ADMIN_HOST` / `ADMIN_PORT`, then http://127.0.0.1:8001. The token: `--token`,
 * `TOLLGATE_ADMIN_TOKEN`, the context's token (only when its URL is the one used), then `ADMIN_TOKEN`.
 */
export function connectionOf(command: Command, env: NodeJS.ProcessEnv = process.env): AdminConnection {
  const global = command.optsWithGlobals<{ adminUrl?: string; token?: string; context?: string }>();
  const requested = global.context ?? nonEmpty(env.TOLLGATE_CONTEXT);
  const path = configPath(env);
  // The file is read only when a context may apply, so a broken file never blocks an explicit URL.
  const needFile = requested !== undefined || global.adminUrl === undefined || global.token === undefined;
  const selected = needFile ? selectContext(readCliConfig(path), requested, path) : undefined;
  const explicitContext = requested !== undefined ? selected?.context : undefined;
  const envUrl = nonEmpty(env.TOLLGATE_ADMIN_URL);
  // A context's token goes only to that context's URL, never to a URL given some other way.
  const fromContext = global.adminUrl === undefined && (explicitContext !== undefined || (envUrl === undefined && selected !== undefined));
  const url = global.adminUrl ?? (fromContext ? selected?.context.adminUrl : undefined) ?? envUrl ?? serverAdminUrl(env) ?? DEFAULT_ADMIN_URL;
  const token = global.token ?? nonEmpty(env.TOLLGATE_ADMIN_TOKEN) ?? (fromContext && selected ? contextToken(selected.context) : undefined) ?? nonEmpty(env.ADMIN_TOKEN);
  return { url, token };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
