import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerApply } from './commands/apply.js';
import { registerApiLifecycle } from './commands/api-lifecycle.js';
import { registerConfig } from './commands/config.js';
import { DEFAULT_ADMIN_URL } from './commands/common.js';
import { registerKeys, registerTokens } from './commands/credentials.js';
import { registerOAuthClients } from './commands/oauth-clients.js';
import { registerDiff } from './commands/diff.js';
import { registerExport } from './commands/export.js';
import { registerImportOpenApi } from './commands/import-openapi.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPortal } from './commands/portal.js';
import { registerReport } from './commands/report-billing.js';
import { registerStart } from './commands/start-command.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The `tollgate` command line. */
export function buildProgram(): Command {
  const program = new Command('tollgate')
    .description('Tollgate API gateway: run it, migrate its database, and manage its configuration')
    .version(packageVersion())
    .addOption(new Option('--admin-url <url>', `admin API base URL (else --context, TOLLGATE_ADMIN_URL, the current context, ADMIN_HOST/ADMIN_PORT, then ${DEFAULT_ADMIN_URL})`))
    .addOption(new Option('--token <token>', "admin token (else TOLLGATE_ADMIN_TOKEN, the context's token, then ADMIN_TOKEN)"))
    .addOption(new Option('--context <name>', 'context of the CLI config file to use (env TOLLGATE_CONTEXT; see `tollgate config`)'))
    .showHelpAfterError()
    .enablePositionalOptions(false);
  registerStart(program);
  registerMigrate(program);
  registerApply(program);
  registerDiff(program);
  registerExport(program);
  registerImportOpenApi(program);
  registerKeys(program);
  registerOAuthClients(program);
  registerTokens(program);
  registerReport(program);
  registerConfig(program);
  registerApiLifecycle(program);
  registerPortal(program);
  return program;
}
