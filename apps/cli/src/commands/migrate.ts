import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { migratePglite, migratePostgres, openPglite } from '@tollgate/db';
import { resolveSecretFiles } from '../start-settings.js';
import { CliError } from '../cli-error.js';

/** A connection URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

/**
 * `tollgate migrate`: applies pending migrations to `DATABASE_URL`, or to the embedded PGlite
 * database under `TOLLGATE_DATA` (the same `pgdata` folder `tollgate start` uses).
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (DATABASE_URL, else embedded PGlite under TOLLGATE_DATA)')
    .action(async () => {
      let env: NodeJS.ProcessEnv;
      try {
        env = resolveSecretFiles(process.env);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const url = env.DATABASE_URL?.trim();
      if (url) {
        try {
          await migratePostgres(url);
        } catch (error) {
          throw new CliError(`migrating ${redact(url)} failed: ${(error as Error).message}`);
        }
        process.stdout.write(`migrations applied to ${redact(url)}\n`);
        return;
      }
      const dataDir = resolve(env.TOLLGATE_DATA || './.tollgate');
      const pgdata = join(dataDir, 'pgdata');
      try {
        mkdirSync(dataDir, { recursive: true });
        const handle = await openPglite(pgdata);
        try {
          await migratePglite(handle.db);
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw new CliError(`migrating the embedded database at ${pgdata} failed: ${(error as Error).message}`);
      }
      process.stdout.write(`migrations applied to the embedded database at ${pgdata}\n`);
    });
}
