import type { Command } from 'commander';
import type { AdminConnection } from '../admin-client.js';

/** Default admin API address: the admin port on loopback, where a local `tollgate start` listens. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8001';

/** Commander option parser for repeatable options (`-f a -f b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The admin URL and token from global options, then the environment. */
export function connectionOf(command: Command): AdminConnection {
  const global = command.optsWithGlobals<{ adminUrl?: string; token?: string }>();
  const env = process.env;
  const token = global.token ?? nonEmpty(env.TOLLGATE_ADMIN_TOKEN) ?? nonEmpty(env.ADMIN_TOKEN);
  return { url: global.adminUrl ?? nonEmpty(env.TOLLGATE_ADMIN_URL) ?? DEFAULT_ADMIN_URL, token };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
